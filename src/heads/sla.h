/* SLA, self-supervised label augmentation (Lee, Hwang, Shin, ICML 2020, arXiv 1910.05872; docs/methods.md
 * §11): the kernels of the `sla` head (src/heads/sla.c), shared with the tests and tools. Each image
 * i becomes M = 4 rows i·M + t, the image rotated by t·90°; the joint label of row (i, t) is
 * y_i·M + t (class-major), so joint logits J are [N·M, C·M]. */
#ifndef TL_HEADS_SLA_H
#define TL_HEADS_SLA_H
#include "heads/head.h"
#include "tailor.h"

#define TL_SLA_M 4

/* rows [N·M, c, H, H]: row i·M + t = torch.rot90(images[i], t, dims=(1, 2)) of images [N, c, H, H]. */
void tl_sla_expand(float *rows, const float *images, int N, int c, int H);

/* z [N, C] from the joint logits J [N·M, C·M]. t < 0: the aggregate z_ic = (1/M) Σ_t J[i·M+t, c·M+t]
 * (SLA+AG inference); t in 0..M−1: that rotation's own columns, z_ic = J[i·M+t, c·M+t] (t = 0: SLA+SI). */
void tl_sla_aggregate(float *z, const float *J, int N, int C, int t);
/* Its adjoint for the same t: dJ[i·M+s, c·M+s] += w_s·dz[i,c], w_s = 1/M (t < 0) or 1[s = t]. */
void tl_sla_aggregate_backward(float *dJ, const float *dz, int N, int C, int t);

/* L_SLA = scale·(1/(N·M)) Σ_{i,t} CE(J_{i·M+t}, y_i·M + t); writes dJ = ∂L/∂J (when not NULL).
 * scale: 1, or M with large_loss. torch: scale·F.cross_entropy(J, (y[:, None]·M + arange(M)).flatten()). */
double tl_sla_joint_loss(float *dJ, const float *J, const int *y, int N, int C, double scale);

/* SLA+SD (§11.3) on the distilled head's logits h [N, C] with the aggregate zbar [N, C] as a constant
 * target: L = (1/N) Σ_i CE(h_i, y_i) + T²·(1/N) Σ_i KL(softmax(zbar_i/T) ‖ softmax(h_i/T)); writes
 * dh = ∂L/∂h = (softmax(h) − onehot(y))/N + (T/N)(softmax(h/T) − softmax(zbar/T)). NAN when out of
 * memory. torch: F.cross_entropy(h, y) + T²·F.kl_div(F.log_softmax(h/T), F.softmax(zbar/T), 'batchmean'). */
double tl_sla_sd_loss(float *dh, const float *h, const float *zbar, const int *y, int N, int C, double T);

/* The class logits an sla head gives at inference (training forwards always give the aggregate, or
 * h with sd=1): */
enum {
    TL_SLA_AGG,     /* aggregated over the rotations (default without sd) */
    TL_SLA_SINGLE,  /* the unrotated image's rotation-0 columns */
    TL_SLA_SD       /* the distilled head h on the unrotated image (default with sd=1) */
};
/* Sets the inference of an sla head (tailor eval --posthoc sla:infer=). Returns 0, or -1 when h is not
 * an sla head or has no distilled head for TL_SLA_SD. */
int tl_sla_set_inference(tl_head *h, int mode, tl_error *err);

#endif
