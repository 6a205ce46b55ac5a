/* The de-confounded training head of causal TDE (docs/methods.md §9; KaihuaTang/Long-Tailed-Recognition
 * CausalNormClassifier): x and every w_c split into K chunks of D/K,
 *   x̂_k = x_k/max(‖x_k‖, 1e-12),   ŵ_{c,k} = w_{c,k}/(‖w_{c,k}‖ + γ),   z_c = (τ/K) Σ_k ŵ_{c,k}·x̂_k.
 * Training forwards (labels given) also update the moving average of the features
 *   x̄ ← μ·x̄ + mean_i x_i   (state tensor head.embed_mean [D], saved with the model),
 * and inference forwards (labels NULL) return the TDE logits (§9.3), the counterfactual removed:
 *   z_c^TDE = z_c − α(τ/K) Σ_k cos_k (ŵ_{c,k}·ĉ_k),   ĉ_k = x̄_k/‖x̄_k‖,  cos_k = x̂_k·ĉ_k
 * (a chunk with x̄_k = 0, i.e. before any training step, removes nothing). Backward is that of the
 * training logits. Tensors: head.weight [C, D] (nn.Linear's default init, U(±1/√D)) and
 * head.embed_mean [D]. Keys: heads=K (2, must divide D), tau (16), gamma (1/32), alpha (1.0, the
 * TDE strength at inference; tailor eval --posthoc tde:alpha= overrides it), mu (0.9; the
 * reference's per-epoch rule for ImageNet-LT is not implemented). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "models/model.h"
#include "nn/nn.h"

typedef struct {
    size_t w, c;                 /* head.weight in params, head.embed_mean in state */
    int K, dk;
    double tau, gamma, alpha, mu;
    float *xhat, *xnorm, *what, *wnorm, *dxhat, *dwhat;  /* [N,D], [N,K], [C,D], [C,K], [N,D], [C,D] */
    double *acc;                 /* [D] batch mean accumulator */
} causal_priv;

static int causal_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    int K;
    double tau, gamma, alpha, mu;
    if (tl_spec_int(spec, "heads", 2, &K, err) || tl_spec_double(spec, "tau", 16, &tau, err) ||
        tl_spec_double(spec, "gamma", 1.0 / 32, &gamma, err) || tl_spec_double(spec, "alpha", 1.0, &alpha, err) ||
        tl_spec_double(spec, "mu", 0.9, &mu, err))
        return -1;
    if (K < 1 || h->D % K) return tl_spec_fail(err, spec, "heads=%d must be >= 1 and divide the feature size %d", K, h->D);
    causal_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    h->scale = tau / K;
    h->normalized = 1;
    p->K = K; p->dk = h->D / K;
    p->tau = tau; p->gamma = gamma; p->alpha = alpha; p->mu = mu;
    size_t nd = (size_t)h->N * h->D, cd = (size_t)h->C * h->D;
    p->xhat = malloc(nd * sizeof(float));
    p->dxhat = malloc(nd * sizeof(float));
    p->xnorm = malloc((size_t)h->N * K * sizeof(float));
    p->what = malloc(cd * sizeof(float));
    p->dwhat = malloc(cd * sizeof(float));
    p->wnorm = malloc((size_t)h->C * K * sizeof(float));
    p->acc = malloc((size_t)h->D * sizeof(double));
    if (!p->xhat || !p->dxhat || !p->xnorm || !p->what || !p->dwhat || !p->wnorm || !p->acc)
        return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(m, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, TL_INIT_DEFAULT, h->D);
    p->c = tl_model_add_tensor(m, "head.embed_mean", 1, &h->D, TL_GROUP_HEAD, 1, TL_INIT_ZEROS, h->D);
    return 0;
}

static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += (double)a[j] * b[j];
    return s;
}

static void causal_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    causal_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D, K = p->K, dk = p->dk;
    const float *W = params + p->w;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            const float *x = feat + (size_t)i * D + k * dk;
            float n = (float)fmax(sqrt(dot(x, x, dk)), 1e-12);
            p->xnorm[i * K + k] = n;
            for (int j = 0; j < dk; j++) p->xhat[(size_t)i * D + k * dk + j] = x[j] / n;
        }
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            const float *w = W + (size_t)c * D + k * dk;
            float n = (float)sqrt(dot(w, w, dk));
            p->wnorm[c * K + k] = n;
            for (int j = 0; j < dk; j++) p->what[(size_t)c * D + k * dk + j] = (float)(w[j] / (n + p->gamma));
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, C, D, (float)h->scale, p->xhat, D, p->what, D, 0.0f,
                logits, C);
    float *cbar = h->state + p->c;
    if (labels) {
        /* Moving average of the (detached) features, batch mean in double, fixed order: the global
         * batch's under data-parallel training (nn.h tl_batch_sum), so every process keeps the same. */
        for (int j = 0; j < D; j++) p->acc[j] = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++) p->acc[j] += feat[(size_t)i * D + j];
        const double n = N * tl_batch_sum(p->acc, (size_t)D);
        for (int j = 0; j < D; j++) cbar[j] = (float)(p->mu * cbar[j] + p->acc[j] / n);
        return;
    }
    if (p->alpha == 0) return;
    for (int k = 0; k < K; k++) {
        const float *cb = cbar + k * dk;
        double cn = sqrt(dot(cb, cb, dk));
        if (cn < 1e-12) continue;
        for (int c = 0; c < C; c++) {
            double wc = dot(p->what + (size_t)c * D + k * dk, cb, dk) / cn;   /* ŵ_{c,k}·ĉ_k */
            for (int i = 0; i < N; i++) {
                double cosk = dot(p->xhat + (size_t)i * D + k * dk, cb, dk) / cn;
                logits[(size_t)i * C + c] = (float)(logits[(size_t)i * C + c] - p->alpha * h->scale * cosk * wc);
            }
        }
    }
}

static void causal_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                            const int *labels, const float *params) {
    causal_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D, K = p->K, dk = p->dk;
    float s = (float)h->scale;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, C, s, dlogits, C, p->what, D, 0.0f, p->dxhat, D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, D, N, s, dlogits, C, p->xhat, D, 0.0f, p->dwhat, D);
    for (int i = 0; dfeat && i < N; i++)
        for (int k = 0; k < K; k++) {
            /* dx_k += (g − (g·x̂_k)x̂_k)/‖x_k‖ */
            size_t o = (size_t)i * D + k * dk;
            double gx = dot(p->dxhat + o, p->xhat + o, dk);
            float n = p->xnorm[i * K + k];
            for (int j = 0; j < dk; j++) dfeat[o + j] += (float)((p->dxhat[o + j] - gx * p->xhat[o + j]) / n);
        }
    const float *W = params + p->w;
    float *dW = grads + p->w;
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            /* dw += g/(n+γ) − w (w·g)/(n (n+γ)²)   (second term 0 at n = 0) */
            size_t o = (size_t)c * D + k * dk;
            double n = p->wnorm[c * K + k], ng = n + p->gamma;
            double wg = n < 1e-12 ? 0 : dot(W + o, p->dwhat + o, dk) / (n * ng * ng);
            for (int j = 0; j < dk; j++) dW[o + j] += (float)(p->dwhat[o + j] / ng - W[o + j] * wg);
        }
}

static void causal_destroy(tl_head *h) {
    causal_priv *p = h->priv;
    if (!p) return;
    free(p->xhat); free(p->dxhat); free(p->xnorm); free(p->what); free(p->dwhat); free(p->wnorm); free(p->acc);
    free(p);
}

int tl_causal_set_alpha(tl_head *h, double alpha, tl_error *err) {
    if (h->ops != &tl_head_causal) return tl_fail(err, "--posthoc tde: the run's head is not causal");
    ((causal_priv *)h->priv)->alpha = alpha;
    return 0;
}

const tl_head_ops tl_head_causal = {.name = "causal", .create = causal_create, .forward = causal_forward,
                                    .backward = causal_backward, .destroy = causal_destroy,
    .keys = "heads=2,tau=16,gamma=0.03125,alpha=1,mu=0.9",
    .help = "causal TDE's de-confounded multi-head cosine classifier; its inference removes alpha times the head-direction effect"};
