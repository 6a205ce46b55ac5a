/* UniformFace (Duan, Lu, Zhou, CVPR 2019; docs/methods.md §7.1): a CosFace head (head.weight [C, D],
 * z_iy = s (c_iy − m)) plus the uniform loss, which spreads the class centres over the sphere like
 * equal charges:
 *   L_u = λ_u / (C(C−1)) · Σ_j Σ_{k≠j} 1 / (‖ĉ_j − ĉ_k‖ + 1)
 * The centres come from a buffer c_j (state head.centres [C, D], saved in checkpoints) and, for the
 * classes in the batch, from the batch's normalised features, so that L_u shapes the features
 * (tailor's construction, §7.1): c̃_j = (c_j + Σ_{i: y_i = j} x̂_i)/(1 + n_j), ĉ_j = normalize(c̃_j);
 * absent classes use c_j as a constant. A class's buffer starts at the normalised feature of its
 * first training sample (a zero row means "not seen yet"; pairs with an unseen class are left out).
 * After the optimizer step the buffer moves as centre loss does:
 *   c_j ← c_j − α Σ_{i: y_i = j} (c_j − x̂_i)/(1 + n_j).
 * Keys: s=30, m=0.35, lambda=1, alpha=0.5. Pairs closer than 1e-12 are skipped (no direction).
 * Data-parallel training: the counts n_j, the sums of x̂ and the first sight are the global batch's
 * (share_batch), so every process computes the same L_u and moves the same buffer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/normed.h"
#include "models/model.h"
#include "nn/nn.h"

typedef struct {
    double m, lambda, alpha;
    size_t w, cbuf;
    tl_normed n;
    const int *labels;          /* the training batch's labels, from forward until step_end */
    int *count;                 /* [C] samples of each class in the batch */
    double *ct, *ch, *cn, *dch; /* [C, D] c̃, [C, D] ĉ, [C] ‖c̃‖, [C, D] ∂L_u/∂ĉ */
    double *dxu;                /* [N, D] ∂L_u/∂x */
    int has_dxu;
    double *sx, *rank_count;    /* data-parallel: [C, D] the global batch's Σ x̂ per class, [P, C] counts */
} uniform_priv;

static int uniform_create(tl_head *h, tl_spec *spec, struct tl_model *model, tl_error *err) {
    uniform_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    double s;
    if (tl_spec_double(spec, "s", 30, &s, err) || tl_spec_double(spec, "m", 0.35, &p->m, err) ||
        tl_spec_double(spec, "lambda", 1, &p->lambda, err) || tl_spec_double(spec, "alpha", 0.5, &p->alpha, err))
        return -1;
    h->scale = s;
    h->normalized = 1;
    size_t cd = (size_t)h->C * h->D;
    p->count = malloc((size_t)h->C * sizeof *p->count);
    p->ct = malloc(cd * sizeof(double));
    p->ch = malloc(cd * sizeof(double));
    p->dch = malloc(cd * sizeof(double));
    p->cn = malloc((size_t)h->C * sizeof(double));
    p->dxu = malloc((size_t)h->N * h->D * sizeof(double));
    p->sx = malloc(cd * sizeof(double));
    p->rank_count = malloc((size_t)tl_dist_size() * h->C * sizeof(double));
    if (!p->count || !p->ct || !p->ch || !p->dch || !p->cn || !p->dxu || !p->sx || !p->rank_count ||
        tl_normed_init(&p->n, h->N, h->C, h->D))
        return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(model, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, TL_INIT_UNIT_ROWS, h->D);
    p->cbuf = tl_model_add_tensor(model, "head.centres", 2, wshape, TL_GROUP_HEAD, 1, TL_INIT_ZEROS, h->D);
    return 0;
}

static void uniform_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    uniform_priv *p = h->priv;
    tl_normed_forward(&p->n, feat, params + p->w);
    tl_normed_scaled(logits, &p->n, h->scale);
    p->labels = labels;
    p->has_dxu = 0;
    if (!labels) return;
    for (int i = 0; i < h->N; i++) {
        size_t k = (size_t)i * h->C + labels[i];
        logits[k] = (float)(h->scale * (p->n.cos[k] - p->m));
    }
}

static int row_is_zero(const float *v, int D) {
    for (int j = 0; j < D; j++) if (v[j] != 0) return 0;
    return 1;
}

static void count_classes(uniform_priv *p, const int *labels, int N, int C) {
    memset(p->count, 0, (size_t)C * sizeof *p->count);
    for (int i = 0; i < N; i++) p->count[labels[i]]++;
}

/* Data-parallel training (nn.h tl_batch_sum; this process is slice r of P): p->count becomes the
 * global batch's class counts and p->sx its per-class sums of x̂, and a class seen for the first time
 * starts at its first row of the global batch (the first process that has it, its first row). */
static void share_batch(tl_head *h, uniform_priv *p, const int *y, float *cbuf) {
    int N = h->N, C = h->C, D = h->D, P = tl_model_slices(h->model), r = h->model->net.slice;
    double *rc = p->rank_count;
    memset(rc, 0, (size_t)P * C * sizeof *rc);
    for (int c = 0; c < C; c++) rc[(size_t)r * C + c] = p->count[c];
    tl_batch_sum(rc, (size_t)P * C);
    memset(p->sx, 0, (size_t)C * D * sizeof *p->sx);
    for (int c = 0; c < C; c++) {
        if (!row_is_zero(cbuf + (size_t)c * D, D)) continue;
        int q = 0;
        while (q < P && rc[(size_t)q * C + c] == 0) q++;
        for (int i = 0; q == r && i < N; i++)
            if (y[i] == c) { memcpy(p->sx + (size_t)c * D, p->n.xhat + (size_t)i * D, (size_t)D * sizeof *p->sx); break; }
    }
    tl_batch_sum(p->sx, (size_t)C * D);   /* the first rows, one contributor per class */
    for (int c = 0; c < C; c++) {
        double n = 0;
        for (int q = 0; q < P; q++) n += rc[(size_t)q * C + c];
        p->count[c] = (int)n;
        if (n > 0 && row_is_zero(cbuf + (size_t)c * D, D))
            for (int j = 0; j < D; j++) cbuf[(size_t)c * D + j] = (float)p->sx[(size_t)c * D + j];
    }
    memset(p->sx, 0, (size_t)C * D * sizeof *p->sx);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) p->sx[(size_t)y[i] * D + j] += p->n.xhat[(size_t)i * D + j];
    tl_batch_sum(p->sx, (size_t)C * D);
}

static double uniform_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                                  const float *params) {
    (void)dfeat; (void)feat; (void)labels; /* feature gradients, if any, are added in backward */
    uniform_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D;
    const int *y = p->labels;
    float *cbuf = h->model->state + p->cbuf;
    int shared = tl_batch_sync_get() != NULL;
    /* ∂L_u/∂x of this process's rows of the global L_u: times P, as the trainer averages processes */
    double gain = shared ? tl_model_slices(h->model) : 1;
    count_classes(p, y, N, C);
    if (shared) share_batch(h, p, y, cbuf);
    else
        for (int i = 0; i < N; i++)   /* first sight of a class: its buffer starts at this feature */
            if (row_is_zero(cbuf + (size_t)y[i] * D, D))
                for (int j = 0; j < D; j++) cbuf[(size_t)y[i] * D + j] = (float)p->n.xhat[(size_t)i * D + j];
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++) p->ct[(size_t)c * D + j] = cbuf[(size_t)c * D + j];
    if (shared)
        for (size_t k = 0; k < (size_t)C * D; k++) p->ct[k] += p->sx[k];
    else
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++) p->ct[(size_t)y[i] * D + j] += p->n.xhat[(size_t)i * D + j];
    for (int c = 0; c < C; c++) {
        double ss = 0, *t = p->ct + (size_t)c * D;
        for (int j = 0; j < D; j++) { t[j] /= 1 + p->count[c]; ss += t[j] * t[j]; }
        p->cn[c] = fmax(sqrt(ss), 1e-12);
        for (int j = 0; j < D; j++) p->ch[(size_t)c * D + j] = t[j] / p->cn[c];
    }
    memset(p->dch, 0, (size_t)C * D * sizeof *p->dch);
    double L = 0, k0 = p->lambda / ((double)C * (C - 1));
    for (int a = 0; a < C; a++)
        for (int b = a + 1; b < C; b++) {
            if (row_is_zero(cbuf + (size_t)a * D, D) || row_is_zero(cbuf + (size_t)b * D, D)) continue;
            const double *ua = p->ch + (size_t)a * D, *ub = p->ch + (size_t)b * D;
            double r2 = 0;
            for (int j = 0; j < D; j++) r2 += (ua[j] - ub[j]) * (ua[j] - ub[j]);
            double r = sqrt(r2);
            L += 2 * k0 / (r + 1);   /* the pair appears twice in the double sum */
            if (r < 1e-12) continue;
            double f = -2 * k0 / (r * (r + 1) * (r + 1));
            for (int j = 0; j < D; j++) {
                double t = f * (ua[j] - ub[j]);
                p->dch[(size_t)a * D + j] += t;
                p->dch[(size_t)b * D + j] -= t;
            }
        }
    /* ĉ -> c̃ (normalize VJP) -> x̂_i (÷ (1 + n_j), present classes only) -> x (normalize VJP) */
    for (int c = 0; c < C; c++) {
        double *g = p->dch + (size_t)c * D, *u = p->ch + (size_t)c * D, dot = 0;
        for (int j = 0; j < D; j++) dot += g[j] * u[j];
        for (int j = 0; j < D; j++) g[j] = (g[j] - dot * u[j]) / p->cn[c] / (1 + p->count[c]);
    }
    for (int i = 0; i < N; i++) {
        const double *g = p->dch + (size_t)y[i] * D, *u = p->n.xhat + (size_t)i * D;
        double dot = 0;
        for (int j = 0; j < D; j++) dot += g[j] * u[j];
        for (int j = 0; j < D; j++) p->dxu[(size_t)i * D + j] = gain * ((g[j] - dot * u[j]) / p->n.xnorm[i]);
    }
    p->has_dxu = 1;
    return L;
}

static void uniform_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                             const int *labels, const float *params) {
    uniform_priv *p = h->priv;
    for (size_t k = 0; k < (size_t)h->N * h->C; k++) p->n.g[k] = h->scale * dlogits[k];   /* ∂φ/∂c = 1 */
    tl_normed_backward(&p->n, dfeat, grads + p->w, 0);
    if (dfeat && labels && p->has_dxu)
        for (size_t k = 0; k < (size_t)h->N * h->D; k++) dfeat[k] += (float)p->dxu[k];
}

/* The centre-loss move of the buffer, with the batch's normalised features. */
static void uniform_step_end(tl_head *h, float *params, float *state) {
    uniform_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D;
    if (!p->labels) return;
    float *cbuf = state + p->cbuf;
    if (tl_batch_sync_get()) {   /* the regularizer's global counts and Σ x̂ (share_batch) */
        for (size_t k = 0; k < (size_t)C * D; k++) p->dch[k] = p->count[k / D] * (double)cbuf[k] - p->sx[k];
    } else {
        count_classes(p, p->labels, N, C);
        memset(p->dch, 0, (size_t)C * D * sizeof *p->dch);
        for (int i = 0; i < N; i++) {
            int c = p->labels[i];
            for (int j = 0; j < D; j++) p->dch[(size_t)c * D + j] += cbuf[(size_t)c * D + j] - p->n.xhat[(size_t)i * D + j];
        }
    }
    for (int c = 0; c < C; c++)
        if (p->count[c])
            for (int j = 0; j < D; j++)
                cbuf[(size_t)c * D + j] = (float)(cbuf[(size_t)c * D + j] - p->alpha * p->dch[(size_t)c * D + j] / (1 + p->count[c]));
}

static void uniform_destroy(tl_head *h) {
    uniform_priv *p = h->priv;
    if (!p) return;
    tl_normed_free(&p->n);
    free(p->count); free(p->ct); free(p->ch); free(p->dch); free(p->cn); free(p->dxu); free(p->sx); free(p->rank_count);
    free(p);
}

const tl_head_ops tl_head_uniformface = {.name = "uniformface", .create = uniform_create,
    .forward = uniform_forward, .backward = uniform_backward, .destroy = uniform_destroy,
    .regularizer = uniform_regularizer, .step_end = uniform_step_end,
    .keys = "s=30,m=0.35,lambda=1,alpha=0.5",
    .help = "UniformFace: CosFace plus a loss that spreads the class centres evenly over the sphere"};
