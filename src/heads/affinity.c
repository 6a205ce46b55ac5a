/* Affinity head (Hayat et al., arXiv 1901.07711; docs/methods.md §6): Gaussian similarities to M learned
 * centres per class, head.centres [C, M, D] (init N(0, 2/D)), keys sigma=10, lambda=0.75, centres=1.
 *   d[i,c,m] = exp(−‖x_i − v_cm‖² / σ),  logits[i,c] = d[i,c] = max_m d[i,c,m] (ties: lowest m)
 * Prediction is the class of the most similar nearest centre, so the logits are the similarities, in
 * training and at inference. The head brings its own objective (the `loss` hook; --loss is not
 * used): the max-margin hinge L_mm = (1/N) Σ_i Σ_{j≠y_i} max(0, λ + d_ij − d_iy_i), plus the
 * diversity regulariser R = variance of the pairwise squared distances of all K = C·M centres
 * (the `regularizer` hook), weight 1. Only the arg-max centre of each (i, c) receives gradient. */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "heads/head.h"
#include "models/model.h"

typedef struct {
    double sigma, lambda;
    int M;
    size_t v;
    int *best;          /* [N, C] arg-max centre */
    double *sim;        /* [N, C] d[i,c] in double */
    double *grad;       /* [K, D] regulariser gradient scratch */
} affinity_priv;

static int affinity_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    affinity_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    if (tl_spec_double(spec, "sigma", 10, &p->sigma, err) || tl_spec_double(spec, "lambda", 0.75, &p->lambda, err) ||
        tl_spec_int(spec, "centres", 1, &p->M, err))
        return -1;
    p->best = malloc((size_t)h->N * h->C * sizeof *p->best);
    p->sim = malloc((size_t)h->N * h->C * sizeof *p->sim);
    p->grad = malloc((size_t)h->C * p->M * h->D * sizeof *p->grad);
    if (!p->best || !p->sim || !p->grad) return tl_fail(err, "out of memory");
    int shape[3] = {h->C, p->M, h->D};
    p->v = tl_model_add_tensor(m, "head.centres", 3, shape, TL_GROUP_HEAD, 0, TL_INIT_KAIMING_NORMAL, h->D);
    return 0;
}

/* ‖a − b‖² as a direct sum of squared differences (never negative, unlike the expanded form). */
static double sqdist(const float *a, const float *b, int D) {
    double s = 0;
    for (int j = 0; j < D; j++) { double t = (double)a[j] - b[j]; s += t * t; }
    return s;
}

static void affinity_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    affinity_priv *p = h->priv;
    int D = h->D, M = p->M;
    const float *V = params + p->v;
    for (int i = 0; i < h->N; i++)
        for (int c = 0; c < h->C; c++) {
            double best = -1;
            int bm = 0;
            for (int k = 0; k < M; k++) {
                double d = exp(-sqdist(feat + (size_t)i * D, V + ((size_t)c * M + k) * D, D) / p->sigma);
                if (d > best) { best = d; bm = k; }
            }
            size_t ic = (size_t)i * h->C + c;
            p->sim[ic] = best;
            p->best[ic] = bm;
            logits[ic] = (float)best;
        }
}

/* Max-margin hinge on the similarities; the active set is strict (λ + d_ij − d_iy > 0). */
static double affinity_loss(tl_head *h, float *dlogits, const float *logits, const int *labels) {
    affinity_priv *p = h->priv;
    int N = h->N, C = h->C;
    double total = 0;
    for (int i = 0; i < N; i++) {
        const double *d = p->sim + (size_t)i * C;
        float *g = dlogits + (size_t)i * C;
        int y = labels[i], active = 0;
        for (int j = 0; j < C; j++) {
            g[j] = 0;
            double u = p->lambda + d[j] - d[y];
            if (j != y && u > 0) { total += u; active++; g[j] = (float)(1.0 / N); }
        }
        g[y] = (float)(-(double)active / N);
    }
    return total / N;
}

/* R = (1/P) Σ_{k<l} (δ_kl − μ)², δ_kl = ‖u_k − u_l‖², μ = mean δ, P = K(K−1)/2;
 * ∂R/∂u_k = (4/P) Σ_{l≠k} (δ_kl − μ)(u_k − u_l). */
static double affinity_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                                   const float *params) {
    (void)dfeat; (void)feat; (void)labels; /* feature gradients, if any, are added in backward */
    affinity_priv *p = h->priv;
    int K = h->C * p->M, D = h->D;
    if (K < 2) return 0;
    const float *U = params + p->v;
    double P = 0.5 * K * (K - 1), mu = 0, R = 0;
    for (int k = 0; k < K; k++)
        for (int l = k + 1; l < K; l++) mu += sqdist(U + (size_t)k * D, U + (size_t)l * D, D);
    mu /= P;
    for (size_t j = 0; j < (size_t)K * D; j++) p->grad[j] = 0;
    for (int k = 0; k < K; k++)
        for (int l = k + 1; l < K; l++) {
            const float *a = U + (size_t)k * D, *b = U + (size_t)l * D;
            double e = sqdist(a, b, D) - mu;
            R += e * e;
            for (int j = 0; j < D; j++) {
                double t = 4 / P * e * ((double)a[j] - b[j]);
                p->grad[(size_t)k * D + j] += t;
                p->grad[(size_t)l * D + j] -= t;
            }
        }
    for (size_t j = 0; j < (size_t)K * D; j++) grads[p->v + j] += (float)p->grad[j];
    return R / P;
}

/* ∂d_icm/∂x_i = −(2/σ) d_icm (x_i − v_cm) = −∂d_icm/∂v_cm, for the arg-max centre only. */
static void affinity_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                              const int *labels, const float *params) {
    affinity_priv *p = h->priv;
    int D = h->D, M = p->M;
    const float *V = params + p->v;
    float *dV = grads + p->v;
    for (int i = 0; i < h->N; i++) {
        const float *x = feat + (size_t)i * D;
        for (int c = 0; c < h->C; c++) {
            size_t ic = (size_t)i * h->C + c;
            double a = 2 / p->sigma * dlogits[ic] * p->sim[ic];
            if (a == 0) continue;
            size_t off = ((size_t)c * M + p->best[ic]) * D;
            for (int j = 0; j < D; j++) {
                double t = a * ((double)x[j] - V[off + j]);
                if (dfeat) dfeat[(size_t)i * D + j] -= (float)t;
                dV[off + j] += (float)t;
            }
        }
    }
}

static void affinity_destroy(tl_head *h) {
    affinity_priv *p = h->priv;
    if (!p) return;
    free(p->best); free(p->sim); free(p->grad);
    free(p);
}

const tl_head_ops tl_head_affinity = {.name = "affinity", .create = affinity_create, .forward = affinity_forward,
    .backward = affinity_backward, .destroy = affinity_destroy, .loss = affinity_loss,
    .regularizer = affinity_regularizer,
    .keys = "sigma=10,lambda=0.75,centres=1",
    .help = "Gaussian affinity to centres per class, trained with its own max-margin loss (in place of --loss) and a diversity regulariser"};
