/* tl_data: a data set of the public API, from a data spec of the command line or from the caller's
 * arrays (copied), and its long-tailed view. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "core/error.h"
#include "eval/metrics.h"

/* What messages call a data set made from arrays (the place of --data SPEC). */
#define ARRAYS "(arrays)"

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Records how d was made (a run's config.json then names it); -1 when out of memory. */
static int record(tl_data *d, const char *spec, const char *lt, int val, const char *open, tl_error *err) {
    d->spec = dup_or_null(spec);
    d->lt = strdup(lt ? lt : "none");
    d->open = strdup(open ? open : "");
    d->val = val;
    return (spec && !d->spec) || !d->lt || !d->open ? tl_fail(err, "out of memory") : 0;
}

tl_data *tl_data_open(const char *spec, const char *lt, int val, const char *open, tl_error *err) {
    if (!spec) { tl_fail(err, "--data: no data spec given"); return NULL; }
    if (val < 0) { tl_fail(err, "--val %d: must be >= 0", val); return NULL; }
    tl_data *d = calloc(1, sizeof *d);
    if (!d) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_bundle_load_open(&d->b, spec, lt ? lt : "none", val, open ? open : "", err) ||
        record(d, spec, lt, val, open, err)) {
        tl_data_free(d);
        return NULL;
    }
    d->images = d->b.train.images != NULL;
    return d;
}

static tl_data *new_data(int images, int h, int w, int c, int num_classes, tl_error *err) {
    if (num_classes < 2 || num_classes > TL_DATA_MAX_CLASSES) {
        tl_fail(err, "tl_data: num_classes %d is not in 2..%d", num_classes, TL_DATA_MAX_CLASSES);
        return NULL;
    }
    tl_data *d = calloc(1, sizeof *d);
    if (!d) { tl_fail(err, "out of memory"); return NULL; }
    d->images = images;
    d->h = h; d->w = w; d->c = c;
    d->dim = c * h * w;
    tl_dataset *sets[3] = {&d->b.train, &d->b.val, &d->b.test};
    for (int i = 0; i < 3; i++) {
        sets[i]->num_classes = num_classes;
        sets[i]->c = images ? c : d->dim;
        sets[i]->h = images ? h : 1;
        sets[i]->w = images ? w : 1;
    }
    if (tl_bundle_count(&d->b, err)) { free(d); return NULL; }
    return d;
}

tl_data *tl_data_new_features(int dim, int num_classes, tl_error *err) {
    if (dim < 1 || dim > 1 << 24) { tl_fail(err, "tl_data_new_features: dim %d is not in 1..%d", dim, 1 << 24); return NULL; }
    return new_data(0, 1, 1, dim, num_classes, err);
}

tl_data *tl_data_new_pixels(int h, int w, int c, int num_classes, tl_error *err) {
    if (h < 1 || w < 1 || h > TL_DATA_MAX_SIDE || w > TL_DATA_MAX_SIDE || (c != 1 && c != 3)) {
        tl_fail(err, "tl_data_new_pixels: %dx%dx%d: the side must be in 1..%d and the channels 1 or 3", h, w, c,
                TL_DATA_MAX_SIDE);
        return NULL;
    }
    return new_data(1, h, w, c, num_classes, err);
}

static const char *const split_names[] = {"train", "val", "test", "unknown"};

/* The split a caller may fill (train, val, test) or read (any of the four). */
static tl_dataset *split_of(const tl_data *d, int split, int writable) {
    const tl_dataset *sets[4] = {&d->b.train, &d->b.val, &d->b.test, &d->b.unknown};
    if (split < 0 || split > (writable ? TL_SPLIT_TEST : TL_SPLIT_UNKNOWN)) return NULL;
    return (tl_dataset *)sets[split];
}

static int check_labels(const int *y, int n, int C, const char *fn, int split, tl_error *err) {
    for (int i = 0; y && i < n; i++)
        if (y[i] < 0 || y[i] >= C)
            return tl_fail(err, "%s: %s row %d has label %d, not in 0..%d", fn, split_names[split], i, y[i], C - 1);
    return 0;
}

/* Replaces split s of d by the filled set t (taken over), keeping names and the training counts. */
static int replace(tl_data *d, int split, tl_dataset *t, tl_error *err) {
    tl_dataset *s = split_of(d, split, 1);
    if (d->b.train.class_names && tl_dataset_copy_names(t, &d->b.train, err)) { tl_dataset_free(t); return -1; }
    tl_dataset_free(s);
    *s = *t;
    return split == TL_SPLIT_TRAIN ? tl_bundle_count(&d->b, err) : 0;
}

int tl_data_set_features(tl_data *d, int split, const float *x, const int *y, int n, tl_error *err) {
    const char *fn = "tl_data_set_features";
    if (d->images) return tl_fail(err, "%s: this data set holds images; use tl_data_set_pixels", fn);
    if (!split_of(d, split, 1)) return tl_fail(err, "%s: split %d is not TL_SPLIT_TRAIN, _VAL or _TEST", fn, split);
    if (n < 0 || (n > 0 && !x)) return tl_fail(err, "%s: %d rows and no array", fn, n);
    int C = d->b.train.num_classes;
    if (check_labels(y, n, C, fn, split, err)) return -1;
    size_t row = (size_t)d->dim;
    for (size_t i = 0; i < (size_t)n * row; i++)
        if (!isfinite(x[i]))
            return tl_fail(err, "%s: %s row %zu, column %zu is not a finite number", fn, split_names[split], i / row, i % row);
    tl_dataset t;
    if (tl_dataset_alloc(&t, n, d->dim, 1, 1, C, fn, err)) return -1;
    if (n) memcpy(t.x, x, (size_t)n * row * sizeof *t.x);
    for (int i = 0; y && i < n; i++) t.y[i] = y[i];
    return replace(d, split, &t, err);
}

int tl_data_set_pixels(tl_data *d, int split, const uint8_t *px, const int *y, int n, tl_error *err) {
    const char *fn = "tl_data_set_pixels";
    if (!d->images) return tl_fail(err, "%s: this data set holds feature rows; use tl_data_set_features", fn);
    if (!split_of(d, split, 1)) return tl_fail(err, "%s: split %d is not TL_SPLIT_TRAIN, _VAL or _TEST", fn, split);
    if (n < 0 || (n > 0 && !px)) return tl_fail(err, "%s: %d rows and no array", fn, n);
    int C = d->b.train.num_classes;
    if (check_labels(y, n, C, fn, split, err)) return -1;
    if ((int64_t)n * d->dim > TL_DATA_MAX_VALUES) return tl_fail(err, "%s: %d images of %d values are too many", fn, n, d->dim);
    uint8_t *block;
    tl_images *im = tl_images_memory(n, d->h, d->w, d->c, &block);
    if (!im) return tl_fail(err, "%s: out of memory for %d images", fn, n);
    if (n) memcpy(block, px, (size_t)n * d->dim);
    tl_dataset t;
    int rc = tl_dataset_alloc_images(&t, im, n, C, fn, err);
    tl_images_unref(im);
    if (rc) return -1;
    for (int i = 0; y && i < n; i++) t.y[i] = y[i];
    return replace(d, split, &t, err);
}

int tl_data_set_class_names(tl_data *d, const char *const *names, tl_error *err) {
    int C = d->b.train.num_classes;
    tl_dataset src = {.num_classes = C, .class_names = (char **)names};
    tl_dataset *sets[3] = {&d->b.train, &d->b.val, &d->b.test};
    if (!names) return tl_fail(err, "tl_data_set_class_names: names must not be NULL");
    for (int i = 0; i < C; i++)
        if (!names[i]) return tl_fail(err, "tl_data_set_class_names: name %d is NULL", i);
    for (int i = 0; i < 3; i++) {
        tl_strings_free(sets[i]->class_names, C);
        sets[i]->class_names = NULL;
        if (tl_dataset_copy_names(sets[i], &src, err)) return -1;
    }
    return 0;
}

tl_data *tl_data_view(const tl_data *src, const char *lt, int val, const char *open, tl_error *err) {
    if (val < 0) { tl_fail(err, "--val %d: must be >= 0", val); return NULL; }
    if (src->b.open.n) { tl_fail(err, "tl_data_view: the data set already has held-out classes (--open)"); return NULL; }
    tl_data *d = calloc(1, sizeof *d);
    if (!d) { tl_fail(err, "out of memory"); return NULL; }
    *d = (tl_data){.images = src->images, .dim = src->dim, .h = src->h, .w = src->w, .c = src->c};
    tl_dataset full = {0}, test = {0}, shipped = {0};
    const tl_dataset *from[3] = {&src->b.train, &src->b.test, &src->b.val};
    tl_dataset *to[3] = {&full, &test, &shipped};
    const char *name = src->spec ? src->spec : ARRAYS;
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        int *idx = malloc((size_t)(from[i]->n + 1) * sizeof *idx);
        if (!idx) { rc = tl_fail(err, "out of memory"); break; }
        for (int k = 0; k < from[i]->n; k++) idx[k] = k;
        rc = tl_dataset_select(to[i], from[i], idx, from[i]->n, name, err);
        free(idx);
    }
    if (!rc) rc = tl_bundle_from_sets(&d->b, &full, &test, &shipped, name, lt ? lt : "none", val, open ? open : "", err);
    else { tl_dataset_free(&full); tl_dataset_free(&test); tl_dataset_free(&shipped); }
    if (rc || record(d, src->spec, lt, val, open, err)) { tl_data_free(d); return NULL; }
    return d;
}

void tl_data_free(tl_data *d) {
    if (!d) return;
    tl_bundle_free(&d->b);
    free(d->spec);
    free(d->lt);
    free(d->open);
    free(d);
}

int tl_data_rows(const tl_data *d, int split) {
    const tl_dataset *s = split_of(d, split, 0);
    return s ? s->n : 0;
}

int tl_data_num_classes(const tl_data *d) { return d->b.train.num_classes; }

const char *tl_data_class_name(const tl_data *d, int k) {
    const tl_dataset *t = &d->b.train;
    return t->class_names && k >= 0 && k < t->num_classes ? t->class_names[k] : NULL;
}

int tl_data_labels(const tl_data *d, int split, int *y, tl_error *err) {
    const tl_dataset *s = split_of(d, split, 0);
    if (!s) return tl_fail(err, "tl_data_labels: split %d is not one of TL_SPLIT_*", split);
    if (y && s->n) memcpy(y, s->y, (size_t)s->n * sizeof *y);
    return 0;
}

int tl_data_class_counts(const tl_data *d, int64_t *counts, tl_error *err) {
    (void)err;
    if (counts) memcpy(counts, d->b.train_count, (size_t)d->b.train.num_classes * sizeof *counts);
    return 0;
}

void tl_data_shape(const tl_data *d, int *c, int *h, int *w) {
    const tl_dataset *t = &d->b.train;
    if (c) *c = t->c;
    if (h) *h = t->h;
    if (w) *w = t->w;
}

int tl_data_class_groups(const tl_data *d, int *shot, int *part, tl_error *err) {
    int C = d->b.train.num_classes;
    int *s = malloc((size_t)C * sizeof *s), *p = malloc((size_t)C * sizeof *p), *order = malloc((size_t)C * sizeof *order);
    if (!s || !p || !order) { free(s); free(p); free(order); return tl_fail(err, "out of memory"); }
    tl_class_groups(s, p, order, d->b.train_count, C);
    if (shot) memcpy(shot, s, (size_t)C * sizeof *s);
    if (part) memcpy(part, p, (size_t)C * sizeof *p);
    free(s); free(p); free(order);
    return 0;
}

int tl_data_image_files(const tl_data *d) {
    const tl_images *im = d->b.train.images;
    return im && tl_images_info(im, 0) ? tl_images_count(im) : 0;
}

int tl_data_image_file_info(const tl_data *d, int i, int *h, int *w, int *c) {
    if (i < 0 || i >= tl_data_image_files(d)) return -1;
    const tl_image_info *f = tl_images_info(d->b.train.images, i);
    if (h) *h = f->h;
    if (w) *w = f->w;
    if (c) *c = f->c;
    return 0;
}

int tl_data_skipped(const tl_data *d) { return d->b.skipped; }

int tl_data_replace_test(tl_data *d, tl_data *src, tl_error *err) {
    (void)err;
    tl_dataset_free(&d->b.test);
    tl_dataset_free(&d->b.unknown);
    d->b.test = src->b.test;
    d->b.unknown = src->b.unknown;
    src->b.test = src->b.unknown = (tl_dataset){0};
    return 0;
}
