#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

int tl_dataset_alloc(tl_dataset *d, int n, int c, int h, int w, int num_classes, const char *what, tl_error *err) {
    memset(d, 0, sizeof *d);
    if (n < 0 || c <= 0 || h <= 0 || w <= 0) return tl_fail(err, "%s: invalid shape %d x %d x %d x %d", what, n, c, h, w);
    int64_t per = (int64_t)c * h * w;
    if (per > TL_DATA_MAX_VALUES || (int64_t)n * per > TL_DATA_MAX_VALUES)
        return tl_fail(err, "%s: %d samples of %d x %d x %d values exceed the limit of %lld values", what, n, c, h, w,
                       (long long)TL_DATA_MAX_VALUES);
    d->n = n; d->c = c; d->h = h; d->w = w; d->num_classes = num_classes;
    /* +1 so a zero-row data set still owns (non-NULL) arrays */
    d->x = calloc((size_t)(n * per + 1), sizeof(float));
    d->y = calloc((size_t)n + 1, sizeof(int));
    if (!d->x || !d->y) { tl_dataset_free(d); return tl_fail(err, "%s: out of memory for %d samples", what, n); }
    return 0;
}

int tl_dataset_alloc_images(tl_dataset *d, tl_images *images, int n, int num_classes, const char *what, tl_error *err) {
    memset(d, 0, sizeof *d);
    d->file = malloc(sizeof(int) * ((size_t)n + 1));
    d->y = calloc((size_t)n + 1, sizeof(int));
    if (!d->file || !d->y) { free(d->file); free(d->y); d->file = d->y = NULL; return tl_fail(err, "%s: out of memory for %d images", what, n); }
    d->images = tl_images_ref(images);
    d->n = n;
    d->num_classes = num_classes;
    d->c = tl_images_channels(images);
    if (!tl_images_fixed(images, &d->h, &d->w)) d->h = d->w = 0;
    for (int i = 0; i < n; i++) d->file[i] = i < tl_images_count(images) ? i : 0;
    return 0;
}

int tl_dataset_select(tl_dataset *out, const tl_dataset *src, const int *idx, int n, const char *what, tl_error *err) {
    if (src->images) {
        if (tl_dataset_alloc_images(out, src->images, n, src->num_classes, what, err)) return -1;
        out->c = src->c; out->h = src->h; out->w = src->w;
        for (int j = 0; j < n; j++) out->file[j] = src->file[idx[j]];
    } else {
        if (tl_dataset_alloc(out, n, src->c, src->h, src->w, src->num_classes, what, err)) return -1;
        size_t row = (size_t)src->c * src->h * src->w;
        for (int j = 0; j < n; j++) memcpy(out->x + (size_t)j * row, src->x + (size_t)idx[j] * row, row * sizeof(float));
    }
    for (int j = 0; j < n; j++) out->y[j] = src->y[idx[j]];
    out->eval_tf = src->eval_tf;
    if (tl_dataset_copy_names(out, src, err)) { tl_dataset_free(out); return -1; }
    return 0;
}

void tl_dataset_free(tl_dataset *d) {
    if (!d) return;
    tl_images_unref(d->images);
    free(d->file);
    if (d->class_names)
        for (int k = 0; k < d->num_classes; k++) free(d->class_names[k]);
    free(d->class_names);
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

void tl_class_counts(const tl_dataset *d, int *counts) {
    memset(counts, 0, sizeof(int) * (size_t)d->num_classes);
    for (int i = 0; i < d->n; i++) counts[d->y[i]]++;
}

int tl_dataset_copy_names(tl_dataset *dst, const tl_dataset *src, tl_error *err) {
    if (!src->class_names) return 0;
    dst->class_names = calloc((size_t)src->num_classes, sizeof(char *));
    if (!dst->class_names) return tl_fail(err, "out of memory copying class names");
    for (int k = 0; k < src->num_classes; k++)
        if (!(dst->class_names[k] = strdup(src->class_names[k]))) return tl_fail(err, "out of memory copying class names");
    return 0;
}

int tl_dataset_check_labels(const tl_dataset *d, const char *what, tl_error *err) {
    for (int i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->num_classes)
            return tl_fail(err, "%s: label %d of sample %d is out of range (0..%d)", what, d->y[i], i, d->num_classes - 1);
    return 0;
}
