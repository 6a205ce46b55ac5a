/* SMOTE (docs/methods.md §2.6): synthetic minority rows on the segment between a row and one of its k
 * nearest same-class neighbours. tl_smote is the core on any float matrix; the `smote` sampler uses
 * it once before training (input space: raw pixels, rounded and clamped to 0..255, or tabular rows
 * as they are), appends the rows to the training set and then samples instances. The training
 * counts that reports and loss weights use stay the original ones (the caller's count array).
 * space=feature (SMOTE on frozen backbone features) belongs to stage-2 retraining, not here. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "samplers/sampler.h"

int64_t tl_smote_count(const int64_t *count, const int64_t *target, int C) {
    int64_t m = 0;
    for (int c = 0; c < C; c++)
        if (count[c] > 0 && target[c] > count[c]) m += target[c] - count[c];
    return m;
}

/* nbr[0..K) = the K rows of list[0..len) nearest to row a (a itself excluded), nearest first, ties
 * by position in list. dist is scratch [K]. */
static void nearest(int *nbr, double *dist, int K, int a, const int *list, int len, const float *x, int d) {
    int have = 0;
    const float *xa = x + (size_t)a * d;
    for (int i = 0; i < len; i++) {
        int b = list[i];
        if (b == a) continue;
        const float *xb = x + (size_t)b * d;
        double s = 0;
        for (int j = 0; j < d; j++) { double t = (double)xb[j] - xa[j]; s += t * t; }
        if (have == K && s >= dist[K - 1]) continue;
        int p = have < K ? have++ : K - 1;
        while (p > 0 && dist[p - 1] > s) { dist[p] = dist[p - 1]; nbr[p] = nbr[p - 1]; p--; }
        dist[p] = s;
        nbr[p] = b;
    }
}

/* Anchors per distance GEMM: a block of G [rows, nc] doubles of about 8 MB. */
#define TL_SMOTE_BLOCK_VALUES (1 << 20)

/* nbr[t·K ..] = nearest(order[t]) for t < used, as nearest() over the whole class cls[0..nc) gives
 * it, bit for bit, without its O(used · nc · d) scalar loop: one double GEMM per block of anchors
 * gives every squared distance as |a|² + |b|² - 2a·b, which only picks candidates; nearest() then
 * ranks the candidates with its own exact sums. The two sums of a distance differ by at most
 * delta = 16 (d + 4) u (|a|² + max |b|²) (u = 2^-53; both are dot products of d terms bounded by
 * |a|² + |b|²), so with T at least the K-th smallest GEMM distance of the other rows, the K true
 * nearest all have a GEMM distance <= T + 2 delta (K rows are within T + delta exactly, so the
 * K-th exact one is too): keeping those rows (in list order, so ties still go to the earlier row)
 * keeps the answer. dist is scratch [K + 1]. */
static int class_neighbours(int *nbr, double *dist, int K, const int *order, int used, const int *cls, int nc,
                            const float *x, int d) {
    int rows = TL_SMOTE_BLOCK_VALUES / nc;
    rows = rows < 1 ? 1 : rows > used ? used : rows;
    double *xc = malloc(((size_t)nc * d + 1) * sizeof *xc), *nrm = malloc((size_t)nc * sizeof *nrm);
    double *xa = malloc(((size_t)rows * d + 1) * sizeof *xa), *g = malloc(((size_t)rows * nc + 1) * sizeof *g);
    int *cand = malloc((size_t)nc * sizeof *cand);
    if (!xc || !nrm || !xa || !g || !cand) { free(xc); free(nrm); free(xa); free(g); free(cand); return -1; }
    double nmax = 0;
    for (int i = 0; i < nc; i++) {
        double q = 0;
        for (int j = 0; j < d; j++) {
            double v = x[(size_t)cls[i] * d + j];
            xc[(size_t)i * d + j] = v;
            q += v * v;
        }
        nrm[i] = q;
        nmax = q > nmax ? q : nmax;
    }
    for (int t0 = 0; t0 < used; t0 += rows) {
        int nb = used - t0 < rows ? used - t0 : rows;
        for (int t = 0; t < nb; t++)
            for (int j = 0; j < d; j++) xa[(size_t)t * d + j] = x[(size_t)order[t0 + t] * d + j];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nc, d, 1.0, xa, d, xc, d, 0.0, g, nc);
        for (int t = 0; t < nb; t++) {
            int a = order[t0 + t], have = 0;
            double *sa = g + (size_t)t * nc, na = 0;
            const double *va = xa + (size_t)t * d;
            for (int j = 0; j < d; j++) na += va[j] * va[j];
            for (int i = 0; i < nc; i++) sa[i] = na + nrm[i] - 2 * sa[i];
            /* T = dist[K]: the (K+1)-th smallest GEMM distance with a included, so at least the K-th
             * without it; blocks whose minimum cannot enter are skipped (NaNs never enter) */
            for (int i0 = 0; i0 < nc; i0 += 16) {
                int len = nc - i0 < 16 ? nc - i0 : 16;
                double lo = INFINITY;
                for (int i = i0; i < i0 + len; i++) lo = sa[i] < lo ? sa[i] : lo;
                if (have == K + 1 && !(lo < dist[K])) continue;
                for (int i = i0; i < i0 + len; i++) {
                    double v = sa[i];
                    if ((have == K + 1 && !(v < dist[K])) || v != v) continue;
                    int p = have < K + 1 ? have++ : K;
                    while (p > 0 && dist[p - 1] > v) { dist[p] = dist[p - 1]; p--; }
                    dist[p] = v;
                }
            }
            /* Non-finite values (NaN, overflow) keep every row: nearest() alone decides. */
            double limit = have < K + 1 ? INFINITY : dist[K] + 2 * 16.0 * (d + 4) * 0x1p-53 * (na + nmax);
            int len = 0;
            for (int i = 0; i < nc; i++) {
                cand[len] = cls[i];
                len += !(sa[i] > limit);
            }
            nearest(nbr + (size_t)(t0 + t) * K, dist, K, a, cand, len, x, d);
        }
    }
    free(xc); free(nrm); free(xa); free(g); free(cand);
    return 0;
}

int tl_smote(float *out, int *out_y, int *anchor, int *neighbour, const float *x, const int *y, int n, int d, int C,
             const int64_t *target, int k, int round, float lo, float hi, tl_rng *rng, tl_error *err) {
    int *start = calloc((size_t)C + 1, sizeof *start), *list = malloc(((size_t)n + 1) * sizeof *list);
    int *order = malloc(((size_t)n + 1) * sizeof *order), *nbr = NULL;
    double *dist = malloc(((size_t)(k > 0 ? k : 1) + 1) * sizeof *dist);
    if (!start || !list || !order || !dist) goto oom;
    for (int i = 0; i < n; i++) start[y[i] + 1]++;
    for (int c = 0; c < C; c++) start[c + 1] += start[c];
    for (int c = 0, *fill = order; c < C; c++) fill[c] = start[c];
    for (int i = 0; i < n; i++) list[order[y[i]]++] = i;
    int64_t m = 0;
    for (int c = 0; c < C; c++) {
        int nc = start[c + 1] - start[c];
        const int *cls = list + start[c];
        if (nc == 0 || target[c] <= nc) continue;
        int64_t need = target[c] - nc;
        int K = k < nc - 1 ? k : nc - 1, used = need < nc ? (int)need : nc;
        memcpy(order, cls, (size_t)nc * sizeof *order);
        tl_rng_shuffle(rng, order, nc);
        free(nbr);
        nbr = malloc(((size_t)used * K + 1) * sizeof *nbr);
        if (!nbr) goto oom;
        if (K > 0 && class_neighbours(nbr, dist, K, order, used, cls, nc, x, d)) goto oom;
        for (int64_t r = 0; r < need; r++, m++) {
            int t = (int)(r % nc), a = order[t];
            int b = K ? nbr[(size_t)t * K + tl_rng_below(rng, (uint64_t)K)] : a;
            double u = tl_rng_uniform(rng);
            const float *xa = x + (size_t)a * d, *xb = x + (size_t)b * d;
            float *o = out + (size_t)m * d;
            for (int j = 0; j < d; j++) {
                double v = xa[j] + u * ((double)xb[j] - xa[j]);
                if (round) v = fmin(fmax(nearbyint(v), lo), hi);
                o[j] = (float)v;
            }
            out_y[m] = c;
            if (anchor) anchor[m] = a;
            if (neighbour) neighbour[m] = b;
        }
    }
    free(start); free(list); free(order); free(nbr); free(dist);
    return 0;
oom:
    free(start); free(list); free(order); free(nbr); free(dist);
    return tl_fail(err, "out of memory (SMOTE)");
}

typedef struct { int k, target, feature; } smote_priv;

static int smote_create(tl_sampler *s, tl_spec *spec, tl_error *err) {
    static const char *const spaces[] = {"input", "feature"};
    int nmax = 0;
    for (int c = 0; c < s->C; c++) if (s->count[c] > nmax) nmax = (int)s->count[c];
    smote_priv p;
    if (tl_spec_int(spec, "k", 5, &p.k, err) || tl_sampler_target(spec, nmax > 0 ? nmax : 1, &p.target, err) ||
        tl_spec_choice(spec, "space", spaces, 2, 0, &p.feature, err))
        return -1;
    if (p.feature)
        return tl_spec_fail(err, spec, "space=feature works on frozen backbone features, so it applies to "
                                       "`tailor retrain` (stage 2, not yet available); use space=input here");
    smote_priv *q = malloc(sizeof *q);
    if (!q) return tl_fail(err, "out of memory (--sampler)");
    *q = p;
    s->priv = q;
    return 0;
}

/* The pixels of a fixed-size image data set as float rows (HWC order: SMOTE is per element), or NULL. */
static float *image_rows(const tl_dataset *train, size_t total, int d, tl_error *err) {
    float *x = malloc((total * d + 1) * sizeof *x);
    tl_image im = {0}, tmp = {0};
    int rc = x ? 0 : tl_fail(err, "out of memory (SMOTE)");
    for (int i = 0; i < train->n && !rc; i++) {
        rc = tl_images_get(train->images, train->file[i], &im, &tmp, err);
        for (int j = 0; !rc && j < d; j++) x[(size_t)i * d + j] = im.pix[j];
    }
    tl_image_free(&im);
    tl_image_free(&tmp);
    if (rc) { free(x); return NULL; }
    return x;
}

/* Replaces train's images by n memory images made from the (integer) float rows x. */
static int rows_to_images(tl_dataset *train, const float *x, int n, int d, tl_error *err) {
    uint8_t *block;
    tl_images *im = tl_images_memory(n, train->h, train->w, train->c, &block);
    int *file = im ? malloc(sizeof *file * ((size_t)n + 1)) : NULL;
    if (!file) { tl_images_unref(im); return tl_fail(err, "out of memory (SMOTE)"); }
    for (size_t j = 0; j < (size_t)n * d; j++) block[j] = (uint8_t)x[j];
    for (int i = 0; i < n; i++) file[i] = i;
    tl_images_unref(train->images);
    free(train->file);
    train->images = im;
    train->file = file;
    return 0;
}

static int smote_prepare(tl_sampler *s, tl_dataset *train, uint64_t seed, tl_error *err) {
    const smote_priv *p = s->priv;
    int C = train->num_classes, d = train->c * train->h * train->w;
    if (train->images && d == 0)
        return tl_fail(err, "--sampler smote: interpolating pixels needs images of one size (IDX, CIFAR); this collection's sizes vary");
    int64_t *count = calloc((size_t)C, sizeof *count), *target = malloc((size_t)C * sizeof *target);
    if (!count || !target) { free(count); free(target); return tl_fail(err, "out of memory (SMOTE)"); }
    for (int i = 0; i < train->n; i++) count[train->y[i]]++;
    for (int c = 0; c < C; c++) target[c] = p->target;
    int64_t m = tl_smote_count(count, target, C);
    free(count);
    if ((int64_t)train->n + m > 0x7fffffff || ((int64_t)train->n + m) * d > TL_DATA_MAX_VALUES) {
        free(target);
        return tl_fail(err, "--sampler smote: %lld synthetic rows do not fit in memory limits", (long long)m);
    }
    size_t total = (size_t)train->n + (size_t)m;
    float *x = train->images ? image_rows(train, total, d, err) : realloc(train->x, (total * d + 1) * sizeof *x);
    if (x && !train->images) train->x = x;
    int *y = x ? realloc(train->y, (total + 1) * sizeof *y) : NULL;
    if (y) train->y = y;
    if (!x || !y) {
        if (train->images) free(x);
        free(target);
        return x || !train->images ? tl_fail(err, "out of memory (SMOTE)") : -1;
    }
    tl_rng rng;
    tl_rng_seed(&rng, seed, TL_RNG_SYNTH);
    /* Images hold integer pixels: round and clamp; tabular rows stay real-valued. */
    int image = train->images != NULL;
    int rc = tl_smote(x + (size_t)train->n * d, train->y + train->n, NULL, NULL, x, train->y, train->n, d,
                      C, target, p->k, image, 0.0f, 255.0f, &rng, err);
    free(target);
    if (!rc && image) rc = rows_to_images(train, x, (int)total, d, err);
    if (image) free(x);
    if (rc) return -1;
    train->n = (int)total;
    return 0;
}

static int smote_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    (void)epoch;
    for (int i = 0; i < s->n; i++) order[i] = i;
    tl_rng_shuffle(rng, order, s->n);
    return s->n;
}

static void smote_destroy(tl_sampler *s) { free(s->priv); }

const tl_sampler_ops tl_sampler_smote = {"smote", smote_create, smote_prepare, smote_epoch, smote_destroy,
    .keys = "k=5,target=n_max,space=input",
    .help = "SMOTE: synthetic rows between an image and one of its k nearest same-class neighbours, every class filled to target once before training, then instance sampling"};
