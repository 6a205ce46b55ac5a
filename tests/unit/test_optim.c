/* Unit tests of src/spec (the NAME:key=value parser), src/train/optim (SGD, Adam, AdamW over a flat
 * block with parameter groups) and src/train/schedule (learning-rate schedules). Optimizer steps are
 * checked against values worked out by hand; torch parity is tests/parity/test_optim.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "spec/spec.h"
#include "train/optim.h"
#include "train/schedule.h"

/* err.msg must equal want exactly. */
#define CHECK_ERR(call, want) do { tl_error e_ = {{0}}; int rc_ = (call); \
    CHECK_MSG(rc_ == -1 && strcmp(e_.msg, (want)) == 0, "rc %d, got \"%s\", want \"%s\"", rc_, e_.msg, (want)); } while (0)
/* The call takes `&e_` as its error argument; this spelling keeps call sites short. */
#define E (&e_)

/* ------------------------------------------------------------------ spec parser */

static void test_spec_parse_valid(void) {
    tl_spec s;
    tl_error err;
    CHECK(tl_spec_parse(&s, "focal:gamma=2,weights=inverse", "--loss", &err) == 0);
    CHECK(strcmp(s.name, "focal") == 0 && strcmp(s.option, "--loss") == 0 && s.nkv == 2);
    CHECK(strcmp(s.kv[0].key, "gamma") == 0 && strcmp(s.kv[0].value, "2") == 0);
    CHECK(strcmp(s.kv[1].key, "weights") == 0 && strcmp(s.kv[1].value, "inverse") == 0);
    CHECK(tl_spec_parse(&s, "balanced-softmax", "--loss", &err) == 0 && s.nkv == 0);
    CHECK(strcmp(s.name, "balanced-softmax") == 0);
    CHECK(tl_spec_parse(&s, "smote:k=5,space=input|feature,x.y_z=a:b/c", NULL, &err) == 0 && s.nkv == 3);
    CHECK(strcmp(s.kv[1].value, "input|feature") == 0 && strcmp(s.kv[2].key, "x.y_z") == 0);
    CHECK(strcmp(s.kv[2].value, "a:b/c") == 0);
    /* exactly at the bounds */
    char text[512];
    memset(text, 'n', 63);
    strcpy(text + 63, ":");
    memset(text + 64, 'k', 31);
    text[95] = '=';
    memset(text + 96, 'v', 255);
    text[351] = 0;
    CHECK(tl_spec_parse(&s, text, "--x", &err) == 0 && strlen(s.name) == 63 && strlen(s.kv[0].key) == 31 &&
          strlen(s.kv[0].value) == 255);
    /* 32 keys is the limit */
    size_t len = (size_t)sprintf(text, "n:");
    for (int i = 0; i < 32; i++) len += (size_t)sprintf(text + len, "%sk%d=%d", i ? "," : "", i, i);
    CHECK(tl_spec_parse(&s, text, "--x", &err) == 0 && s.nkv == 32);
    CHECK(strcmp(s.kv[31].key, "k31") == 0 && strcmp(s.kv[31].value, "31") == 0);
}

static void test_spec_parse_errors(void) {
    tl_spec s;
    CHECK_ERR(tl_spec_parse(&s, "", "--loss", E), "--loss: empty name in ''");
    CHECK_ERR(tl_spec_parse(&s, ":gamma=1", "--loss", E), "--loss: empty name in ':gamma=1'");
    CHECK_ERR(tl_spec_parse(&s, NULL, "--loss", E), "--loss: missing value");
    CHECK_ERR(tl_spec_parse(&s, "focal:", "--loss", E), "--loss focal: nothing after ':'");
    CHECK_ERR(tl_spec_parse(&s, "focal:gamma=1,", "--loss", E), "--loss focal: empty key=value pair (stray ',')");
    CHECK_ERR(tl_spec_parse(&s, "focal:,gamma=1", "--loss", E), "--loss focal: empty key=value pair (stray ',')");
    CHECK_ERR(tl_spec_parse(&s, "focal:gamma", "--loss", E), "--loss focal: 'gamma' is not key=value");
    CHECK_ERR(tl_spec_parse(&s, "focal:gamma=1,beta", "--loss", E), "--loss focal: 'beta' is not key=value");
    CHECK_ERR(tl_spec_parse(&s, "focal:=2", "--loss", E), "--loss focal: '=2' has an empty key");
    CHECK_ERR(tl_spec_parse(&s, "focal:gamma=", "--loss", E), "--loss focal: 'gamma=' has an empty value");
    CHECK_ERR(tl_spec_parse(&s, "focal:gamma=1,gamma=2", "--loss", E), "--loss focal: key 'gamma' is given twice");
    CHECK_ERR(tl_spec_parse(&s, "fo cal", "--loss", E), "--loss: name 'fo cal' has an invalid character ' '");
    CHECK_ERR(tl_spec_parse(&s, "focal:ga mma=1", "--loss", E), "--loss focal: key 'ga mma' has an invalid character ' '");
    CHECK_ERR(tl_spec_parse(&s, "focal:x", NULL, E), "focal: 'x' is not key=value");
    CHECK_ERR(tl_spec_parse(&s, "", NULL, E), "spec: empty name in ''");

    char text[600];
    memset(text, 'n', 64);
    text[64] = 0;
    CHECK_ERR(tl_spec_parse(&s, text, "--x", E),
              "--x: name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn' is longer than 63 characters");
    sprintf(text, "n:%s=1", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");          /* 32 characters */
    CHECK_ERR(tl_spec_parse(&s, text, "--x", E), "--x n: key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk' is longer than 31 characters");
    strcpy(text, "n:k=");
    memset(text + 4, 'v', 256);
    text[260] = 0;
    CHECK_ERR(tl_spec_parse(&s, text, "--x", E), "--x n: value of 'k' is longer than 255 characters");
    size_t len = (size_t)sprintf(text, "n:");
    for (int i = 0; i < 33; i++) len += (size_t)sprintf(text + len, "%sk%d=%d", i ? "," : "", i, i);
    CHECK_ERR(tl_spec_parse(&s, text, "--x", E), "--x n: more than 32 keys");
}

static void test_spec_getters(void) {
    tl_spec s;
    tl_error err;
    double d;
    int i;
    const char *str;
    CHECK(tl_spec_parse(&s, "focal:gamma=2.5,n=-3,b=yes,c=off,w=sqrt-inverse,m=160/180,name=x", "--loss", &err) == 0);
    CHECK(tl_spec_double(&s, "gamma", 1.0, &d, &err) == 0 && d == 2.5);
    CHECK(tl_spec_double(&s, "absent", 7.0, &d, &err) == 0 && d == 7.0);
    CHECK(tl_spec_int(&s, "n", 0, &i, &err) == 0 && i == -3);
    CHECK(tl_spec_int(&s, "absent2", 11, &i, &err) == 0 && i == 11);
    CHECK(tl_spec_bool(&s, "b", 0, &i, &err) == 0 && i == 1);
    CHECK(tl_spec_bool(&s, "c", 1, &i, &err) == 0 && i == 0);
    CHECK(tl_spec_bool(&s, "absent3", 1, &i, &err) == 0 && i == 1);
    static const char *const weights[] = {"none", "inverse", "sqrt-inverse", "effective"};
    CHECK(tl_spec_choice(&s, "w", weights, 4, 0, &i, &err) == 0 && i == 2);
    CHECK(tl_spec_choice(&s, "absent4", weights, 4, 3, &i, &err) == 0 && i == 3);
    double ms[4] = {1, 2, 3, 4};
    int n = 99;
    CHECK(tl_spec_doubles(&s, "m", ms, 4, &n, &err) == 0 && n == 2 && ms[0] == 160 && ms[1] == 180 && ms[2] == 3);
    n = 99;
    CHECK(tl_spec_doubles(&s, "absent5", ms, 4, &n, &err) == 0 && n == 99 && ms[0] == 160);
    CHECK(tl_spec_str(&s, "name", "d", &str, &err) == 0 && strcmp(str, "x") == 0);
    CHECK(tl_spec_str(&s, "absent6", "d", &str, &err) == 0 && strcmp(str, "d") == 0);
    CHECK(tl_spec_check_unused(&s, &err) == 0);
    /* asking twice records the key once */
    CHECK(tl_spec_double(&s, "gamma", 1.0, &d, &err) == 0 && s.nasked == 13);
}

static void test_spec_getter_errors(void) {
    tl_spec s;
    tl_error err;
    double d, ms[2];
    int i, n;
    const char *text = "focal:gamma=abc,inf=1e999,part=2x,int=2.5,big=99999999999,b=maybe,w=foo,"
                       "l1=160//180,l2=160/,l3=1/2/3,l4=a/b";
    CHECK(tl_spec_parse(&s, text, "--loss", &err) == 0);
    CHECK_ERR(tl_spec_double(&s, "gamma", 2, &d, E), "--loss focal: gamma=abc is not a number");
    CHECK_ERR(tl_spec_double(&s, "inf", 2, &d, E), "--loss focal: inf=1e999 is not a number");
    CHECK_ERR(tl_spec_double(&s, "part", 2, &d, E), "--loss focal: part=2x is not a number");
    CHECK_ERR(tl_spec_int(&s, "int", 2, &i, E), "--loss focal: int=2.5 is not an integer");
    CHECK_ERR(tl_spec_int(&s, "big", 2, &i, E), "--loss focal: big=99999999999 is not an integer");
    CHECK_ERR(tl_spec_bool(&s, "b", 0, &i, E), "--loss focal: b=maybe is not a boolean (use 1 or 0)");
    static const char *const weights[] = {"none", "inverse", "sqrt-inverse", "effective"};
    CHECK_ERR(tl_spec_choice(&s, "w", weights, 4, 0, &i, E),
              "--loss focal: w=foo is not one of none, inverse, sqrt-inverse, effective");
    CHECK_ERR(tl_spec_doubles(&s, "l1", ms, 2, &n, E), "--loss focal: l1=160//180 is not a '/'-separated list of numbers");
    CHECK_ERR(tl_spec_doubles(&s, "l2", ms, 2, &n, E), "--loss focal: l2=160/ is not a '/'-separated list of numbers");
    CHECK_ERR(tl_spec_doubles(&s, "l3", ms, 2, &n, E), "--loss focal: l3=1/2/3 has more than 2 values");
    CHECK_ERR(tl_spec_doubles(&s, "l4", ms, 2, &n, E), "--loss focal: l4=a/b is not a '/'-separated list of numbers");
    CHECK_ERR(tl_spec_fail(E, &s, "gamma=%g must be >= 0", -1.0), "--loss focal: gamma=-1 must be >= 0");
}

static void test_spec_unused_and_lookup(void) {
    tl_spec s;
    tl_error err;
    double d;
    int i;
    CHECK(tl_spec_parse(&s, "focal:gama=2", "--loss", &err) == 0);
    CHECK(tl_spec_double(&s, "gamma", 2, &d, &err) == 0 && d == 2);
    CHECK(tl_spec_str(&s, "weights", "none", &(const char *){0}, &err) == 0);
    CHECK(tl_spec_double(&s, "beta", 0.999, &d, &err) == 0);
    CHECK(tl_spec_int(&s, "drw", -1, &i, &err) == 0);
    CHECK_ERR(tl_spec_check_unused(&s, E), "--loss focal: unknown key 'gama' (valid: gamma, weights, beta, drw)");
    CHECK(tl_spec_parse(&s, "instance:q=1", "--sampler", &err) == 0);
    CHECK_ERR(tl_spec_check_unused(&s, E), "--sampler instance: unknown key 'q' (this takes no keys)");

    /* a plain array of names */
    static const char *const names[] = {"instance", "class", "sqrt"};
    CHECK(tl_spec_parse(&s, "class", "--sampler", &err) == 0);
    CHECK(tl_spec_lookup(&s, names, sizeof names[0], 3, &err) == 1);
    CHECK(tl_spec_parse(&s, "foo:q=1", "--sampler", &err) == 0);
    CHECK_ERR(tl_spec_lookup(&s, names, sizeof names[0], 3, E), "--sampler: unknown name 'foo' (valid: instance, class, sqrt)");
    /* a table of structs whose first member is the name */
    static const struct { const char *name; int x; double y; } table[] = {{"ce", 1, 0}, {"focal", 2, 0}, {"ldam", 3, 0}};
    CHECK(tl_spec_parse(&s, "ldam", "--loss", &err) == 0);
    CHECK(tl_spec_lookup(&s, table, sizeof table[0], 3, &err) == 2);
    CHECK(tl_spec_parse(&s, "foc", "--loss", &err) == 0);
    CHECK_ERR(tl_spec_lookup(&s, table, sizeof table[0], 3, E), "--loss: unknown name 'foc' (valid: ce, focal, ldam)");

    /* a valid-key list too long for the message is cut with "..." */
    CHECK(tl_spec_parse(&s, "n:zz=1", "--x", &err) == 0);
    char key[32] = "a_rather_long_key_name_00";
    for (int k = 0; k < 40; k++) {
        key[23] = (char)('0' + k / 10);
        key[24] = (char)('0' + k % 10);
        CHECK(tl_spec_double(&s, key, 0, &d, &err) == 0);
    }
    tl_error e;
    CHECK(tl_spec_check_unused(&s, &e) == -1 && strncmp(e.msg, "--x n: unknown key 'zz' (valid: a_rather_long_key_name_00, ", 58) == 0);
    CHECK(strstr(e.msg, "...)") != NULL && strlen(e.msg) < sizeof e.msg - 1);
}

/* ------------------------------------------------------------------ optimizers */

static tl_optim_cfg cfg_of(const char *text) {
    tl_optim_cfg c;
    tl_error err;
    int rc = tl_optim_parse(&c, text, "--optim", &err);
    CHECK_MSG(rc == 0, "%s: %s", text, err.msg);
    return c;
}

static const tl_param_group all1 = {.begin = 0, .end = 1, .lr_mult = 1.0, .decay = 1};

static void test_sgd_hand(void) {
    /* plain: p = 1 - 0.1·0.5 */
    tl_optim_cfg c = cfg_of("sgd:lr=0.1,momentum=0,wd=0");
    float p = 1.0f, g = 0.5f;
    tl_optim_step(&p, NULL, &g, 1, &all1, 1, &c, 0.1, 1, 1);
    CHECK_CLOSE(p, 0.95, 1e-7);
    /* weight decay: g = 0.5 + 0.1·1 = 0.6 */
    c = cfg_of("sgd:lr=0.1,momentum=0,wd=0.1");
    p = 1.0f;
    tl_optim_step(&p, NULL, &g, 1, &all1, 1, &c, 0.1, 1, 1);
    CHECK_CLOSE(p, 0.94, 1e-7);
    /* momentum 0.9, grads 0.5 then -0.2: buf 0.5 -> 0.9·0.5 - 0.2 = 0.25; p 1 -> 0.95 -> 0.925 */
    c = cfg_of("sgd:lr=0.1,momentum=0.9,wd=0");
    float buf = 0.0f, gs[2] = {0.5f, -0.2f};
    p = 1.0f;
    tl_optim_step(&p, &buf, &gs[0], 1, &all1, 1, &c, 0.1, 1, 1);
    CHECK_CLOSE(buf, 0.5, 1e-7);
    CHECK_CLOSE(p, 0.95, 1e-7);
    tl_optim_step(&p, &buf, &gs[1], 1, &all1, 1, &c, 0.1, 2, 1);
    CHECK_CLOSE(buf, 0.25, 1e-7);
    CHECK_CLOSE(p, 0.925, 1e-7);
    /* nesterov: step 1 d = 0.5 + 0.9·0.5 = 0.95, p = 0.905; step 2 buf 0.25, d = -0.2 + 0.225 = 0.025, p = 0.9025 */
    c = cfg_of("sgd:lr=0.1,momentum=0.9,wd=0,nesterov=1");
    buf = 0.0f;
    p = 1.0f;
    tl_optim_step(&p, &buf, &gs[0], 1, &all1, 1, &c, 0.1, 1, 1);
    CHECK_CLOSE(p, 0.905, 1e-7);
    tl_optim_step(&p, &buf, &gs[1], 1, &all1, 1, &c, 0.1, 2, 1);
    CHECK_CLOSE(buf, 0.25, 1e-7);
    CHECK_CLOSE(p, 0.9025, 1e-7);
    /* momentum with decay: d1 = 0.5 + 0.01 = 0.51, p = 0.949; d2 = -0.2 + 0.00949, buf = 0.459 + d2 */
    c = cfg_of("sgd:lr=0.1,momentum=0.9,wd=0.01");
    buf = 0.0f;
    p = 1.0f;
    tl_optim_step(&p, &buf, &gs[0], 1, &all1, 1, &c, 0.1, 1, 1);
    CHECK_CLOSE(p, 0.949, 1e-7);
    tl_optim_step(&p, &buf, &gs[1], 1, &all1, 1, &c, 0.1, 2, 1);
    CHECK_CLOSE(buf, 0.459 - 0.2 + 0.00949, 1e-7);
    CHECK_CLOSE(p, 0.949 - 0.1 * (0.459 - 0.2 + 0.00949), 1e-7);
}

/* Adam in double, straight from the formula (not torch's operation order). */
static double adam_ref(double *p, double *m, double *v, double g, double lr, double wd, int decoupled, int t) {
    if (decoupled) *p *= 1 - lr * wd;
    else g += wd * *p;
    *m = 0.9 * *m + 0.1 * g;
    *v = 0.999 * *v + 0.001 * g * g;
    double mhat = *m / (1 - pow(0.9, t)), vhat = *v / (1 - pow(0.999, t));
    *p -= lr * mhat / (sqrt(vhat) + 1e-8);
    return *p;
}

static void test_adam_hand(void) {
    /* first step: mhat = g, vhat = g², so p -= lr·g/(|g| + eps) */
    tl_optim_cfg c = cfg_of("adam:lr=0.01");
    float p = 1.0f, st[2] = {0, 0}, g = 0.5f;
    tl_optim_step(&p, st, &g, 1, &all1, 1, &c, 0.01, 1, 1);
    CHECK_CLOSE(p, 0.99, 1e-7);
    CHECK_CLOSE(st[0], 0.05, 1e-7);
    CHECK_CLOSE(st[1], 0.00025, 1e-7);
    /* three steps with L2 decay and AdamW, against the double formula */
    const float gs[3] = {0.5f, -0.3f, 0.05f};
    for (int decoupled = 0; decoupled <= 1; decoupled++) {
        c = cfg_of(decoupled ? "adamw:lr=0.01,wd=0.1" : "adam:lr=0.01,wd=0.1");
        double rp = 1, rm = 0, rv = 0;
        p = 1.0f;
        st[0] = st[1] = 0;
        for (int t = 1; t <= 3; t++) {
            tl_optim_step(&p, st, &gs[t - 1], 1, &all1, 1, &c, 0.01, t, 1);
            adam_ref(&rp, &rm, &rv, gs[t - 1], 0.01, 0.1, decoupled, t);
            CHECK_CLOSE(p, rp, 1e-6);
            CHECK_CLOSE(st[0], rm, 1e-6);
            CHECK_CLOSE(st[1], rv, 1e-6);
        }
    }
    /* AdamW first step: p = 1·(1 - 0.01·0.1) - 0.01 = 0.989 */
    c = cfg_of("adamw:lr=0.01,wd=0.1");
    p = 1.0f;
    st[0] = st[1] = 0;
    tl_optim_step(&p, st, &g, 1, &all1, 1, &c, 0.01, 1, 1);
    CHECK_CLOSE(p, 0.989, 1e-7);
}

/* Groups: [0,4) lr x1 with decay, [4,8) lr x0.5 without decay, [8,12) frozen; 12..15 in no group. */
static void test_groups(void) {
    const tl_param_group groups[] = {
        {.begin = 0, .end = 4, .lr_mult = 1.0, .decay = 1},
        {.begin = 4, .end = 8, .lr_mult = 0.5, .decay = 0},
        {.begin = 8, .end = 12, .lr_mult = 1.0, .decay = 1, .frozen = 1},
    };
    tl_error err;
    CHECK(tl_param_groups_check(groups, 3, 16, &err) == 0);
    const char *specs[] = {"sgd:lr=0.1,momentum=0.9,wd=0.1", "adam:lr=0.1,wd=0.1", "adamw:lr=0.1,wd=0.1"};
    for (int k = 0; k < 3; k++) {
        tl_optim_cfg c = cfg_of(specs[k]);
        float p[16], g[16], st[32];
        for (int i = 0; i < 16; i++) { p[i] = 1.0f; g[i] = 0.5f; }
        for (int i = 0; i < 32; i++) st[i] = (i % 16) >= 8 ? 3.0f : 0.0f;   /* marks in frozen/ungrouped state */
        tl_optim_step(p, st, g, 16, groups, 3, &c, 0.1, 1, 1);
        for (int i = 8; i < 16; i++) CHECK(p[i] == 1.0f && st[i] == 3.0f);
        if (c.kind == TL_OPTIM_ADAM)
            for (int i = 24; i < 32; i++) CHECK(st[i] == 3.0f);
        if (c.kind == TL_OPTIM_SGD) {
            CHECK_CLOSE(p[0], 1 - 0.1 * 0.6, 1e-7);         /* decay 0.1·1 added to the gradient */
            CHECK_CLOSE(p[4], 1 - 0.05 * 0.5, 1e-7);        /* half lr, no decay */
        } else if (!c.decoupled) {
            CHECK_CLOSE(p[0], 0.9, 1e-6);                   /* first Adam step moves by lr·sign */
            CHECK_CLOSE(p[4], 0.95, 1e-6);
        } else {
            CHECK_CLOSE(p[0], 0.99 - 0.1, 1e-6);            /* decoupled: p·(1 - 0.01) - lr */
            CHECK_CLOSE(p[4], 0.95, 1e-6);                  /* no decay, half lr */
        }
        for (int i = 1; i < 4; i++) CHECK(p[i] == p[0] && p[4 + i] == p[4]);
    }
}

static void test_groups_check(void) {
    const tl_param_group ok[] = {{0, 4, 1, 1, 0}, {4, 8, 1, 1, 0}};
    const tl_param_group overlap[] = {{0, 5, 1, 1, 0}, {4, 8, 1, 1, 0}};
    const tl_param_group outside[] = {{0, 4, 1, 1, 0}, {4, 9, 1, 1, 0}};
    const tl_param_group empty[] = {{3, 3, 1, 1, 0}};
    tl_error err;
    CHECK(tl_param_groups_check(ok, 2, 8, &err) == 0);
    CHECK_ERR(tl_param_groups_check(overlap, 2, 8, E), "parameter group 1 [4, 8) overlaps group 0 [0, 5)");
    CHECK_ERR(tl_param_groups_check(outside, 2, 8, E), "parameter group 1: range [4, 9) is empty or outside [0, 8)");
    CHECK_ERR(tl_param_groups_check(empty, 1, 8, E), "parameter group 0: range [3, 3) is empty or outside [0, 8)");
}

static void test_state_floats(void) {
    tl_optim_cfg sgd = cfg_of("sgd"), plain = cfg_of("sgd:momentum=0"), adam = cfg_of("adam"), adamw = cfg_of("adamw");
    CHECK(tl_optim_state_floats(&sgd, 10) == 10);
    CHECK(tl_optim_state_floats(&plain, 10) == 0);
    CHECK(tl_optim_state_floats(&adam, 10) == 20);
    CHECK(tl_optim_state_floats(&adamw, 10) == 20);
}

/* Bitwise the same result for 1 and 2 threads on a block big enough to be split. */
static void test_threads_deterministic(void) {
    enum { N = 100003 };
    const char *specs[] = {"sgd:nesterov=1", "adam:wd=1e-4", "adamw"};
    float *p1 = malloc(N * sizeof *p1), *p2 = malloc(N * sizeof *p2), *g = malloc(N * sizeof *g);
    float *s1 = calloc(2 * N, sizeof *s1), *s2 = calloc(2 * N, sizeof *s2);
    const tl_param_group grp[] = {{0, 50000, 1.0, 1, 0}, {50000, N, 0.3, 0, 0}};
    for (int k = 0; k < 3; k++) {
        tl_optim_cfg c = cfg_of(specs[k]);
        for (int i = 0; i < N; i++) { p1[i] = p2[i] = sinf((float)i); }
        memset(s1, 0, 2 * N * sizeof *s1);
        memset(s2, 0, 2 * N * sizeof *s2);
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < N; i++) g[i] = cosf((float)(i * t));
            tl_optim_step(p1, s1, g, N, grp, 2, &c, c.lr, t, 1);
            tl_optim_step(p2, s2, g, N, grp, 2, &c, c.lr, t, 2);
        }
        CHECK(memcmp(p1, p2, N * sizeof *p1) == 0 && memcmp(s1, s2, 2 * N * sizeof *s1) == 0);
    }
    free(p1); free(p2); free(g); free(s1); free(s2);
}

static void test_optim_parse(void) {
    tl_optim_cfg c = cfg_of("sgd");
    CHECK(c.kind == TL_OPTIM_SGD && c.lr == 0.1 && c.momentum == 0.9 && c.wd == 5e-4 && !c.nesterov);
    c = cfg_of("sgd:lr=0.2,momentum=0.5,wd=0,nesterov=1");
    CHECK(c.lr == 0.2 && c.momentum == 0.5 && c.wd == 0 && c.nesterov);
    c = cfg_of("adam");
    CHECK(c.kind == TL_OPTIM_ADAM && !c.decoupled && c.lr == 1e-3 && c.wd == 0 && c.beta1 == 0.9 &&
          c.beta2 == 0.999 && c.eps == 1e-8);
    c = cfg_of("adamw:lr=3e-4,beta2=0.98");
    CHECK(c.kind == TL_OPTIM_ADAM && c.decoupled && c.lr == 3e-4 && c.wd == 1e-2 && c.beta2 == 0.98);
    tl_optim_cfg o;
    CHECK_ERR(tl_optim_parse(&o, "rmsprop", "--optim", E), "--optim: unknown name 'rmsprop' (valid: sgd, adam, adamw)");
    CHECK_ERR(tl_optim_parse(&o, "sgd:momentun=0.9", "--optim", E),
              "--optim sgd: unknown key 'momentun' (valid: lr, momentum, wd, nesterov)");
    CHECK_ERR(tl_optim_parse(&o, "adam:momentum=0.9", "--optim", E),
              "--optim adam: unknown key 'momentum' (valid: lr, wd, beta1, beta2, eps)");
    CHECK_ERR(tl_optim_parse(&o, "sgd:lr=fast", "--optim", E), "--optim sgd: lr=fast is not a number");
    CHECK_ERR(tl_optim_parse(&o, "sgd:lr=0", "--optim", E), "--optim sgd: lr=0 must be > 0");
    CHECK_ERR(tl_optim_parse(&o, "sgd:wd=-1", "--optim", E), "--optim sgd: wd=-1 must be >= 0");
    CHECK_ERR(tl_optim_parse(&o, "sgd:momentum=1", "--optim", E), "--optim sgd: momentum=1 must be in [0, 1)");
    CHECK_ERR(tl_optim_parse(&o, "sgd:momentum=0,nesterov=1", "--optim", E), "--optim sgd: nesterov=1 needs momentum > 0");
    CHECK_ERR(tl_optim_parse(&o, "sgd:nesterov=2", "--optim", E), "--optim sgd: nesterov=2 is not a boolean (use 1 or 0)");
    CHECK_ERR(tl_optim_parse(&o, "adam:beta1=1", "--optim", E), "--optim adam: beta1=1 must be in [0, 1)");
    CHECK_ERR(tl_optim_parse(&o, "adamw:beta2=-0.1", "--optim", E), "--optim adamw: beta2=-0.1 must be in [0, 1)");
    CHECK_ERR(tl_optim_parse(&o, "adam:eps=0", "--optim", E), "--optim adam: eps=0 must be > 0");
    CHECK_ERR(tl_optim_parse(&o, "adam:", "--optim", E), "--optim adam: nothing after ':'");
}

/* ------------------------------------------------------------------ schedules */

static tl_schedule sched_of(const char *text) {
    tl_schedule s;
    tl_error err;
    int rc = tl_schedule_parse(&s, text, "--schedule", &err);
    CHECK_MSG(rc == 0, "%s: %s", text, err.msg);
    return s;
}

static void test_schedule_values(void) {
    tl_schedule s = sched_of("constant");
    CHECK(tl_schedule_lr(&s, 0.1, 0, 200) == 0.1 && tl_schedule_lr(&s, 0.1, 199, 200) == 0.1);
    /* docs/methods.md §15.1: epochs 0-4: 0.1·(e+1)/5; 5-159: 0.1; 160-179: 0.001; 180-199: 0.00001 */
    s = sched_of("step:milestones=160/180,gamma=0.01");
    s.warmup = 5;
    for (int e = 0; e < 5; e++) CHECK_CLOSE(tl_schedule_lr(&s, 0.1, e, 200), 0.1 * (e + 1) / 5, 1e-15);
    CHECK(tl_schedule_lr(&s, 0.1, 4, 200) == 0.1);
    CHECK(tl_schedule_lr(&s, 0.1, 5, 200) == 0.1 && tl_schedule_lr(&s, 0.1, 159, 200) == 0.1);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 160, 200), 1e-3, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 179, 200), 1e-3, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 180, 200), 1e-5, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 199, 200), 1e-5, 1e-15);
    tl_schedule d = sched_of("step");
    CHECK(d.nmilestones == 2 && d.milestones[0] == 160 && d.milestones[1] == 180 && d.gamma == 0.01 && d.warmup == 0);
    /* cosine: base at 0, half at T/2, min + ... */
    s = sched_of("cosine");
    CHECK(tl_schedule_lr(&s, 0.1, 0, 100) == 0.1);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 50, 100), 0.05, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 25, 100), 0.1 * (1 + sqrt(0.5)) / 2, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 100, 100), 0.0, 1e-15);
    s = sched_of("cosine:min=0.01");
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 50, 100), 0.055, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 100, 100), 0.01, 1e-15);
    s.warmup = 10;
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 0, 100), 0.01, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 9, 100), 0.1, 1e-15);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 50, 100), 0.055, 1e-15);
}

static void test_schedule_per_step(void) {
    tl_schedule s = sched_of("step:milestones=8,gamma=0.1");
    s.warmup = 5;
    /* 10 steps an epoch, 50 warm-up steps: lr rises by base/50 per step, reaching (e+1)/5 at each epoch's end */
    CHECK_CLOSE(tl_schedule_lr_at_step(&s, 0.1, 0, 20, 0, 10), 0.1 / 50, 1e-15);
    CHECK_CLOSE(tl_schedule_lr_at_step(&s, 0.1, 2, 20, 4, 10), 0.1 * 25 / 50, 1e-15);
    for (int e = 0; e < 5; e++)
        CHECK_CLOSE(tl_schedule_lr_at_step(&s, 0.1, e, 20, 9, 10), tl_schedule_lr(&s, 0.1, e, 20), 1e-15);
    CHECK(tl_schedule_lr_at_step(&s, 0.1, 5, 20, 0, 10) == 0.1);
    CHECK_CLOSE(tl_schedule_lr_at_step(&s, 0.1, 8, 20, 3, 10), 0.01, 1e-15);
    CHECK(tl_schedule_lr_at_step(&s, 0.1, 2, 20, 3, 0) == tl_schedule_lr(&s, 0.1, 2, 20));
}

static void test_schedule_scale(void) {
    /* docs/methods.md §0.6: 160 -> 0.8E, 180 -> 0.9E, warm-up 5 -> max(1, round(0.025E)) */
    CHECK(tl_epoch_scale(160, 200, 200) == 160 && tl_epoch_scale(180, 200, 200) == 180);
    CHECK(tl_epoch_scale(160, 200, 50) == 40 && tl_epoch_scale(180, 200, 50) == 45);
    CHECK(tl_epoch_scale(160, 200, 30) == 24 && tl_epoch_scale(180, 200, 30) == 27);
    CHECK(tl_epoch_scale(160, 200, 3) == 2 && tl_epoch_scale(180, 200, 3) == 3);   /* 2.4, 2.7 */
    CHECK(tl_warmup_scale(5, 200, 200) == 5 && tl_warmup_scale(5, 200, 100) == 3);  /* 2.5 rounds up */
    CHECK(tl_warmup_scale(5, 200, 50) == 1 && tl_warmup_scale(5, 200, 10) == 1 && tl_warmup_scale(0, 200, 10) == 0);
    tl_schedule s = sched_of("step:milestones=160/180");
    s.warmup = 5;
    tl_schedule_scale(&s, 200, 20);
    CHECK(s.milestones[0] == 16 && s.milestones[1] == 18 && s.warmup == 1);
    /* milestones scaled onto the same epoch apply gamma twice there, as MultiStepLR does */
    s = sched_of("step:milestones=160/161");
    tl_schedule_scale(&s, 200, 10);
    CHECK(s.milestones[0] == 8 && s.milestones[1] == 8);
    CHECK_CLOSE(tl_schedule_lr(&s, 0.1, 8, 10), 1e-5, 1e-15);
}

static void test_schedule_parse_errors(void) {
    tl_schedule s;
    CHECK_ERR(tl_schedule_parse(&s, "linear", "--schedule", E),
              "--schedule: unknown name 'linear' (valid: constant, step, cosine)");
    CHECK_ERR(tl_schedule_parse(&s, "constant:x=1", "--schedule", E), "--schedule constant: unknown key 'x' (this takes no keys)");
    CHECK_ERR(tl_schedule_parse(&s, "cosine:T=5", "--schedule", E), "--schedule cosine: unknown key 'T' (valid: min)");
    CHECK_ERR(tl_schedule_parse(&s, "cosine:min=-1", "--schedule", E), "--schedule cosine: min=-1 must be >= 0");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=180/160", "--schedule", E),
              "--schedule step: milestones must increase (160 after 180)");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=160/160", "--schedule", E),
              "--schedule step: milestones must increase (160 after 160)");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=1.5", "--schedule", E), "--schedule step: milestone 1.5 is not an epoch number >= 1");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=0", "--schedule", E), "--schedule step: milestone 0 is not an epoch number >= 1");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=a/b", "--schedule", E),
              "--schedule step: milestones=a/b is not a '/'-separated list of numbers");
    CHECK_ERR(tl_schedule_parse(&s, "step:gamma=0", "--schedule", E), "--schedule step: gamma=0 must be > 0");
    CHECK_ERR(tl_schedule_parse(&s, "step:milestones=1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", "--schedule", E),
              "--schedule step: milestones=1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17 has more than 16 values");
    CHECK_ERR(tl_schedule_parse(&s, "step:gama=0.1", "--schedule", E),
              "--schedule step: unknown key 'gama' (valid: milestones, gamma)");
}

int main(void) {
    RUN_TEST(test_spec_parse_valid);
    RUN_TEST(test_spec_parse_errors);
    RUN_TEST(test_spec_getters);
    RUN_TEST(test_spec_getter_errors);
    RUN_TEST(test_spec_unused_and_lookup);
    RUN_TEST(test_sgd_hand);
    RUN_TEST(test_adam_hand);
    RUN_TEST(test_groups);
    RUN_TEST(test_groups_check);
    RUN_TEST(test_state_floats);
    RUN_TEST(test_threads_deterministic);
    RUN_TEST(test_optim_parse);
    RUN_TEST(test_schedule_values);
    RUN_TEST(test_schedule_per_step);
    RUN_TEST(test_schedule_scale);
    RUN_TEST(test_schedule_parse_errors);
    TEST_MAIN_END();
}
