#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "spec/spec.h"

/* "--loss focal" (or "focal" without an option): the prefix of every message about a parsed spec. */
static const char *who(const tl_spec *s, char *buf, size_t size) {
    snprintf(buf, size, "%s%s%s", s->option, s->option[0] ? " " : "", s->name);
    return buf;
}

static int is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* Index of the first character of [p, p+n) that is not a word character, or -1. */
static int bad_word_char(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_word_char(p[i])) return (int)i;
    return -1;
}

/* Parses one "key=value" of length n into s->kv[s->nkv]. */
static int parse_pair(tl_spec *s, const char *p, size_t n, tl_error *err) {
    char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
    who(s, w, sizeof w);
    if (n == 0) return tl_fail(err, "%s: empty key=value pair (stray ',')", w);
    const char *eq = memchr(p, '=', n);
    if (!eq) return tl_fail(err, "%s: '%.*s' is not key=value", w, (int)n, p);
    size_t nk = (size_t)(eq - p), nv = n - nk - 1;
    if (nk == 0) return tl_fail(err, "%s: '%.*s' has an empty key", w, (int)n, p);
    if (nv == 0) return tl_fail(err, "%s: '%.*s' has an empty value", w, (int)n, p);
    if (nk >= TL_SPEC_KEY_MAX)
        return tl_fail(err, "%s: key '%.*s' is longer than %d characters", w, (int)nk, p, TL_SPEC_KEY_MAX - 1);
    int bad = bad_word_char(p, nk);
    if (bad >= 0) return tl_fail(err, "%s: key '%.*s' has an invalid character '%c'", w, (int)nk, p, p[bad]);
    if (nv >= TL_SPEC_VALUE_MAX)
        return tl_fail(err, "%s: value of '%.*s' is longer than %d characters", w, (int)nk, p,
                       TL_SPEC_VALUE_MAX - 1);
    for (int i = 0; i < s->nkv; i++)
        if (strlen(s->kv[i].key) == nk && memcmp(s->kv[i].key, p, nk) == 0)
            return tl_fail(err, "%s: key '%.*s' is given twice", w, (int)nk, p);
    if (s->nkv == TL_SPEC_MAX_KEYS) return tl_fail(err, "%s: more than %d keys", w, TL_SPEC_MAX_KEYS);
    tl_spec_kv *kv = &s->kv[s->nkv++];
    memcpy(kv->key, p, nk);
    kv->key[nk] = 0;
    memcpy(kv->value, eq + 1, nv);
    kv->value[nv] = 0;
    kv->used = 0;
    return 0;
}

int tl_spec_parse(tl_spec *out, const char *text, const char *option, tl_error *err) {
    memset(out, 0, sizeof *out);
    snprintf(out->option, sizeof out->option, "%s", option ? option : "");
    const char *opt = out->option[0] ? out->option : "spec";
    if (!text) return tl_fail(err, "%s: missing value", opt);
    const char *colon = strchr(text, ':');
    size_t nn = colon ? (size_t)(colon - text) : strlen(text);
    if (nn == 0) return tl_fail(err, "%s: empty name in '%s'", opt, text);
    if (nn >= TL_SPEC_NAME_MAX)
        return tl_fail(err, "%s: name '%.*s' is longer than %d characters", opt, (int)nn, text, TL_SPEC_NAME_MAX - 1);
    int bad = bad_word_char(text, nn);
    if (bad >= 0) return tl_fail(err, "%s: name '%.*s' has an invalid character '%c'", opt, (int)nn, text, text[bad]);
    memcpy(out->name, text, nn);
    out->name[nn] = 0;
    if (!colon) return 0;
    const char *p = colon + 1;
    if (!*p) {
        char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
        return tl_fail(err, "%s: nothing after ':'", who(out, w, sizeof w));
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (parse_pair(out, p, n, err)) return -1;
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* Records key as valid and returns its pair (marked used), or NULL if absent. */
static tl_spec_kv *take(tl_spec *s, const char *key) {
    int known = 0;
    for (int i = 0; i < s->nasked && !known; i++) known = strcmp(s->asked[i], key) == 0;
    if (!known && s->nasked < TL_SPEC_MAX_ASKED)
        snprintf(s->asked[s->nasked++], TL_SPEC_KEY_MAX, "%s", key);
    for (int i = 0; i < s->nkv; i++)
        if (strcmp(s->kv[i].key, key) == 0) { s->kv[i].used = 1; return &s->kv[i]; }
    return NULL;
}

/* ---- The range table: the bounds of every numeric key, in one place ----
 * An entry applies to a key of the spec named `name` given to `option` (NULL: any); the first match
 * wins, so specific entries come before general ones. The bounds are far wider than any published
 * setting and exist so that a value no method can train with (lr=1e30, s=1e9, tau=1e308) is refused
 * with its range instead of running "successfully" into overflow. A key without an entry must still
 * lie within +-TL_SPEC_ANY_MAX. */
enum { LO_OPEN = 1, HI_OPEN = 2, INTERVAL = 4 };  /* INTERVAL: the message gives both bounds */
#define TL_SPEC_ANY_MAX 1e6
typedef struct {
    const char *option, *name, *key;
    double lo, hi;
    int flags;
} spec_range;

static const spec_range ranges[] = {
    /* optimizers and schedules */
    {NULL, NULL, "lr", 0, 10, LO_OPEN},
    {NULL, NULL, "momentum", 0, 1, HI_OPEN | INTERVAL},
    {NULL, NULL, "wd", 0, 1, 0},
    {NULL, NULL, "beta1", 0, 1, HI_OPEN | INTERVAL},
    {NULL, NULL, "beta2", 0, 1, HI_OPEN | INTERVAL},
    {NULL, NULL, "eps", 0, 1, LO_OPEN},
    {NULL, "step", "gamma", 0, 1, LO_OPEN},   /* milestones: whole epochs, checked by the schedule */
    {NULL, "cosine", "min", 0, 10, 0},
    /* losses (any of them: weights' beta and drw) */
    {"--loss", NULL, "beta", 0, 1, LO_OPEN | HI_OPEN | INTERVAL},
    {"--loss", NULL, "drw", 0, 100000, 0},
    {"--loss", NULL, "gamma", 0, 10, 0},
    {"--loss", NULL, "max_m", 0, 10, 0},
    {"--loss", NULL, "s", 0, 1000, LO_OPEN},
    {"--loss", NULL, "tau", 0, 10, 0},
    /* heads */
    {"--head", "arcface", "m", 0, M_PI, HI_OPEN | INTERVAL},
    {"--head", "lsoftmax", "m", 1, 16, INTERVAL},
    {"--head", "sphereface", "m", 1, 16, INTERVAL},
    {"--head", "uncertainty", "m", 1, 100, 0},
    {"--head", NULL, "m", 0, 2, 0},
    {"--head", NULL, "s", 0, 1000, LO_OPEN},
    {"--head", NULL, "m1", 0, 10, LO_OPEN},
    {"--head", NULL, "m2", 0, M_PI, HI_OPEN | INTERVAL},
    {"--head", NULL, "m3", 0, 2, 0},
    {"--head", NULL, "base", 0, 1e9, 0},
    {"--head", "rpl", "gamma", 0, 1000, LO_OPEN},
    {"--head", "gcpl", "gamma", 0, 1000, LO_OPEN},
    {"--head", "causal", "gamma", 0, 10, LO_OPEN},
    {"--head", NULL, "gamma", 0, 10, 0},
    {"--head", NULL, "power", 0, 10, 0},
    {"--head", NULL, "lambda_min", 0, 1e6, 0},
    {"--head", "adaptiveface", "lambda", 0, 10000, 0},
    {"--head", NULL, "lambda", 0, 1000, 0},
    {"--head", "uniformface", "alpha", 0, 1, INTERVAL},
    {"--head", NULL, "alpha", 0, 100, 0},
    {"--head", "uncertainty", "T", 2, 10000, INTERVAL},
    {"--head", NULL, "T", 0, 100, LO_OPEN},
    {"--head", NULL, "p", 0, 1, LO_OPEN | HI_OPEN | INTERVAL},
    {"--head", NULL, "tau_inv", 0, 1000, 0},
    {"--head", NULL, "warmup", 0, 1, HI_OPEN | INTERVAL},
    {"--head", NULL, "every", 0, 1, LO_OPEN | INTERVAL},
    {"--head", NULL, "points", 1, 1024, INTERVAL},
    {"--head", NULL, "sigma", 0, 1000, LO_OPEN},
    {"--head", NULL, "centres", 1, 1000, INTERVAL},
    {"--head", NULL, "heads", 1, 1024, 0},
    {"--head", NULL, "tau", 0, 1000, LO_OPEN},
    {"--head", NULL, "mu", 0, 1, HI_OPEN | INTERVAL},
    /* inference rules and stage 2 */
    {"--posthoc", NULL, "tau", 0, 10, 0},
    {"--posthoc", NULL, "alpha", 0, 10, 0},
    {"--method", NULL, "tau", 0, 10, 0},
    /* samplers */
    {"--sampler", NULL, "q", 0, 1, INTERVAL},
    {"--sampler", NULL, "per_class", 1, 1e6, 0},
    {"--sampler", NULL, "k", 1, 1000, 0},
    {"--sampler", NULL, "target", 1, 1e7, 0},
    /* knowledge transfer and self-supervision */
    {NULL, NULL, "T", 0, 100, LO_OPEN},
    {"--distill", NULL, "alpha", 0, 1000, 0},
    {"--distill", NULL, "task", 0, 1000, 0},
    {"--distill", NULL, "distance", 0, 1000, 0},
    {"--distill", NULL, "angle", 0, 1000, 0},
    {"--distill", NULL, "kd", 0, 1000, 0},
    {"--synth", NULL, "beta", 0, 1, HI_OPEN | INTERVAL},
    {"--synth", NULL, "gamma", 0, 1, INTERVAL},
    {"--synth", NULL, "lambda", 0, 100, 0},
    {"--synth", NULL, "eta", 0, 10, 0},
    {"--synth", NULL, "steps", 0, 1000, 0},
    {"--synth", NULL, "start", 0, 100000, 0},
};

static const spec_range *find_range(const tl_spec *s, const char *key) {
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++) {
        const spec_range *r = &ranges[i];
        if ((!r->option || !strcmp(r->option, s->option)) && (!r->name || !strcmp(r->name, s->name)) &&
            !strcmp(r->key, key))
            return r;
    }
    return NULL;
}

int tl_spec_range(const tl_spec *s, const char *key, double v, int integer, tl_error *err) {
    static const spec_range any = {NULL, NULL, "", -TL_SPEC_ANY_MAX, TL_SPEC_ANY_MAX, INTERVAL};
    const spec_range *r = find_range(s, key);
    if (!r) r = &any;
    int low = r->flags & LO_OPEN ? !(v > r->lo) : !(v >= r->lo);
    int high = r->flags & HI_OPEN ? !(v < r->hi) : !(v <= r->hi);
    if (!low && !high) return 0;
    char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
    who(s, w, sizeof w);
    if (r->flags & INTERVAL) {
        if (integer) return tl_fail(err, "%s: %s=%g must be in %g..%g", w, key, v, r->lo, r->hi);
        return tl_fail(err, "%s: %s=%g must be in %c%g, %g%c", w, key, v, r->flags & LO_OPEN ? '(' : '[', r->lo, r->hi,
                       r->flags & HI_OPEN ? ')' : ']');
    }
    if (low) return tl_fail(err, "%s: %s=%g must be %s %g", w, key, v, r->flags & LO_OPEN ? ">" : ">=", r->lo);
    return tl_fail(err, "%s: %s=%g must be %s %g", w, key, v, r->flags & HI_OPEN ? "<" : "<=", r->hi);
}

static int bad_value(const tl_spec *s, const tl_spec_kv *kv, const char *what, tl_error *err) {
    char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
    return tl_fail(err, "%s: %s=%s is not %s", who(s, w, sizeof w), kv->key, kv->value, what);
}

/* strtod over the whole of [p, p+n), finite. */
static int parse_number(const char *p, size_t n, double *out) {
    char buf[TL_SPEC_VALUE_MAX];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v) || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

int tl_spec_double(tl_spec *s, const char *key, double def, double *out, tl_error *err) {
    const tl_spec_kv *kv = take(s, key);
    if (!kv) { *out = def; return 0; }
    if (parse_number(kv->value, strlen(kv->value), out)) return bad_value(s, kv, "a number", err);
    return tl_spec_range(s, key, *out, 0, err);
}

int tl_spec_int(tl_spec *s, const char *key, int def, int *out, tl_error *err) {
    const tl_spec_kv *kv = take(s, key);
    if (!kv) { *out = def; return 0; }
    char *end;
    errno = 0;
    long v = strtol(kv->value, &end, 10);
    if (end == kv->value || *end || errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return bad_value(s, kv, "an integer", err);
    *out = (int)v;
    return tl_spec_range(s, key, (double)v, 1, err);
}

int tl_spec_str(tl_spec *s, const char *key, const char *def, const char **out, tl_error *err) {
    const tl_spec_kv *kv = take(s, key);
    *out = kv ? kv->value : def;
    return 0;
}

int tl_spec_bool(tl_spec *s, const char *key, int def, int *out, tl_error *err) {
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    const tl_spec_kv *kv = take(s, key);
    if (!kv) { *out = def; return 0; }
    for (int i = 0; i < 4; i++) {
        if (strcmp(kv->value, yes[i]) == 0) { *out = 1; return 0; }
        if (strcmp(kv->value, no[i]) == 0) { *out = 0; return 0; }
    }
    return bad_value(s, kv, "a boolean (use 1 or 0)", err);
}

/* Appends "a, b, c" to buf (of size size, already holding a string), ending in "..." if it overflows. */
static void append_list(char *buf, size_t size, const char *const *items, size_t stride, int n) {
    size_t len = strlen(buf);
    for (int i = 0; i < n; i++) {
        const char *item = *(const char *const *)((const char *)items + (size_t)i * stride);
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", item);
        if (w < 0 || (size_t)w >= size - len) {
            if (size >= 4) memcpy(buf + size - 4, "...", 4);
            return;
        }
        len += (size_t)w;
    }
}

int tl_spec_choice(tl_spec *s, const char *key, const char *const *choices, int n, int def, int *out,
                   tl_error *err) {
    const tl_spec_kv *kv = take(s, key);
    if (!kv) { *out = def; return 0; }
    for (int i = 0; i < n; i++)
        if (strcmp(kv->value, choices[i]) == 0) { *out = i; return 0; }
    char list[sizeof err->msg / 2] = "one of ";
    append_list(list, sizeof list, choices, sizeof choices[0], n);
    return bad_value(s, kv, list, err);
}

int tl_spec_doubles(tl_spec *s, const char *key, double *out, int max, int *n, tl_error *err) {
    const tl_spec_kv *kv = take(s, key);
    if (!kv) return 0;
    char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
    int count = 0;
    for (const char *p = kv->value;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (count == max)
            return tl_fail(err, "%s: %s=%s has more than %d values", who(s, w, sizeof w), kv->key, kv->value, max);
        if (parse_number(p, len, &out[count]))
            return bad_value(s, kv, "a '/'-separated list of numbers", err);
        if (tl_spec_range(s, key, out[count], 0, err)) return -1;
        count++;
        if (!slash) break;
        p = slash + 1;
    }
    *n = count;
    return 0;
}

int tl_spec_check_unused(const tl_spec *s, tl_error *err) {
    for (int i = 0; i < s->nkv; i++) {
        if (s->kv[i].used) continue;
        char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1];
        if (s->nasked == 0)
            return tl_fail(err, "%s: unknown key '%s' (this takes no keys)", who(s, w, sizeof w), s->kv[i].key);
        char list[sizeof err->msg / 2] = "";
        const char *names[TL_SPEC_MAX_ASKED];
        for (int k = 0; k < s->nasked; k++) names[k] = s->asked[k];
        append_list(list, sizeof list, names, sizeof names[0], s->nasked);
        return tl_fail(err, "%s: unknown key '%s' (valid: %s)", who(s, w, sizeof w), s->kv[i].key, list);
    }
    return 0;
}

int tl_spec_fail(tl_error *err, const tl_spec *s, const char *fmt, ...) {
    char w[TL_SPEC_OPTION_MAX + TL_SPEC_NAME_MAX + 1], msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tl_fail(err, "%s: %s", who(s, w, sizeof w), msg);
}

int tl_spec_lookup(const tl_spec *s, const void *table, size_t stride, int n, tl_error *err) {
    for (int i = 0; i < n; i++) {
        const char *name = *(const char *const *)((const char *)table + (size_t)i * stride);
        if (strcmp(name, s->name) == 0) return i;
    }
    char list[sizeof err->msg / 2] = "";
    append_list(list, sizeof list, table, stride, n);
    return tl_fail(err, "%s: unknown name '%s' (valid: %s)", s->option[0] ? s->option : "spec", s->name, list);
}

int tl_spec_parse_ops(tl_spec *out, const char *text, const char *option, const void *const *table, int n,
                      tl_error *err) {
    if (tl_spec_parse(out, text, option, err)) return -1;
    const char *names[64];
    if (n > 64) return tl_fail(err, "%s: internal: table too long", option);
    for (int i = 0; i < n; i++) names[i] = *(const char *const *)table[i];
    return tl_spec_lookup(out, names, sizeof *names, n, err);
}
