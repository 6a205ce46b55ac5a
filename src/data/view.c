/* Long-tailed views of a balanced training set and the balanced validation hold-out
 * (docs/methods.md §1.1 exponential profile, 1.2 step profile, 1.4 validation split). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

static int parse_imb(double *out, const char *s, const char *spec, tl_error *err) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || (*end && *end != ':') || errno || !isfinite(v) || v < 1.0)
        return tl_fail(err, "long-tailed view '%s': the imbalance factor must be a number >= 1", spec);
    *out = v;
    return 0;
}

int tl_view_parse(const char *lt_spec, tl_view *v, tl_error *err) {
    memset(v, 0, sizeof *v);
    v->kind = TL_VIEW_FULL;
    if (!lt_spec || !*lt_spec || strcmp(lt_spec, "none") == 0) { snprintf(v->text, sizeof v->text, "none"); return 0; }
    if (snprintf(v->text, sizeof v->text, "%s", lt_spec) >= (int)sizeof v->text)
        return tl_fail(err, "long-tailed view '%.40s...' is too long", lt_spec);
    if (strncmp(lt_spec, "exp:", 4) == 0) {
        v->kind = TL_VIEW_EXP;
        if (strchr(lt_spec + 4, ':')) return tl_fail(err, "long-tailed view '%s': expected exp:IF", lt_spec);
        return parse_imb(&v->imb, lt_spec + 4, lt_spec, err);
    }
    if (strncmp(lt_spec, "step:", 5) == 0) {
        v->kind = TL_VIEW_STEP;
        if (parse_imb(&v->imb, lt_spec + 5, lt_spec, err)) return -1;
        const char *cls = strchr(lt_spec + 5, ':');
        if (!cls || !cls[1]) return tl_fail(err, "long-tailed view '%s': expected step:IF:CLASSES (even, upper or a list like 1/3/5)", lt_spec);
        cls++;
        if (strcmp(cls, "even") == 0) { v->step_set = TL_STEP_EVEN; return 0; }
        if (strcmp(cls, "upper") == 0) { v->step_set = TL_STEP_UPPER; return 0; }
        v->step_set = TL_STEP_LIST;
        for (const char *p = cls;;) {
            char *end;
            errno = 0;
            long k = strtol(p, &end, 10);
            if (end == p || (*end && *end != '/') || errno || k < 0 || k >= TL_DATA_MAX_CLASSES)
                return tl_fail(err, "long-tailed view '%s': CLASSES must be even, upper or class ids like 1/3/5", lt_spec);
            if (v->nlist == TL_VIEW_MAX_LIST)
                return tl_fail(err, "long-tailed view '%s': at most %d listed classes", lt_spec, TL_VIEW_MAX_LIST);
            v->list[v->nlist++] = (int)k;
            if (!*end) break;
            p = end + 1;
        }
        return 0;
    }
    return tl_fail(err, "unknown long-tailed view '%s' (valid: none, exp:IF, step:IF:CLASSES)", lt_spec);
}

int tl_view_counts(int *kept, const int *avail, int num_classes, const tl_view *v, tl_error *err) {
    int C = num_classes, n_max = 0;
    for (int k = 0; k < C; k++) if (avail[k] > n_max) n_max = avail[k];
    for (int k = 0; k < C; k++) kept[k] = avail[k];
    if (v->kind == TL_VIEW_EXP) {
        if (C < 2) return tl_fail(err, "long-tailed view '%s' needs at least 2 classes", v->text);
        /* Exactly the reference expression: n_max * pow(1/IF, i/(C-1.0)), truncated toward zero. */
        for (int i = 0; i < C; i++) {
            int n = (int)(n_max * pow(1.0 / v->imb, i / (C - 1.0)));
            if (n < kept[i]) kept[i] = n;
        }
    } else if (v->kind == TL_VIEW_STEP) {
        int n = (int)(n_max / v->imb);
        for (int k = 0; k < C; k++) {
            int minority = v->step_set == TL_STEP_EVEN ? k % 2 == 0 : v->step_set == TL_STEP_UPPER ? k >= C / 2 : 0;
            if (minority && n < kept[k]) kept[k] = n;
        }
        for (int j = 0; v->step_set == TL_STEP_LIST && j < v->nlist; j++) {
            if (v->list[j] >= C)
                return tl_fail(err, "long-tailed view '%s': class %d is out of range (the data has %d classes)", v->text, v->list[j], C);
            if (n < kept[v->list[j]]) kept[v->list[j]] = n;
        }
    }
    for (int k = 0; k < C; k++)
        if (kept[k] <= 0)
            return tl_fail(err, "long-tailed view '%s': class %d has no training images left (%d available)", v->text, k, avail[k]);
    return 0;
}

/* Copies the rows flagged `which` in sel into out (file order). */
static int gather(tl_dataset *out, const tl_dataset *src, const unsigned char *sel, unsigned char which, int n,
                  const char *what, tl_error *err) {
    int *idx = malloc(sizeof(int) * ((size_t)n + 1));
    if (!idx) return tl_fail(err, "%s: out of memory", what);
    for (int i = 0, j = 0; i < src->n; i++)
        if (sel[i] == which) idx[j++] = i;
    int rc = tl_dataset_select(out, src, idx, n, what, err);
    free(idx);
    return rc;
}

int tl_view_apply(const tl_dataset *full_train, const tl_view *v, int val_per_class,
                  tl_dataset *train, tl_dataset *val, tl_error *err) {
    const tl_dataset *d = full_train;
    int C = d->num_classes, rc = -1;
    memset(train, 0, sizeof *train);
    if (val) memset(val, 0, sizeof *val);
    if (C <= 0) return tl_fail(err, "the training set has no classes");
    if (val_per_class < 0) return tl_fail(err, "validation size %d must be >= 0", val_per_class);
    if (val_per_class > 0 && !val) return tl_fail(err, "a validation split of %d per class needs a validation set", val_per_class);
    if (tl_dataset_check_labels(d, "training set", err)) return -1;
    int *total = calloc((size_t)C, sizeof(int)), *avail = calloc((size_t)C, sizeof(int));
    int *kept = calloc((size_t)C, sizeof(int)), *seen = calloc((size_t)C, sizeof(int));
    unsigned char *sel = calloc((size_t)d->n + 1, 1); /* 0 dropped, 1 train, 2 val */
    if (!total || !avail || !kept || !seen || !sel) { tl_fail(err, "out of memory for a view of %d classes", C); goto out; }
    tl_class_counts(d, total);
    for (int k = 0; k < C; k++) {
        if (val_per_class > 0 && total[k] <= val_per_class) {
            tl_fail(err, "class %d has %d training images, too few to hold out %d for validation", k, total[k], val_per_class);
            goto out;
        }
        avail[k] = total[k] - val_per_class;
    }
    if (tl_view_counts(kept, avail, C, v, err)) goto out;
    /* Per class in file order: the first kept[k] go to train, the last val_per_class to val. */
    int ntrain = 0;
    for (int i = 0; i < d->n; i++) {
        int k = d->y[i], r = seen[k]++;
        sel[i] = r < kept[k] ? 1 : r >= avail[k] ? 2 : 0;
        ntrain += sel[i] == 1;
    }
    if (gather(train, d, sel, 1, ntrain, "training view", err)) goto out;
    if (val && gather(val, d, sel, 2, val_per_class * C, "validation set", err)) { tl_dataset_free(train); goto out; }
    rc = 0;
out:
    free(total); free(avail); free(kept); free(seen); free(sel);
    return rc;
}

int tl_open_parse(tl_open *o, const char *text, tl_error *err) {
    memset(o, 0, sizeof *o);
    if (!text || !*text) return 0;
    for (const char *p = text;;) {
        char *end;
        errno = 0;
        long k = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',' && *end != '/') || errno || k < 0 || k >= TL_DATA_MAX_CLASSES)
            return tl_fail(err, "--open %s: expected class ids like 7,8,9", text);
        for (int j = 0; j < o->n; j++)
            if (o->classes[j] == k) return tl_fail(err, "--open %s: class %ld is listed twice", text, k);
        if (o->n == TL_OPEN_MAX) return tl_fail(err, "--open %s: at most %d classes", text, TL_OPEN_MAX);
        o->classes[o->n++] = (int)k;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int is_open(const tl_open *o, int c) {
    for (int j = 0; j < o->n; j++) if (o->classes[j] == c) return 1;
    return 0;
}

int tl_open_known(int *known, const tl_open *o, int C) {
    int K = 0;
    for (int c = 0; c < C; c++) if (!is_open(o, c)) known[K++] = c;
    return K;
}

int tl_open_split(const tl_dataset *src, const tl_open *o, tl_dataset *known, tl_dataset *unknown, tl_error *err) {
    int C = src->num_classes, rc = -1;
    memset(known, 0, sizeof *known);
    if (unknown) memset(unknown, 0, sizeof *unknown);
    for (int j = 0; j < o->n; j++)
        if (o->classes[j] >= C) return tl_fail(err, "--open: class %d is out of range (the data has %d classes)", o->classes[j], C);
    if (C - o->n < 2) return tl_fail(err, "--open: at least 2 classes must stay known (the data has %d)", C);
    if (tl_dataset_check_labels(src, "data set", err)) return -1;
    int *relabel = malloc((size_t)C * sizeof *relabel), *orig = malloc((size_t)C * sizeof *orig);
    unsigned char *sel = malloc((size_t)src->n + 1);   /* 1 known, 2 unknown */
    if (!relabel || !orig || !sel) { tl_fail(err, "out of memory"); goto out; }
    int K = tl_open_known(orig, o, C), nk = 0;
    for (int c = 0; c < C; c++) relabel[c] = -1;
    for (int k = 0; k < K; k++) relabel[orig[k]] = k;
    for (int i = 0; i < src->n; i++) { sel[i] = relabel[src->y[i]] >= 0 ? 1 : 2; nk += sel[i] == 1; }
    if (gather(known, src, sel, 1, nk, "known classes", err)) goto out;
    known->num_classes = K;
    for (int i = 0; i < known->n; i++) known->y[i] = relabel[known->y[i]];
    if (src->class_names) {
        /* gather copied all C names; keep the known ones, in order. */
        for (int k = 0; k < K; k++) {
            char *t = known->class_names[k];
            known->class_names[k] = known->class_names[orig[k]];
            known->class_names[orig[k]] = t;
        }
        for (int c = K; c < C; c++) { free(known->class_names[c]); known->class_names[c] = NULL; }
    }
    if (unknown && gather(unknown, src, sel, 2, src->n - nk, "held-out classes", err)) { tl_dataset_free(known); goto out; }
    rc = 0;
out:
    free(relabel); free(orig); free(sel);
    return rc;
}
