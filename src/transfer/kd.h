/* The distillation losses of docs/methods.md §10, as plain kernels (values and gradients), shared by the
 * --distill hooks and checked against PyTorch in tests/parity. */
#ifndef TL_TRANSFER_KD_H
#define TL_TRANSFER_KD_H
#include <stddef.h>

/* Hinton KD (§10.1): L = T²·(1/N) Σ_i KL(softmax(zt_i/T) ‖ softmax(zs_i/T)) over N rows of C logits,
 * terms with p_t = 0 contributing 0. Accumulates w·∂L/∂zs = w·(T/N)(p_s − p_t) into dzs (may be NULL)
 * and returns L (unweighted). torch: F.kl_div(F.log_softmax(zs/T), F.softmax(zt/T), reduction='batchmean')·T². */
double tl_kd_loss(float *dzs, const float *zs, const float *zt, int N, int C, double T, double w);

/* The RKD losses below compute in a caller-owned work area of tl_rkd_work_doubles(N, Ds, Dt) doubles
 * (made once at set-up: a training step allocates nothing). */
size_t tl_rkd_work_doubles(int N, int Ds, int Dt);

/* RKD distance-wise (§10.2): pairwise distances of S [N, Ds] and T [N, Dt], each divided by its mean
 * positive distance, compared with the Huber loss (β = 1), mean over all N² entries. Accumulates
 * w·∂L/∂S into dS (may be NULL) and returns L. */
double tl_rkd_distance(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w, double *work);

/* RKD angle-wise (§10.2): cosines of the angles at every vertex i between e_j − e_i and e_k − e_i,
 * Huber loss, mean over all N³ triples. Accumulates w·∂L/∂S into dS (may be NULL) and returns L. */
double tl_rkd_angle(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w, double *work);

/* Row-wise L2 normalisation y = x/‖x‖ of N rows of D (‖x‖ clamped at 1e-12, F.normalize), and its
 * backward: dx += (dy − (dy·y)y)/‖x‖. */
void tl_l2_normalize_rows(float *y, const float *x, int N, int D);
void tl_l2_normalize_rows_backward(float *dx, const float *dy, const float *x, int N, int D);

#endif
