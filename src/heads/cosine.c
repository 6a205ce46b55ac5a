/* The cosine (normalised) classifier, docs/methods.md §0.4 (LDAM's NormedLinear):
 *   logits[i,c] = s · ⟨x_i/‖x_i‖, w_c/‖w_c‖⟩,   head.weight [C, D], no bias,
 * with F.normalize's ε = 1e-12. Backward: G = s·dlogits, dx̂ = G·Ŵ, dŵ = Gᵀ·X̂, then the normalize
 * VJP (g − (g·v̂)v̂)/‖v‖ row by row. Initialised as LDAM does: U(-1, 1), then each row scaled to unit
 * norm. Key: s (default 30, docs/methods.md §15.2 for C <= 100). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "models/model.h"

typedef struct {
    size_t w;
    float *xhat, *xnorm, *what, *wnorm, *dxhat, *dwhat; /* [N,D], [N], [C,D], [C], [N,D], [C,D] */
} cosine_priv;

static int cosine_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    double s;
    if (tl_spec_double(spec, "s", 30, &s, err)) return -1;
    h->scale = s;
    h->normalized = 1;
    cosine_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    size_t nd = (size_t)h->N * h->D, cd = (size_t)h->C * h->D;
    p->xhat = malloc(nd * sizeof(float));
    p->dxhat = malloc(nd * sizeof(float));
    p->xnorm = malloc((size_t)h->N * sizeof(float));
    p->what = malloc(cd * sizeof(float));
    p->dwhat = malloc(cd * sizeof(float));
    p->wnorm = malloc((size_t)h->C * sizeof(float));
    if (!p->xhat || !p->dxhat || !p->xnorm || !p->what || !p->dwhat || !p->wnorm) return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(m, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, TL_INIT_UNIT_ROWS, h->D);
    return 0;
}

/* out = v/max(‖v‖, ε) row-wise; norm[r] = max(‖v_r‖, ε). */
static void normalize_rows(float *out, float *norm, const float *v, int rows, int D) {
    for (int r = 0; r < rows; r++) {
        const float *x = v + (size_t)r * D;
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)x[j] * x[j];
        float n = (float)fmax(sqrt(ss), 1e-12);
        norm[r] = n;
        for (int j = 0; j < D; j++) out[(size_t)r * D + j] = x[j] / n;
    }
}

/* dv += (g − (g·v̂)v̂)/‖v‖ row-wise. */
static void normalize_vjp(float *dv, const float *g, const float *vhat, const float *norm, int rows, int D) {
    for (int r = 0; r < rows; r++) {
        const float *gr = g + (size_t)r * D, *vr = vhat + (size_t)r * D;
        double dot = 0;
        for (int j = 0; j < D; j++) dot += (double)gr[j] * vr[j];
        for (int j = 0; j < D; j++) dv[(size_t)r * D + j] += (float)((gr[j] - dot * vr[j]) / norm[r]);
    }
}

static void cosine_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    cosine_priv *p = h->priv;
    normalize_rows(p->xhat, p->xnorm, feat, h->N, h->D);
    normalize_rows(p->what, p->wnorm, params + p->w, h->C, h->D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, h->N, h->C, h->D, (float)h->scale, p->xhat, h->D, p->what,
                h->D, 0.0f, logits, h->C);
}

static void cosine_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                            const int *labels, const float *params) {
    cosine_priv *p = h->priv;
    float s = (float)h->scale;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, h->N, h->D, h->C, s, dlogits, h->C, p->what, h->D, 0.0f,
                p->dxhat, h->D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, h->C, h->D, h->N, s, dlogits, h->C, p->xhat, h->D, 0.0f,
                p->dwhat, h->D);
    if (dfeat) normalize_vjp(dfeat, p->dxhat, p->xhat, p->xnorm, h->N, h->D);
    normalize_vjp(grads + p->w, p->dwhat, p->what, p->wnorm, h->C, h->D);
}

static void cosine_destroy(tl_head *h) {
    cosine_priv *p = h->priv;
    if (!p) return;
    free(p->xhat); free(p->dxhat); free(p->xnorm); free(p->what); free(p->dwhat); free(p->wnorm);
    free(p);
}

const tl_head_ops tl_head_cosine = {.name = "cosine", .create = cosine_create, .forward = cosine_forward,
                                    .backward = cosine_backward, .destroy = cosine_destroy,
    .keys = "s=30",
    .help = "s·cos(w_c, x): normalised weights and features"};
