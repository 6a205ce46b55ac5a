/* tl_config: the options of `tailor train` as a run configuration of the public API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/train.h"
#include "core/error.h"

tl_config *tl_config_new(tl_error *err) {
    tl_config *c = calloc(1, sizeof *c);
    if (!c) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_opts_defaults(&c->o, tl_train_optdefs, tl_train_noptdefs, err)) { free(c); return NULL; }
    return c;
}

void tl_config_free(tl_config *c) {
    if (!c) return;
    tl_opts_free(&c->o);
    free(c);
}

tl_config *tl_config_copy(const tl_config *src, tl_error *err) {
    tl_config *c = calloc(1, sizeof *c);
    if (!c) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_opts_copy(&c->o, &src->o, err)) { free(c); return NULL; }
    return c;
}

/* The valid names, for the message of an unknown one. */
static void list_names(char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < tl_train_noptdefs && n < cap; i++)
        if (!tl_train_optdefs[i].command_only)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", tl_train_optdefs[i].name);
}

int tl_config_set(tl_config *c, const char *name, const char *value, tl_error *err) {
    if (!name || !value) return tl_fail(err, "tl_config_set: name and value must not be NULL");
    int i = tl_opt_find(&c->o, name);
    if (i < 0 || tl_train_optdefs[i].command_only) {
        char valid[1024];
        list_names(valid, sizeof valid);
        if (i >= 0) return tl_fail(err, "tl_config_set: '%s' is an option of the tailor command, not of a run (valid: %s)", name, valid);
        return tl_fail(err, "tl_config_set: unknown option '%s' (valid: %s)", name, valid);
    }
    return tl_opt_set(&c->o, name, value, err);
}

const char *tl_config_get(const tl_config *c, const char *name) {
    return name ? tl_opt(&c->o, name) : NULL;
}

int tl_config_int(const tl_config *c, const char *name, long lo, long hi, long *out, tl_error *err) {
    return tl_opt_int(&c->o, name, lo, hi, out, err);
}

int tl_config_read(tl_config *c, const char *path, tl_error *err) {
    /* Read into a copy, so a file that fails half-way changes nothing. */
    tl_opts o;
    if (tl_opts_copy(&o, &c->o, err)) return -1;
    if (tl_opts_read_config(&o, path, err)) { tl_opts_free(&o); return -1; }
    tl_opts_free(&c->o);
    c->o = o;
    return 0;
}

/* The i-th option that a run configuration has (the command's own ones skipped). */
static const tl_optdef *nth(int i) {
    for (int k = 0, seen = 0; k < tl_train_noptdefs; k++)
        if (!tl_train_optdefs[k].command_only && seen++ == i) return &tl_train_optdefs[k];
    return NULL;
}

int tl_config_count(void) {
    int n = 0;
    for (int k = 0; k < tl_train_noptdefs; k++) n += !tl_train_optdefs[k].command_only;
    return n;
}

const char *tl_config_name(int i) {
    const tl_optdef *d = i >= 0 ? nth(i) : NULL;
    return d ? d->name : NULL;
}

const char *tl_config_help(int i) {
    const tl_optdef *d = i >= 0 ? nth(i) : NULL;
    return d ? d->help : NULL;
}

char *tl_config_json(const tl_config *c, tl_error *err) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) { tl_fail(err, "out of memory"); return NULL; }
    tl_opts_write_config(&c->o, f);
    if (fclose(f) != 0) { free(text); tl_fail(err, "out of memory"); return NULL; }
    return text;
}
