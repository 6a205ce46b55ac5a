/* Image collections: the pixels behind the rows of an image data set. Either one block of fixed-size
 * images in memory (IDX, CIFAR: the files' own bytes) or a list of files decoded on demand, kept in a
 * bounded cache once decoded. A stored image is the same whether it comes from the cache or from the
 * file, so what a run computes never depends on the cache. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/decode.h"

struct tl_images {
    int refs, n;
    /* memory: n images of bh x bw x bc bytes in one block */
    uint8_t *block;
    int bh, bw, bc;
    /* files */
    char **path;
    tl_image_info *info;
    /* how a file becomes a stored image (tl_images_configure) */
    int c, side;
    /* the cache: slot[i].pix is set once, under mu; cache_used <= cache_budget bytes */
    pthread_mutex_t mu;
    tl_image *slot;
    int64_t cache_budget, cache_used;
    int cached;
};

static tl_images *images_new(int n) {
    tl_images *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->refs = 1;
    s->n = n;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

tl_images *tl_images_memory(int n, int h, int w, int c, uint8_t **block) {
    tl_images *s = images_new(n);
    if (!s) return NULL;
    s->block = malloc((size_t)n * h * w * c + 1);
    if (!s->block) { tl_images_unref(s); return NULL; }
    s->bh = h; s->bw = w; s->bc = s->c = c;
    *block = s->block;
    return s;
}

tl_images *tl_images_files(int n, char **paths, const tl_image_info *info) {
    tl_images *s = images_new(n);
    if (!s) return NULL;
    s->info = malloc(sizeof *s->info * (size_t)(n ? n : 1));
    if (!s->info) { tl_images_unref(s); return NULL; }
    memcpy(s->info, info, sizeof *info * (size_t)n);
    s->path = paths;
    s->c = 3;
    return s;
}

tl_images *tl_images_ref(tl_images *s) {
    if (s) s->refs++;
    return s;
}

void tl_images_unref(tl_images *s) {
    if (!s || --s->refs > 0) return;
    if (s->path) for (int i = 0; i < s->n; i++) free(s->path[i]);
    if (s->slot) for (int i = 0; i < s->n; i++) tl_image_free(&s->slot[i]);
    free(s->path); free(s->info); free(s->slot); free(s->block);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int tl_images_count(const tl_images *s) { return s->n; }
const char *tl_images_path(const tl_images *s, int i) { return s->path ? s->path[i] : NULL; }
const tl_image_info *tl_images_info(const tl_images *s, int i) { return s->info ? &s->info[i] : NULL; }
int tl_images_fixed(const tl_images *s, int *h, int *w) {
    if (!s->block) return 0;
    *h = s->bh; *w = s->bw;
    return 1;
}
int tl_images_channels(const tl_images *s) { return s->c; }
int tl_images_cached(const tl_images *s) { return s->cached; }
int64_t tl_images_cache_bytes(const tl_images *s) { return s->cache_used; }

int tl_images_configure(tl_images *s, int c, int side, int64_t cache_bytes, tl_error *err) {
    if (c != 1 && c != 3) return tl_fail(err, "--channels %d: must be 1 or 3", c);
    if (s->slot) for (int i = 0; i < s->n; i++) tl_image_free(&s->slot[i]);
    free(s->slot);
    s->slot = NULL;
    s->c = c;
    s->side = side;
    s->cache_budget = s->path ? cache_bytes : 0;
    s->cache_used = 0;
    s->cached = 0;
    if (s->cache_budget > 0 && !(s->slot = calloc((size_t)s->n + 1, sizeof *s->slot)))
        return tl_fail(err, "out of memory for an image cache of %d images", s->n);
    return 0;
}

int tl_images_get(tl_images *s, int i, tl_image *im, tl_image *tmp, tl_error *err) {
    if (s->block) {
        if (s->bc == s->c) {
            if (tl_image_reserve(im, s->bh, s->bw, s->bc)) return tl_fail(err, "out of memory");
            memcpy(im->pix, s->block + (size_t)i * s->bh * s->bw * s->bc, (size_t)s->bh * s->bw * s->bc);
            return 0;
        }
        tl_image view = {s->block + (size_t)i * s->bh * s->bw * s->bc, s->bh, s->bw, s->bc, 0};
        return tl_image_convert(im, &view, s->c) ? tl_fail(err, "out of memory") : 0;
    }
    if (s->slot) {
        pthread_mutex_lock(&s->mu);
        const tl_image *c = &s->slot[i];
        int hit = c->pix != NULL && !tl_image_reserve(im, c->h, c->w, c->c);
        if (hit) memcpy(im->pix, c->pix, (size_t)c->h * c->w * c->c);
        pthread_mutex_unlock(&s->mu);
        if (hit) return 0;
    }
    if (tl_image_load(im, tmp, s->path[i], s->c, s->side, err)) return -1;
    if (s->slot) {
        int64_t bytes = (int64_t)im->h * im->w * im->c;
        pthread_mutex_lock(&s->mu);
        tl_image *c = &s->slot[i];
        if (!c->pix && s->cache_used + bytes <= s->cache_budget && !tl_image_reserve(c, im->h, im->w, im->c)) {
            memcpy(c->pix, im->pix, (size_t)bytes);
            s->cache_used += bytes;
            s->cached++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return 0;
}

int tl_images_from_paths(tl_dataset *split[], const int *nsplit, int nsplits, char **paths, int *labels,
                         int num_classes, int *skipped, tl_error *err) {
    int n = 0;
    for (int s = 0; s < nsplits; s++) { memset(split[s], 0, sizeof *split[s]); n += nsplit[s]; }
    tl_image_info *info = malloc(sizeof *info * ((size_t)n + 1));
    int *kind = malloc(sizeof *kind * ((size_t)n + 1));
    if (!info || !kind) { free(info); free(kind); return tl_fail(err, "out of memory for %d images", n); }
    /* Headers only, in parallel; the first failing file in path order is the one reported. */
    int bad = n;
    tl_error first = {{0}};
#pragma omp parallel for schedule(dynamic, 64)
    for (int i = 0; i < n; i++) {
        tl_error e = {{0}};
        kind[i] = tl_image_probe(&info[i], paths[i], &e);
        if (kind[i] < 0 || (kind[i] == 0 && !skipped)) {
#pragma omp critical(tl_images_probe)
            if (i < bad) {
                bad = i;
                first = e;
                if (kind[i] == 0) tl_fail(&first, "%s: not a PNG or JPEG file", paths[i]);
            }
        }
    }
    int rc = 0;
    if (bad < n) rc = tl_fail(err, "%s", first.msg);
    /* Drop what is not an image (folders only), keeping paths and labels aligned. */
    int kept = 0, live = n, *split_kept = calloc((size_t)nsplits, sizeof *split_kept);
    if (!rc && !split_kept) rc = tl_fail(err, "out of memory");
    if (!rc) live = 0;
    for (int s = 0, i = 0; !rc && s < nsplits; s++)
        for (int j = 0; j < nsplit[s]; j++, i++) {
            if (kind[i] == 0) { (*skipped)++; free(paths[i]); continue; }
            paths[kept] = paths[i];
            labels[kept] = labels[i];
            info[kept++] = info[i];
            split_kept[s]++;
            live = kept;
        }
    tl_images *im = rc ? NULL : tl_images_files(kept, paths, info);
    if (!rc && !im) rc = tl_fail(err, "out of memory for %d images", kept);
    for (int s = 0, off = 0; !rc && s < nsplits; off += split_kept[s], s++) {
        if (tl_dataset_alloc_images(split[s], im, split_kept[s], num_classes, "images", err)) { rc = -1; break; }
        for (int j = 0; j < split_kept[s]; j++) {
            split[s]->file[j] = off + j;
            split[s]->y[j] = labels[off + j];
        }
    }
    if (rc) {
        for (int s = 0; s < nsplits; s++) tl_dataset_free(split[s]);
        if (!im) { for (int i = 0; i < live; i++) free(paths[i]); free(paths); }
    }
    tl_images_unref(im);
    free(info); free(kind); free(split_kept);
    return rc;
}
