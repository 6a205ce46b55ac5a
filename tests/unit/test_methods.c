/* The method tables as text (include/tailor/methods.h): every entry documents exactly the keys its
 * code reads, tl_methods_list renders whole and cut-short text, and docs/cli.md's method lists are
 * the rendered text.
 *
 * Run from the repository root (tests/run.sh does). `build/tests/test_methods --write` rewrites the
 * generated blocks of docs/cli.md (between "<!-- methods:FAMILY -->" and "<!-- /methods:FAMILY -->")
 * from the tables; without it the test fails when they differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "tmpfiles.h"
#include "eval/posthoc.h"
#include "heads/head.h"
#include "losses/loss.h"
#include "models/model.h"
#include "models/model_io.h"
#include "samplers/sampler.h"
#include "stage2/stage2.h"
#include "tailor/methods.h"
#include "train/hook.h"

#define DOC "docs/cli.md"
#define UNKNOWN "zz_unknown"

/* The key names of a documented keys string ("a=1,b=x|y" -> "a,b"), sorted, into out. */
static void documented_keys(const char *keys, char *out, size_t size) {
    char names[32][32];
    int n = 0;
    for (const char *p = keys; *p && n < 32;) {
        size_t k = strcspn(p, "=,");
        snprintf(names[n++], sizeof names[0], "%.*s", (int)k, p);
        p += strcspn(p, ",");
        if (*p == ',') p++;
    }
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    for (int i = 0; i < n; i++) snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", names[i]);
}

/* The valid keys an "unknown key" error lists ("... (valid: b, a)" -> "a,b"; "(this takes no keys)" -> ""),
 * sorted, into out. Returns -1 when msg is no such error. */
static int valid_keys(const char *msg, char *out, size_t size) {
    char list[512] = "";
    if (!strstr(msg, "unknown key '" UNKNOWN "'")) return -1;
    const char *v = strstr(msg, "(valid: ");
    if (v) snprintf(list, sizeof list, "%.*s", (int)strcspn(v + 8, ")"), v + 8);
    for (char *p = list; (p = strstr(p, ", "));) memmove(p + 1, p + 2, strlen(p + 2) + 1);   /* "a, b" -> "a,b" */
    char *rest = list, *tok, sorted[512] = "";
    char names[48][32];
    int n = 0;
    while (n < 48 && (tok = strtok_r(rest, ",", &rest))) snprintf(names[n++], sizeof names[0], "%s", tok);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) snprintf(sorted + strlen(sorted), sizeof sorted - strlen(sorted), "%s%s", i ? "," : "", names[i]);
    snprintf(out, size, "%s", sorted);
    return 0;
}

/* Compares the documented keys of an entry with the keys its code accepts, as the error of
 * "NAME:zz_unknown=1" lists them (extra: keys every member of the family takes, "" when none). */
static void check_keys(const char *family, const char *name, const char *keys, const char *extra, const char *msg) {
    char doc[512], code[512], all[600];
    snprintf(all, sizeof all, "%s%s%s", keys, *keys && *extra ? "," : "", extra);
    documented_keys(all, doc, sizeof doc);
    CHECK_MSG(valid_keys(msg, code, sizeof code) == 0, "%s %s: not an unknown-key error: %s", family, name, msg);
    CHECK_MSG(!strcmp(doc, code), "%s %s: documented keys '%s', the code takes '%s'", family, name, doc, code);
}

static char *spec_with_unknown(const char *name) {
    static char s[128];
    snprintf(s, sizeof s, "%s:" UNKNOWN "=1", name);
    return s;
}

static const int64_t count3[3] = {50, 20, 5};
static const int labels[75] = {0};

static void test_sampler_keys(void) {
    int n;
    const tl_sampler_ops *const *t = tl_sampler_table(&n);
    for (int i = 0; i < n; i++) {
        tl_sampler s;
        tl_error err = {{0}};
        CHECK(tl_sampler_create(&s, spec_with_unknown(t[i]->name), labels, 75, 3, count3, 5, &err) == -1);
        check_keys("--sampler", t[i]->name, t[i]->keys, "", err.msg);
    }
}

static void test_loss_keys(void) {
    int n;
    const tl_loss_ops *const *t = tl_loss_table(&n);
    tl_head cosine = {.C = 3, .scale = 30, .normalized = 1};   /* LDAM needs one; the others do not mind */
    for (int i = 0; i < n; i++) {
        tl_loss l;
        tl_error err = {{0}};
        CHECK(tl_loss_create(&l, spec_with_unknown(t[i]->name), 3, count3, &cosine, &err) == -1);
        check_keys("--loss", t[i]->name, t[i]->keys, tl_loss_shared_keys, err.msg);
    }
}

/* Every head of the three tables, created inside a model (the cnn on 8x8 images, square for sla). */
static void test_head_keys(void) {
    for (int which = TL_HEADS_USER; which <= TL_HEADS_STAGE2; which++) {
        int n;
        const tl_head_ops *const *t = tl_head_table(which, &n);
        for (int i = 0; i < n; i++) {
            tl_model_cfg cfg;
            tl_model m;
            tl_error err = {{0}};
            CHECK(tl_model_cfg_default(&cfg, "cnn", 1, 8, 8, 3, &err) == 0);
            snprintf(cfg.head, sizeof cfg.head, "%s", spec_with_unknown(t[i]->name));
            CHECK(tl_model_init(&m, &cfg, 4, 1, 0, &err) == -1);
            check_keys("head", t[i]->name, t[i]->keys, "", err.msg);
        }
    }
    /* --head takes only its own table; a model file may hold any head. */
    tl_error err;
    CHECK(tl_head_check("cosine:s=16", &err) == 0);
    const char *other[] = {"sla", "ncm", "lws"};
    for (int k = 0; k < 3; k++) {
        CHECK(tl_head_check(other[k], &err) == -1 && strstr(err.msg, "--head: unknown name") &&
              strstr(err.msg, "(valid: linear, cosine,"));
        CHECK(tl_head_find(TL_HEADS_USER, other[k]) == NULL);
    }
    CHECK(tl_head_find(TL_HEADS_SSL, "sla") == &tl_head_sla && tl_head_find(TL_HEADS_STAGE2, "ncm") == &tl_head_ncm);
}

static void test_stage2_and_posthoc_keys(void) {
    tl_model_cfg cfg;
    tl_model src;
    tl_error err = {{0}};
    CHECK(tl_model_cfg_default(&cfg, "mlp", 1, 2, 2, 3, &err) == 0 && tl_model_init(&src, &cfg, 4, 1, 0, &err) == 0);
    int n;
    const tl_stage2_ops *const *t = tl_stage2_table(&n);
    for (int i = 0; i < n; i++) {
        tl_stage2 s;
        CHECK(tl_stage2_create(&s, spec_with_unknown(t[i]->name), &src, &err) == -1);
        check_keys("--method", t[i]->name, t[i]->keys, "", err.msg);
    }
    tl_model_free(&src);
    const tl_posthoc_ops *const *r = tl_posthoc_table(&n);
    for (int i = 0; i < n; i++) {
        tl_posthoc p;
        CHECK(tl_posthoc_create(&p, spec_with_unknown(r[i]->name), count3, 3, &err) == -1);
        check_keys("--posthoc", r[i]->name, r[i]->keys, "", err.msg);
    }
}

static void test_model_keys(void) {
    int n;
    const tl_model_arch *t = tl_model_table(&n);
    for (int i = 0; i < n; i++) {
        tl_model_cfg cfg;
        tl_error err = {{0}};
        CHECK(tl_model_cfg_default(&cfg, spec_with_unknown(t[i].name), 3, 32, 32, 3, &err) == -1);
        check_keys("--model", t[i].name, t[i].keys, "", err.msg);
    }
    tl_model_cfg cfg;
    tl_error err;
    CHECK(tl_model_cfg_default(&cfg, "vgg", 3, 32, 32, 3, &err) == -1 &&
          !strcmp(err.msg, "--model: unknown name 'vgg' (valid: cnn, resnet32, mlp, resnet10, resnet18, resnet34, resnet50, resnext50)"));
}

/* The hooks that need only a teacher's model file (kd, rkd); m2m also needs an image data set and is
 * left to tests/cli/test_m2m.sh. */
static void test_hook_keys(void) {
    tl_model_cfg cfg;
    tl_model m;
    tl_error err = {{0}};
    float mean[1] = {0.5f}, std[1] = {0.25f};
    CHECK(tl_model_cfg_default(&cfg, "cnn", 1, 8, 8, 3, &err) == 0 && tl_model_init(&m, &cfg, 4, 1, 0, &err) == 0);
    CHECK(tmpfiles_open("methods") == 0);
    char teacher[512];
    snprintf(teacher, sizeof teacher, "%s", tmp(""));
    CHECK(tl_model_save(&m, 0, mean, std, tmp("model.safetensors"), &err) == 0);
    tl_hook_env env = {.model = &m, .count = count3, .mean = mean, .std = std, .teacher = teacher, .epochs = 5, .threads = 1};
    int n;
    const tl_hook_ops *const *t = tl_hook_table(&n);
    for (int i = 0; i < n; i++) {
        if (!strcmp(t[i]->name, "m2m")) continue;
        tl_hook k;
        CHECK(tl_hook_create(&k, t[i]->option, spec_with_unknown(t[i]->name), &env, &err) == -1);
        check_keys(t[i]->option, t[i]->name, t[i]->keys, "", err.msg);
    }
    tmpfiles_close();
    tl_model_free(&m);
}

/* Whole and cut-short renderings agree; every family has entries with a help line. */
static void test_render(void) {
    static char whole[65536], cut[64];
    for (int f = 0; f < TL_FAMILY_COUNT; f++)
        for (int style = TL_METHODS_TEXT; style <= TL_METHODS_MARKDOWN; style++) {
            int len = tl_methods_list(f, style, NULL, 0);
            CHECK_MSG(len > 0 && len < (int)sizeof whole, "%s: %d", tl_family_name(f), len);
            CHECK(tl_methods_list(f, style, whole, sizeof whole) == len && (int)strlen(whole) == len);
            CHECK(tl_methods_list(f, style, cut, sizeof cut) == len && strlen(cut) == sizeof cut - 1 &&
                  !strncmp(cut, whole, sizeof cut - 1));
            CHECK(whole[len - 1] == '\n' && !strstr(whole, ": \n") && !strstr(whole, "(null)"));
        }
    CHECK(tl_methods_list(TL_FAMILY_COUNT, TL_METHODS_TEXT, cut, sizeof cut) == -1);
    CHECK(tl_methods_list(0, 2, cut, sizeof cut) == -1);
    CHECK(tl_family_name(-1) == NULL && !strcmp(tl_family_option(TL_FAMILY_STAGE2), "--method"));
    tl_methods_list(TL_FAMILY_DISTILL, TL_METHODS_MARKDOWN, whole, sizeof whole);
    CHECK(strstr(whole, "- `kd:T=4,alpha=1,task=1`: ") == whole && strstr(whole, "\n- `rkd:") && !strstr(whole, "m2m"));
    tl_methods_list(TL_FAMILY_HEAD, TL_METHODS_TEXT, whole, sizeof whole);
    CHECK(strstr(whole, "  linear\n      ") == whole && !strstr(whole, "sla") && !strstr(whole, "ncm"));
}

/* Reads the whole file into a malloc'ed string, or NULL. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* docs/cli.md with every family's block replaced by the rendered list: the blocks' contents when
 * write is 0 are compared, else the file is rewritten. */
static void test_doc(int write) {
    char *doc = slurp(DOC);
    CHECK_MSG(doc != NULL, "cannot read %s (run from the repository root)", DOC);
    if (!doc) return;
    size_t cap = strlen(doc) + 65536 * TL_FAMILY_COUNT;
    char *out = malloc(cap), *gen = malloc(65536);
    if (!out || !gen) { free(doc); free(out); free(gen); CHECK(0); return; }
    size_t len = 0;
    const char *p = doc;
    int blocks = 0;
    for (int f = 0; f < TL_FAMILY_COUNT; f++) {
        char open[64], close[64];
        snprintf(open, sizeof open, "<!-- methods:%s -->\n", tl_family_name(f));
        snprintf(close, sizeof close, "<!-- /methods:%s -->", tl_family_name(f));
        const char *a = strstr(doc, open), *b = a ? strstr(a, close) : NULL;
        CHECK_MSG(a && b && a >= p, "%s: no block %s...%s (in the order of the families)", DOC, open, close);
        if (!a || !b || a < p) continue;
        a += strlen(open);
        tl_methods_list(f, TL_METHODS_MARKDOWN, gen, 65536);
        CHECK_MSG(write || ((size_t)(b - a) == strlen(gen) && !memcmp(a, gen, strlen(gen))),
                  "%s: the %s list differs from the tables (rewrite it: build/tests/test_methods --write)", DOC,
                  tl_family_name(f));
        len += (size_t)snprintf(out + len, cap - len, "%.*s%s", (int)(a - p), p, gen);
        p = b;
        blocks++;
    }
    len += (size_t)snprintf(out + len, cap - len, "%s", p);
    if (write && blocks == TL_FAMILY_COUNT) {
        FILE *f = fopen(DOC, "wb");
        CHECK(f && fwrite(out, 1, len, f) == len && fclose(f) == 0);
        printf("rewrote the %d method lists of %s\n", blocks, DOC);
    }
    free(doc); free(out); free(gen);
}

static void test_doc_matches(void) { test_doc(0); }

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--write")) {
        RUN_TEST(test_render);
        test_doc(1);
        TEST_MAIN_END();
    }
    RUN_TEST(test_sampler_keys);
    RUN_TEST(test_loss_keys);
    RUN_TEST(test_head_keys);
    RUN_TEST(test_stage2_and_posthoc_keys);
    RUN_TEST(test_model_keys);
    RUN_TEST(test_hook_keys);
    RUN_TEST(test_render);
    RUN_TEST(test_doc_matches);
    TEST_MAIN_END();
}
