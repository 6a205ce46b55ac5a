/* The shared machinery of heads built on cosines between features and class vectors (docs/methods.md
 * §0.4), in double precision: the inputs are float32, but angles near 0 and π amplify rounding
 * (dθ/dc = −1/sinθ), so norms, cosines, margins and their gradients are all computed in double and
 * rounded once at the output.
 *   forward:  x̂_i = x_i/max(‖x_i‖, ε), ŵ_c = w_c/max(‖w_c‖, ε) (F.normalize, ε = 1e-12),
 *             cos[i,c] = x̂_i·ŵ_c
 *   backward: given g = ∂L/∂cos [N,C] and the radial parts gx = ∂L/∂‖x_i‖ [N], gw = ∂L/∂‖w_c‖ [C]
 *             (heads that scale by the norms, as L-Softmax and SphereFace do),
 *             ∂L/∂x_i = (dx̂_i − (dx̂_i·x̂_i) x̂_i)/‖x_i‖ + gx_i x̂_i with dx̂ = g·Ŵ, and likewise for w
 *             with dŵ = gᵀ·X̂ (the normalize VJP of §0.2). */
#ifndef TL_HEADS_NORMED_H
#define TL_HEADS_NORMED_H

typedef struct {
    int N, C, D;
    double *xhat, *xnorm;   /* [N, D], [N] (the clamped norm max(‖x‖, ε)) */
    double *what, *wnorm;   /* [C, D], [C] */
    double *cos;            /* [N, C] */
    double *g, *gx, *gw;    /* backward inputs, filled by the head: [N, C], [N], [C] */
    double *dxhat, *dwhat;  /* scratch [N, D], [C, D] */
    const double *dwhat_extra; /* optional [C, D] added to ∂L/∂ŵ before the weight VJP (NULL: none) */
} tl_normed;

/* Allocates for N samples, C class vectors of dimension D. Returns 0, or -1 (out of memory; free with
 * tl_normed_free either way). */
int tl_normed_init(tl_normed *n, int N, int C, int D);
void tl_normed_free(tl_normed *n);
/* Fills xhat, xnorm, what, wnorm and cos from feat [N, D] and w [C, D]. */
void tl_normed_forward(tl_normed *n, const float *feat, const float *w);
/* Fills only what and wnorm from w [C, D]. */
void tl_normed_weights(tl_normed *n, const float *w);
/* Accumulates dfeat [N, D] (may be NULL) and dw [C, D] from n->g, and from n->gx and n->gw when
 * radial is set. */
void tl_normed_backward(tl_normed *n, float *dfeat, float *dw, int radial);
/* The logits every cosine head gives at inference: logits[i,c] = s·cos[i,c]. */
void tl_normed_scaled(float *logits, const tl_normed *n, double s);

#endif
