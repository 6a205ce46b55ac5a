/* Batch loader: a pool of worker threads decodes, transforms and normalises the next batches while the
 * caller trains on the current one. Each worker builds whole batches, batch k from its own rng seeded
 * by (seed, epoch, k) and the row's place in the global batch, into slot k mod Q; so what a batch
 * contains depends only on (seed, epoch, k) and the epoch order, never on the number of workers or
 * their timing, nor on how a data-parallel job slices the global batch among its processes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "data/dataset.h"

typedef struct {
    float *x;
    int *y;
    int k;             /* the batch it holds (-1: none) */
    int size, failed;
    tl_error err;
} slot_t;

/* A batch maker's scratch images (the stored image, a transform's intermediate). */
typedef struct {
    tl_loader *L;
    tl_image im, tmp;
} maker_t;

struct tl_loader {
    const tl_dataset *d;
    const tl_transform *tf;    /* NULL: none */
    float *mean, *std;         /* [c], owned copies */
    int c, h, w, batch, nworkers, nslots;
    int row0;                  /* the global batch row of this loader's row 0 (tl_loader_slice) */
    uint64_t seed;
    int *order, norder, cap_order, epoch, nbatches;
    int next_k;                /* the next batch the caller takes */
    slot_t *slot;
    maker_t *maker;            /* [nmakers = max(workers, 1)]: each worker's scratch; [0] the caller's without workers */
    int nmakers;
    /* the pool, guarded by mu: batches [next_job, next_k + nslots - 1) may be started */
    pthread_t *thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next_job, busy, quit, generation;
};

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One stored image through the transform into row `out` (CHW, normalised). */
static int image_row(tl_loader *L, float *out, int idx, tl_image *im, tl_image *tmp, tl_rng *rng, tl_error *err) {
    const tl_dataset *d = L->d;
    if (tl_images_get(d->images, d->file[idx], im, tmp, err)) return -1;
    if (L->tf && tl_transform_apply(L->tf, im, tmp, rng)) return tl_fail(err, "out of memory transforming an image");
    if (im->c != L->c || im->h != L->h || im->w != L->w) {
        const char *p = tl_images_path(d->images, d->file[idx]);
        return tl_fail(err, "%s%s%dx%d image with %d channel(s) after the transform '%s', but the model takes %dx%d with %d: "
                       "end the transforms with a crop of fixed size (e.g. center-crop:size=%d)",
                       p ? p : "", p ? ": " : "", im->h, im->w, im->c, L->tf ? L->tf->text : "none", L->h, L->w, L->c, L->h);
    }
    size_t hw = (size_t)L->h * L->w;
    for (int ch = 0; ch < L->c; ch++) {
        /* torchvision Normalize: (x - mean) / std per channel */
        float m = L->mean[ch], sd = L->std[ch], *o = out + ch * hw;
        const uint8_t *p = im->pix + ch;
        for (size_t j = 0; j < hw; j++) o[j] = ((float)p[j * L->c] - m) / sd;
    }
    return 0;
}

/* Fills s with batch k of the current epoch. */
static void produce(tl_loader *L, int k, slot_t *s, tl_image *im, tl_image *tmp) {
    const tl_dataset *d = L->d;
    size_t row = (size_t)L->c * L->h * L->w;
    int start = k * L->batch, b = L->norder - start < L->batch ? L->norder - start : L->batch;
    uint64_t sd = mix64(L->seed + 0x9e3779b97f4a7c15ULL * (1 + (uint64_t)L->epoch));
    uint64_t batch_seed = mix64(sd + 0x9e3779b97f4a7c15ULL * (1 + (uint64_t)k));
    s->failed = 0;
    for (int i = 0; i < b; i++) {
        int idx = L->order[start + i];
        float *out = s->x + i * row;
        if (d->images) {
            /* One stream per row of the global batch: a transform draws a varying number of values
             * (rejection sampling, crop retries), so a rank could not skip the rows before its own. */
            tl_rng rng;
            tl_rng_seed(&rng, mix64(batch_seed + 0x9e3779b97f4a7c15ULL * (1 + (uint64_t)(L->row0 + i))), TL_RNG_AUGMENT);
            if (image_row(L, out, idx, im, tmp, &rng, &s->err)) { s->failed = 1; break; }
        } else {
            memcpy(out, d->x + idx * row, row * sizeof(float));
            size_t hw = (size_t)L->h * L->w;
            for (int ch = 0; ch < L->c; ch++) {
                float m = L->mean[ch], sdv = L->std[ch], *p = out + ch * hw;
                for (size_t j = 0; j < hw; j++) p[j] = (p[j] - m) / sdv;
            }
        }
        s->y[i] = d->y[idx];
    }
    s->size = b;
}

/* Sizes a batch maker's scratch images, at creation, for the stored images when they all have one size
 * (in memory): a worker's first batch, which may come late in an epoch, then allocates nothing
 * either. A transform that enlarges them, or image files of varying size, still grow the scratch to
 * the largest met. Returns 0 or -1 (out of memory). */
static int reserve_scratch(const tl_loader *L, maker_t *mk) {
    const tl_images *s = L->d->images;
    int h, w;
    if (!s || !tl_images_fixed(s, &h, &w)) return 0;   /* feature rows need no scratch */
    int c = tl_images_channels(s) > L->c ? tl_images_channels(s) : L->c;
    return tl_image_reserve(&mk->im, h, w, c) || tl_image_reserve(&mk->tmp, h, w, c) ? -1 : 0;
}

static void *worker(void *arg) {
    maker_t *mk = arg;
    tl_loader *L = mk->L;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        while (!L->quit && !(L->next_job < L->nbatches && L->next_job < L->next_k + L->nslots - 1))
            pthread_cond_wait(&L->cv, &L->mu);
        if (L->quit) break;
        int k = L->next_job++, gen = L->generation;
        L->busy++;
        pthread_mutex_unlock(&L->mu);
        slot_t *s = &L->slot[k % L->nslots];
        produce(L, k, s, &mk->im, &mk->tmp);
        pthread_mutex_lock(&L->mu);
        s->k = gen == L->generation ? k : -1; /* an epoch restarted meanwhile: nobody wants it */
        L->busy--;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

int tl_loader_default_workers(int threads) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int w = (int)(cores > 0 ? cores : 1) - threads;
    return w < 1 ? 1 : w > 8 ? 8 : w;
}

tl_loader *tl_loader_create(const tl_dataset *d, const float *mean, const float *std, const tl_transform *aug,
                            int c, int h, int w, int batch, uint64_t seed, int workers, tl_error *err) {
    if (batch <= 0) { tl_fail(err, "batch size %d must be positive", batch); return NULL; }
    if (workers < 0 || workers > 64) { tl_fail(err, "--workers %d: must be 0..64", workers); return NULL; }
    const tl_transform *tf = aug ? aug : d->eval_tf;
    if (tf && tf->n == 0) tf = NULL;
    if (!d->images && (tf || c != d->c || h != d->h || w != d->w)) {
        tl_fail(err, tf ? "transforms ('%s') need image data; this data set has feature rows" : "%s", tf ? tf->text : "the rows do not have the model's input size");
        return NULL;
    }
    tl_loader *L = calloc(1, sizeof *L);
    if (!L) { tl_fail(err, "out of memory for the loader"); return NULL; }
    L->d = d; L->tf = tf; L->batch = batch; L->seed = seed;
    L->c = c; L->h = h; L->w = w;
    L->nslots = workers ? workers + 2 : 1;   /* the caller's batch plus workers + 1 in the making */
    size_t row = (size_t)c * h * w;
    L->mean = malloc(sizeof(float) * (size_t)c);
    L->std = malloc(sizeof(float) * (size_t)c);
    L->slot = calloc((size_t)L->nslots, sizeof *L->slot);
    L->nmakers = workers ? workers : 1;
    L->maker = calloc((size_t)L->nmakers, sizeof *L->maker);
    int ok = L->mean && L->std && L->slot && L->maker;
    for (int i = 0; ok && i < L->nmakers; i++) {
        L->maker[i].L = L;
        ok = !reserve_scratch(L, &L->maker[i]);
    }
    for (int s = 0; ok && s < L->nslots; s++) {
        L->slot[s].k = -1;
        ok = (L->slot[s].x = malloc(sizeof(float) * row * (size_t)batch)) && (L->slot[s].y = malloc(sizeof(int) * (size_t)batch));
    }
    if (!ok) {
        tl_fail(err, "out of memory for %d batches of %d", L->nslots, batch);
        tl_loader_free(L);
        return NULL;
    }
    memcpy(L->mean, mean, sizeof(float) * (size_t)c);
    memcpy(L->std, std, sizeof(float) * (size_t)c);
    if (workers) {
        pthread_mutex_init(&L->mu, NULL);
        pthread_cond_init(&L->cv, NULL);
        L->thread = calloc((size_t)workers, sizeof *L->thread);
        for (int i = 0; L->thread && i < workers; i++, L->nworkers++)
            if (pthread_create(&L->thread[i], NULL, worker, &L->maker[i]) != 0) break;
        if (L->nworkers < workers) {
            tl_fail(err, "cannot start %d data loading threads", workers);
            tl_loader_free(L);
            return NULL;
        }
    }
    return L;
}

void tl_loader_slice(tl_loader *L, int row0) { L->row0 = row0; }

int tl_loader_start(tl_loader *L, const int *order, int n, int epoch, int first, tl_error *err) {
    for (int i = 0; i < n; i++)
        if (order[i] < 0 || order[i] >= L->d->n)
            return tl_fail(err, "epoch order: index %d at position %d is out of range (0..%d)", order[i], i, L->d->n - 1);
    if (L->nworkers) {
        /* Let the batches still being made for the previous epoch finish before touching the order. */
        pthread_mutex_lock(&L->mu);
        L->generation++;
        L->nbatches = 0;
        while (L->busy) pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
    }
    if (n > L->cap_order) {
        int *o = realloc(L->order, sizeof(int) * (size_t)n);
        if (!o) return tl_fail(err, "out of memory for an epoch of %d samples", n);
        L->order = o;
        L->cap_order = n;
    }
    if (n > 0) memcpy(L->order, order, sizeof(int) * (size_t)n);
    for (int s = 0; s < L->nslots; s++) L->slot[s].k = -1;
    L->norder = n;
    L->epoch = epoch;
    int nb = (n + L->batch - 1) / L->batch;
    if (first < 0) first = 0;
    L->next_k = first;
    if (L->nworkers) {
        pthread_mutex_lock(&L->mu);
        L->next_job = first;
        L->nbatches = nb;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    } else {
        L->nbatches = nb;
    }
    return 0;
}

int tl_loader_next(tl_loader *L, const float **x, const int **y, tl_error *err) {
    int k = L->next_k;
    if (k >= L->nbatches) return 0;
    slot_t *s = &L->slot[k % L->nslots];
    if (L->nworkers) {
        pthread_mutex_lock(&L->mu);
        /* Taking batch k hands back the slot of batch k - 1: the window moves on. */
        L->next_k = k + 1;
        pthread_cond_broadcast(&L->cv);
        while (s->k != k) pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
    } else {
        produce(L, k, s, &L->maker[0].im, &L->maker[0].tmp);
        s->k = k;
        L->next_k = k + 1;
    }
    if (s->failed) {
        /* the epoch cannot go on */
        if (L->nworkers) pthread_mutex_lock(&L->mu);
        L->nbatches = 0;
        if (L->nworkers) pthread_mutex_unlock(&L->mu);
        return tl_fail(err, "%s", s->err.msg);
    }
    *x = s->x;
    *y = s->y;
    return s->size;
}

void tl_loader_free(tl_loader *L) {
    if (!L) return;
    if (L->nworkers) {
        pthread_mutex_lock(&L->mu);
        L->quit = 1;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        for (int i = 0; i < L->nworkers; i++) pthread_join(L->thread[i], NULL);
    }
    if (L->thread || L->nworkers) {
        pthread_mutex_destroy(&L->mu);
        pthread_cond_destroy(&L->cv);
    }
    free(L->thread);
    free(L->mean); free(L->std);
    for (int s = 0; L->slot && s < L->nslots; s++) { free(L->slot[s].x); free(L->slot[s].y); }
    free(L->slot);
    free(L->order);
    for (int i = 0; L->maker && i < L->nmakers; i++) {
        tl_image_free(&L->maker[i].im);
        tl_image_free(&L->maker[i].tmp);
    }
    free(L->maker);
    free(L);
}
