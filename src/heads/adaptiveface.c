/* AdaptiveFace, adaptive margin softmax (Liu et al., CVPR 2019; docs/methods.md §7.2; defaults of the
 * FaceX-Zoo `Adam_Softmax` re-implementation): CosFace with a learnable margin per class.
 *   z_iy = s (c_iy − m_y), z_ij = s c_ij;  L = CE + λ_m·(−(1/C) Σ_c m_c),  m_c projected to [0, 1]
 * after every optimizer step. Tensors head.weight [C, D] (the cosine head's init) and
 * head.margin_delta [C] with m_c = 0.35 + delta_c: the delta gets nn.Linear's default init with
 * fan_in 400, U(−0.05, 0.05), so the margins start U(0.3, 0.4) as in the re-implementation without a
 * special initialiser (the gradient is the same, ∂m/∂delta = 1). Keys s=30, lambda=70. */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/normed.h"
#include "models/model.h"

#define MARGIN_BASE 0.35

typedef struct {
    double lambda;
    size_t w, dm;
    tl_normed n;
} adaptive_priv;

static int adaptive_create(tl_head *h, tl_spec *spec, struct tl_model *model, tl_error *err) {
    adaptive_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    double s;
    if (tl_spec_double(spec, "s", 30, &s, err) || tl_spec_double(spec, "lambda", 70, &p->lambda, err)) return -1;
    h->scale = s;
    h->normalized = 1;
    if (tl_normed_init(&p->n, h->N, h->C, h->D)) return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(model, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, TL_INIT_UNIT_ROWS, h->D);
    p->dm = tl_model_add_tensor(model, "head.margin_delta", 1, &h->C, TL_GROUP_HEAD, 0, TL_INIT_DEFAULT, 400);
    return 0;
}

static void adaptive_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    adaptive_priv *p = h->priv;
    tl_normed_forward(&p->n, feat, params + p->w);
    tl_normed_scaled(logits, &p->n, h->scale);
    if (!labels) return;
    for (int i = 0; i < h->N; i++) {
        size_t k = (size_t)i * h->C + labels[i];
        logits[k] = (float)(h->scale * (p->n.cos[k] - (MARGIN_BASE + params[p->dm + labels[i]])));
    }
}

static void adaptive_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                              const int *labels, const float *params) {
    adaptive_priv *p = h->priv;
    for (size_t k = 0; k < (size_t)h->N * h->C; k++) p->n.g[k] = h->scale * dlogits[k];
    if (labels)
        for (int i = 0; i < h->N; i++) grads[p->dm + labels[i]] -= (float)(h->scale * dlogits[(size_t)i * h->C + labels[i]]);
    tl_normed_backward(&p->n, dfeat, grads + p->w, 0);
}

/* λ_m·L_m = −(λ_m/C) Σ_c m_c. */
static double adaptive_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                                   const float *params) {
    (void)dfeat; (void)feat; (void)labels; /* feature gradients, if any, are added in backward */
    adaptive_priv *p = h->priv;
    double sum = 0;
    for (int c = 0; c < h->C; c++) {
        sum += MARGIN_BASE + params[p->dm + c];
        grads[p->dm + c] -= (float)(p->lambda / h->C);
    }
    return -p->lambda * sum / h->C;
}

/* Projection of every margin onto [0, 1]. */
static void adaptive_step_end(tl_head *h, float *params, float *state) {
    adaptive_priv *p = h->priv;
    for (int c = 0; c < h->C; c++) {
        float *d = &params[p->dm + c];
        *d = fminf(fmaxf(*d, (float)-MARGIN_BASE), (float)(1 - MARGIN_BASE));
    }
}

static void adaptive_destroy(tl_head *h) {
    adaptive_priv *p = h->priv;
    if (!p) return;
    tl_normed_free(&p->n);
    free(p);
}

const tl_head_ops tl_head_adaptiveface = {.name = "adaptiveface", .create = adaptive_create,
    .forward = adaptive_forward, .backward = adaptive_backward, .destroy = adaptive_destroy,
    .regularizer = adaptive_regularizer, .step_end = adaptive_step_end,
    .keys = "s=30,lambda=70",
    .help = "AdaptiveFace: CosFace with a learnt margin per class"};
