/* Multiplicative angular margins (docs/methods.md §4.1): L-Softmax and A-Softmax (SphereFace), head.weight
 * [C, D], no bias. With ρ_ij = ‖w_j‖‖x_i‖ (L-Softmax, raw weights) or ‖x_i‖ (SphereFace, normalised
 * weights) and c_ij = cos θ_ij:
 *   z_ij = ρ_ij c_ij  (j ≠ y_i, and every logit at inference),
 *   z_iy = ρ_iy (λ c_iy + ψ(c_iy)) / (1 + λ)  in training,
 *   ψ(θ) = (−1)^k cos(mθ) − 2k on [kπ/m, (k+1)π/m] (Chebyshev form, margin.h),
 *   λ(it) = max(λ_min, base·(1 + γ·it)^(−power)), it = training forwards counted from 1 (the head
 *   increments h->forwards before use, as the reference layer does; the trainer re-syncs the count
 *   each epoch, so a resumed run anneals exactly as an uninterrupted one).
 * Keys: m=4, base=1000, gamma=0.12, power=1, lambda_min=5 (the SphereFace schedule, tailor's default).
 * The gradient is the exact one of this forward (not the Caffe layer's approximation): the normed
 * backward with g = ∂L/∂c and the radial parts ∂L/∂‖x‖ (and ∂L/∂‖w‖ for L-Softmax). */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/margin.h"
#include "heads/normed.h"
#include "models/model.h"

typedef struct {
    int raw;                /* 1: L-Softmax (‖w‖ kept), 0: SphereFace */
    int m;
    double base, gamma, power, lambda_min, lambda;
    size_t w;
    tl_normed n;
    double *hy, *dhy;       /* [N] target h(c) = (λc + ψ)/(1+λ) and dh/dc */
} sphere_priv;

static int sphere_create(tl_head *h, tl_spec *spec, struct tl_model *model, int raw, tl_error *err) {
    sphere_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    p->raw = raw;
    if (tl_spec_int(spec, "m", 4, &p->m, err) || tl_spec_double(spec, "base", 1000, &p->base, err) ||
        tl_spec_double(spec, "gamma", 0.12, &p->gamma, err) || tl_spec_double(spec, "power", 1, &p->power, err) ||
        tl_spec_double(spec, "lambda_min", 5, &p->lambda_min, err))
        return -1;
    p->hy = malloc((size_t)h->N * sizeof *p->hy);
    p->dhy = malloc((size_t)h->N * sizeof *p->dhy);
    if (!p->hy || !p->dhy || tl_normed_init(&p->n, h->N, h->C, h->D)) return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(model, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, raw ? TL_INIT_DEFAULT : TL_INIT_UNIT_ROWS,
                               h->D);
    return 0;
}

static int lsoftmax_create(tl_head *h, tl_spec *s, struct tl_model *m, tl_error *e) { return sphere_create(h, s, m, 1, e); }
static int sphereface_create(tl_head *h, tl_spec *s, struct tl_model *m, tl_error *e) { return sphere_create(h, s, m, 0, e); }

static double rho(const sphere_priv *p, int i, int j) { return p->n.xnorm[i] * (p->raw ? p->n.wnorm[j] : 1); }

static void sphere_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    sphere_priv *p = h->priv;
    int C = h->C;
    tl_normed_forward(&p->n, feat, params + p->w);
    for (int i = 0; i < h->N; i++)
        for (int j = 0; j < C; j++) logits[(size_t)i * C + j] = (float)(rho(p, i, j) * p->n.cos[(size_t)i * C + j]);
    if (!labels) return;
    h->forwards++;
    p->lambda = fmax(p->lambda_min, p->base * pow(1 + p->gamma * (double)h->forwards, -p->power));
    for (int i = 0; i < h->N; i++) {
        size_t k = (size_t)i * C + labels[i];
        double c = p->n.cos[k], dpsi, psi = tl_margin_psi(&dpsi, c, p->m);
        p->hy[i] = (p->lambda * c + psi) / (1 + p->lambda);
        p->dhy[i] = (p->lambda + dpsi) / (1 + p->lambda);
        logits[k] = (float)(rho(p, i, labels[i]) * p->hy[i]);
    }
}

static void sphere_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                            const int *labels, const float *params) {
    sphere_priv *p = h->priv;
    int N = h->N, C = h->C;
    tl_normed *n = &p->n;
    for (int j = 0; j < C; j++) n->gw[j] = 0;
    for (int i = 0; i < N; i++) {
        n->gx[i] = 0;
        for (int j = 0; j < C; j++) {
            size_t k = (size_t)i * C + j;
            int target = labels && j == labels[i];
            double hv = target ? p->hy[i] : n->cos[k], dh = target ? p->dhy[i] : 1, r = rho(p, i, j);
            n->g[k] = dlogits[k] * r * dh;
            n->gx[i] += dlogits[k] * hv * r / n->xnorm[i];    /* ∂z/∂‖x‖ = ρ h / ‖x‖ */
            if (p->raw) n->gw[j] += dlogits[k] * hv * r / n->wnorm[j];
        }
    }
    tl_normed_backward(n, dfeat, grads + p->w, 1);
}

static void sphere_destroy(tl_head *h) {
    sphere_priv *p = h->priv;
    if (!p) return;
    tl_normed_free(&p->n);
    free(p->hy); free(p->dhy);
    free(p);
}

const tl_head_ops tl_head_lsoftmax = {.name = "lsoftmax", .create = lsoftmax_create, .forward = sphere_forward,
    .backward = sphere_backward, .destroy = sphere_destroy,
    .keys = "m=4,base=1000,gamma=0.12,power=1,lambda_min=5",
    .help = "L-Softmax: multiplicative angular margin m on the target, blended with the plain logit by λ = max(lambda_min, base·(1 + gamma·t)^-power)"};
const tl_head_ops tl_head_sphereface = {.name = "sphereface", .create = sphereface_create, .forward = sphere_forward,
    .backward = sphere_backward, .destroy = sphere_destroy,
    .keys = "m=4,base=1000,gamma=0.12,power=1,lambda_min=5",
    .help = "A-Softmax (SphereFace): L-Softmax with normalised weights"};
