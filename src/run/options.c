#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "run/options.h"
#include "core/error.h"
#include "core/json.h"

int tl_opt_find(const tl_opts *o, const char *name) {
    for (int i = 0; i < o->n; i++) if (!strcmp(o->defs[i].name, name)) return i;
    return -1;
}

static int set(tl_opts *o, int i, const char *v, tl_error *err) {
    char *c = strdup(v);
    if (!c) return tl_fail(err, "out of memory");
    free(o->value[i]);
    o->value[i] = c;
    return 0;
}

/* Far above any config.json tailor writes (some 40 settings, each at most a few paths long). */
#define TL_CONFIG_MAX_BYTES ((size_t)16 << 20)

int tl_opts_read_config(tl_opts *o, const char *path, tl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return tl_fail(err, "--config %s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap || cap > TL_CONFIG_MAX_BYTES) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int bad = buf ? ferror(f) : 0;
    fclose(f);
    if (!buf) return tl_fail(err, "--config %s: out of memory", path);
    if (bad) { free(buf); return tl_fail(err, "--config %s: read error", path); }
    if (len > TL_CONFIG_MAX_BYTES) { free(buf); return tl_fail(err, "--config %s: larger than %zu MiB", path, TL_CONFIG_MAX_BYTES >> 20); }
    tl_json *root = tl_json_parse(buf, len, path, err);
    free(buf);
    if (!root) return tl_fail_prefix(err, "--config");
    int rc = root->type == TL_JSON_OBJECT ? 0 : tl_fail(err, "--config %s: not a JSON object", path);
    for (tl_json *c = root->child; rc == 0 && c; c = c->next) {
        int i = tl_opt_find(o, c->key);
        char num[64];
        if (i < 0 || !o->defs[i].in_config) { rc = tl_fail(err, "--config %s: unknown setting '%s'", path, c->key); break; }
        if (c->type == TL_JSON_STRING) rc = set(o, i, c->str, err);
        else if (c->type == TL_JSON_NUMBER) { snprintf(num, sizeof num, "%.17g", c->num); rc = set(o, i, num, err); }
        else rc = tl_fail(err, "--config %s: setting '%s' must be a string or a number", path, c->key);
    }
    tl_json_free(root);
    return rc;
}

static int parse_args(tl_opts *o, const tl_optdef *defs, int n, int argc, char **argv, const char *cmd, tl_error *err) {
    for (int i = 0; i < n; i++)
        if (defs[i].def && set(o, i, defs[i].def, err)) return -1;
    for (int a = 0; a < argc; a++) {     /* --config first, so the command line overrides it */
        if (!strcmp(argv[a], "--config") && a + 1 == argc) return tl_fail(err, "--config: missing value");
        const char *file = !strncmp(argv[a], "--config=", 9) ? argv[a] + 9 : !strcmp(argv[a], "--config") ? argv[a + 1] : NULL;
        if (file && tl_opts_read_config(o, file, err)) return -1;
        if (file && !argv[a][8]) a++;
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strncmp(arg, "--", 2)) return tl_fail(err, "unexpected argument '%s' (see tailor %s --help)", arg, cmd);
        const char *eq = strchr(arg, '=');
        char name[64];
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) return tl_fail(err, "unknown option %s (see tailor %s --help)", arg, cmd);
        memcpy(name, arg + 2, len);
        name[len] = 0;
        if (!strcmp(name, "config")) { a += !eq; continue; }  /* read above */
        int i = tl_opt_find(o, name);
        if (i < 0) return tl_fail(err, "unknown option --%s (see tailor %s --help)", name, cmd);
        const char *v;
        if (defs[i].flag) v = "1";
        else if (eq) v = eq + 1;
        else if (a + 1 < argc) v = argv[++a];
        else return tl_fail(err, "--%s: missing value", name);
        if (set(o, i, v, err)) return -1;
    }
    for (int i = 0; i < n; i++)
        if (!o->value[i]) return tl_fail(err, "--%s is required (see tailor %s --help)", defs[i].name, cmd);
    return 0;
}

int tl_opts_parse(tl_opts *o, const tl_optdef *defs, int n, int argc, char **argv, const char *cmd, tl_error *err) {
    memset(o, 0, sizeof *o);
    o->defs = defs;
    o->n = n;
    if (parse_args(o, defs, n, argc, argv, cmd, err) == 0) return 0;
    tl_opts_free(o);  /* callers print the error and return without freeing */
    return -1;
}

int tl_opts_defaults(tl_opts *o, const tl_optdef *defs, int n, tl_error *err) {
    memset(o, 0, sizeof *o);
    o->defs = defs;
    o->n = n;
    for (int i = 0; i < n; i++)
        if (set(o, i, defs[i].def ? defs[i].def : "", err)) { tl_opts_free(o); return -1; }
    return 0;
}

int tl_opts_copy(tl_opts *dst, const tl_opts *src, tl_error *err) {
    memset(dst, 0, sizeof *dst);
    dst->defs = src->defs;
    dst->n = src->n;
    for (int i = 0; i < src->n; i++)
        if (src->value[i] && set(dst, i, src->value[i], err)) { tl_opts_free(dst); return -1; }
    return 0;
}

void tl_opts_free(tl_opts *o) {
    for (int i = 0; i < o->n; i++) free(o->value[i]);
    memset(o, 0, sizeof *o);
}

int tl_opt_set(tl_opts *o, const char *name, const char *value, tl_error *err) {
    int i = tl_opt_find(o, name);
    if (i < 0) return tl_fail(err, "internal: no option %s", name);
    char *v = strdup(value);
    if (!v) return tl_fail(err, "out of memory");
    free(o->value[i]);
    o->value[i] = v;
    return 0;
}

const char *tl_opt(const tl_opts *o, const char *name) {
    int i = tl_opt_find(o, name);
    return i < 0 ? NULL : o->value[i];
}

int tl_opt_int(const tl_opts *o, const char *name, long lo, long hi, long *out, tl_error *err) {
    const char *v = tl_opt(o, name);
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || errno || x < lo || x > hi)
        return tl_fail(err, "--%s: '%s' is not an integer in %ld..%ld", name, v ? v : "", lo, hi);
    *out = x;
    return 0;
}

void tl_opts_write_config(const tl_opts *o, FILE *f) {
    fputs("{\n", f);
    int first = 1;
    for (int i = 0; i < o->n; i++) {
        if (!o->defs[i].in_config) continue;
        fputs(first ? "  " : ",\n  ", f);
        first = 0;
        tl_json_write_string(f, o->defs[i].name);
        fputs(": ", f);
        tl_json_write_string(f, o->value[i]);
    }
    fputs("\n}\n", f);
}

void tl_opts_usage(const tl_optdef *defs, int n, const char *cmd, const char *synopsis, FILE *f) {
    fprintf(f, "usage: tailor %s %s\n\noptions:\n", cmd, synopsis);
    for (int i = 0; i < n; i++)
        fprintf(f, "  --%-10s %s%s%s%s\n", defs[i].name, defs[i].help, defs[i].def && *defs[i].def ? " [" : "",
                defs[i].def && *defs[i].def ? defs[i].def : "", defs[i].def && *defs[i].def ? "]" : "");
}

int tl_opts_help(int argc, char **argv, const tl_optdef *defs, int n, const char *cmd, const char *synopsis) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tl_opts_usage(defs, n, cmd, synopsis, stdout);
            return 1;
        }
    return 0;
}

/* The public parser (include/tailor.h) over the same tables. */
struct tl_options { tl_opts o; };

tl_options *tl_options_parse(const tl_option *defs, int n, int argc, char **argv, const char *cmd, tl_error *err) {
    if (n < 0 || n > TL_MAX_OPTS) { tl_fail(err, "tl_options_parse: %d options (at most %d)", n, TL_MAX_OPTS); return NULL; }
    tl_options *o = malloc(sizeof *o);
    if (!o) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_opts_parse(&o->o, defs, n, argc, argv, cmd, err)) { free(o); return NULL; }
    return o;
}

void tl_options_free(tl_options *o) {
    if (!o) return;
    tl_opts_free(&o->o);
    free(o);
}

const char *tl_options_get(const tl_options *o, const char *name) { return tl_opt(&o->o, name); }

int tl_options_int(const tl_options *o, const char *name, long lo, long hi, long *out, tl_error *err) {
    return tl_opt_int(&o->o, name, lo, hi, out, err);
}

int tl_options_help(int argc, char **argv, const tl_option *defs, int n, const char *cmd, const char *synopsis) {
    return tl_opts_help(argc, argv, defs, n, cmd, synopsis);
}

void tl_options_usage(const tl_option *defs, int n, const char *cmd, const char *synopsis, FILE *f) {
    tl_opts_usage(defs, n, cmd, synopsis, f);
}
