/* Batch loader: gathers, augments and normalises batch k+1 on a background thread while the caller
 * trains on batch k (double buffering). What a batch contains depends only on (seed, epoch, k) and the
 * epoch order, never on thread timing, so background on/off gives bitwise-identical batches. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

struct tl_loader {
    const tl_dataset *d;
    float *mean, *std;     /* [c], owned copies */
    tl_augment aug;
    int augment, batch, background;
    uint64_t seed;
    int *order, norder, cap_order, epoch, nbatches, next_k;
    float *x[2];           /* two slots of [batch][c*h*w] */
    int *y[2], size[2];
    /* background thread state, guarded by mu */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int job, done, busy, quit;
};

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fills slot k&1 with batch k of the current epoch. */
static void produce(tl_loader *L, int k) {
    const tl_dataset *d = L->d;
    int slot = k & 1, c = d->c;
    size_t hw = (size_t)d->h * d->w, row = (size_t)c * hw;
    int start = k * L->batch, b = L->norder - start < L->batch ? L->norder - start : L->batch;
    tl_rng rng;
    uint64_t s = mix64(L->seed + 0x9e3779b97f4a7c15ULL * (1 + (uint64_t)L->epoch));
    tl_rng_seed(&rng, mix64(s + 0x9e3779b97f4a7c15ULL * (1 + (uint64_t)k)), TL_RNG_AUGMENT);
    for (int i = 0; i < b; i++) {
        int idx = L->order[start + i];
        float *out = L->x[slot] + i * row;
        const float *inp = d->x + idx * row;
        if (L->augment) tl_augment_apply(out, inp, c, d->h, d->w, &L->aug, &rng);
        else memcpy(out, inp, row * sizeof(float));
        /* torchvision Normalize: (x - mean) / std per channel */
        for (int ch = 0; ch < c; ch++) {
            float m = L->mean[ch], sd = L->std[ch], *p = out + ch * hw;
            for (size_t j = 0; j < hw; j++) p[j] = (p[j] - m) / sd;
        }
        L->y[slot][i] = d->y[idx];
    }
    L->size[slot] = b;
}

static void *worker(void *arg) {
    tl_loader *L = arg;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        while (!L->quit && L->job < 0) pthread_cond_wait(&L->cv, &L->mu);
        if (L->quit) break;
        int k = L->job;
        L->job = -1;
        L->busy = 1;
        pthread_mutex_unlock(&L->mu);
        produce(L, k);
        pthread_mutex_lock(&L->mu);
        L->busy = 0;
        L->done = k;
        pthread_cond_broadcast(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

tl_loader *tl_loader_create(const tl_dataset *d, const float *mean, const float *std, const tl_augment *aug,
                            int batch, uint64_t seed, int background, tl_error *err) {
    if (batch <= 0) { tl_fail(err, "batch size %d must be positive", batch); return NULL; }
    tl_loader *L = calloc(1, sizeof *L);
    if (!L) { tl_fail(err, "out of memory for the loader"); return NULL; }
    L->d = d; L->batch = batch; L->seed = seed; L->job = -1; L->done = -1;
    if (aug) { L->aug = *aug; L->augment = aug->crop || aug->flip; }
    size_t row = (size_t)d->c * d->h * d->w;
    L->mean = malloc(sizeof(float) * (size_t)d->c);
    L->std = malloc(sizeof(float) * (size_t)d->c);
    for (int s = 0; s < 2; s++) {
        L->x[s] = malloc(sizeof(float) * row * (size_t)batch);
        L->y[s] = malloc(sizeof(int) * (size_t)batch);
    }
    if (!L->mean || !L->std || !L->x[0] || !L->x[1] || !L->y[0] || !L->y[1]) {
        tl_fail(err, "out of memory for batches of %d", batch);
        tl_loader_free(L);
        return NULL;
    }
    memcpy(L->mean, mean, sizeof(float) * (size_t)d->c);
    memcpy(L->std, std, sizeof(float) * (size_t)d->c);
    if (background) {
        pthread_mutex_init(&L->mu, NULL);
        pthread_cond_init(&L->cv, NULL);
        if (pthread_create(&L->thread, NULL, worker, L) != 0) {
            pthread_mutex_destroy(&L->mu);
            pthread_cond_destroy(&L->cv);
            tl_fail(err, "cannot start the data loading thread");
            tl_loader_free(L);
            return NULL;
        }
        L->background = 1;
    }
    return L;
}

int tl_loader_start(tl_loader *L, const int *order, int n, int epoch, tl_error *err) {
    for (int i = 0; i < n; i++)
        if (order[i] < 0 || order[i] >= L->d->n)
            return tl_fail(err, "epoch order: index %d at position %d is out of range (0..%d)", order[i], i, L->d->n - 1);
    if (L->background) {
        /* Let a batch still being prepared for the previous epoch finish before touching the order. */
        pthread_mutex_lock(&L->mu);
        while (L->busy || L->job >= 0) pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
    }
    if (n > L->cap_order) {
        int *o = realloc(L->order, sizeof(int) * (size_t)n);
        if (!o) return tl_fail(err, "out of memory for an epoch of %d samples", n);
        L->order = o;
        L->cap_order = n;
    }
    if (n > 0) memcpy(L->order, order, sizeof(int) * (size_t)n);
    L->norder = n;
    L->epoch = epoch;
    L->nbatches = (n + L->batch - 1) / L->batch;
    L->next_k = 0;
    if (L->background) {
        pthread_mutex_lock(&L->mu);
        L->done = -1;
        if (L->nbatches > 0) { L->job = 0; pthread_cond_broadcast(&L->cv); }
        pthread_mutex_unlock(&L->mu);
    }
    return 0;
}

int tl_loader_next(tl_loader *L, const float **x, const int **y) {
    int k = L->next_k;
    if (k >= L->nbatches) return 0;
    if (L->background) {
        pthread_mutex_lock(&L->mu);
        while (L->done != k) pthread_cond_wait(&L->cv, &L->mu);
        /* The caller has given back slot (k+1)&1 (batch k-1) by asking for batch k. */
        if (k + 1 < L->nbatches) { L->job = k + 1; pthread_cond_broadcast(&L->cv); }
        pthread_mutex_unlock(&L->mu);
    } else {
        produce(L, k);
    }
    L->next_k = k + 1;
    *x = L->x[k & 1];
    *y = L->y[k & 1];
    return L->size[k & 1];
}

void tl_loader_free(tl_loader *L) {
    if (!L) return;
    if (L->background) {
        pthread_mutex_lock(&L->mu);
        L->quit = 1;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        pthread_join(L->thread, NULL);
        pthread_mutex_destroy(&L->mu);
        pthread_cond_destroy(&L->cv);
    }
    free(L->mean); free(L->std);
    for (int s = 0; s < 2; s++) { free(L->x[s]); free(L->y[s]); }
    free(L->order);
    free(L);
}
