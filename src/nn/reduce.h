/* Fixed-order sums for the layer kernels. Eight independent double lanes let the compiler vectorise
 * without reassociating; the lanes are combined in one fixed order at the end, so a sum depends only
 * on the data, never on the thread count. Accumulating in double keeps batch statistics accurate
 * (PyTorch's CPU kernels also accumulate float in double). */
#ifndef TL_NN_REDUCE_H
#define TL_NN_REDUCE_H
#include <math.h>

#define TL_LANES 8

/* acc[k] += Σ x[i] over the i ≡ k (mod 8) of x[0..n); several rows can feed one acc. */
static inline void tl_lanes_sum(double *restrict acc, const float *restrict x, int n) {
    int i = 0;
    for (; i + TL_LANES <= n; i += TL_LANES)
        for (int k = 0; k < TL_LANES; k++) acc[k] += (double)x[i + k];
    for (int k = 0; i < n; i++, k++) acc[k] += (double)x[i];
}

/* acc[k] += Σ (x[i] - mu)² */
static inline void tl_lanes_sqdev(double *restrict acc, const float *restrict x, int n, double mu) {
    int i = 0;
    for (; i + TL_LANES <= n; i += TL_LANES)
        for (int k = 0; k < TL_LANES; k++) { double d = (double)x[i + k] - mu; acc[k] += d * d; }
    for (int k = 0; i < n; i++, k++) { double d = (double)x[i] - mu; acc[k] += d * d; }
}

/* acc[k] += Σ y[i] · (x[i] - mu) */
static inline void tl_lanes_dotdev(double *restrict acc, const float *restrict y, const float *restrict x,
                                   int n, double mu) {
    int i = 0;
    for (; i + TL_LANES <= n; i += TL_LANES)
        for (int k = 0; k < TL_LANES; k++) acc[k] += (double)y[i + k] * ((double)x[i + k] - mu);
    for (int k = 0; i < n; i++, k++) acc[k] += (double)y[i] * ((double)x[i] - mu);
}

/* The lanes' total, pairwise in a fixed order. */
static inline double tl_lanes_total(const double *acc) {
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

/* Training-mode BatchNorm statistics of channel c of x [N, C, HW]: the batch mean and the biased
 * variance (two passes, fixed order), and PyTorch's running-statistics update with the unbiased
 * variance. Shared by batchnorm.c and bn_act.c so both normalise with identical numbers. */
/* The two passes apart (synchronised BN adds each over the processes): Σx, then Σ(x - mu)². */
static inline double tl_bn_channel_sum(const float *x, int N, int C, int HW, int c) {
    double acc[TL_LANES] = {0};
    for (int n = 0; n < N; n++) tl_lanes_sum(acc, x + ((size_t)n * C + c) * HW, HW);
    return tl_lanes_total(acc);
}

static inline double tl_bn_channel_sqdev(const float *x, int N, int C, int HW, int c, double mu) {
    double acc[TL_LANES] = {0};
    for (int n = 0; n < N; n++) tl_lanes_sqdev(acc, x + ((size_t)n * C + c) * HW, HW, mu);
    return tl_lanes_total(acc);
}

static inline void tl_bn_channel_stats(double *mu, double *var, const float *x, int N, int C, int HW, int c) {
    const double M = (double)N * HW;
    *mu = tl_bn_channel_sum(x, N, C, HW, c) / M;
    *var = tl_bn_channel_sqdev(x, N, C, HW, c, *mu) / M;
}

static inline void tl_bn_running_update(float *run_mean, float *run_var, double mu, double var, double M,
                                        float momentum) {
    *run_mean = (float)((1.0 - momentum) * *run_mean + (double)momentum * mu);
    *run_var = (float)((1.0 - momentum) * *run_var + (double)momentum * var * M / (M - 1.0));
}

/* The normalisation as x·scale + shift, from the float mean/invstd in one place, so that every
 * kernel that recomputes a BN output gets the forward's values bit for bit. */
static inline void tl_bn_affine(float *scale, float *shift, float mean, float invstd, float gamma, float beta) {
    double s = (double)gamma * invstd;
    *scale = (float)s;
    *shift = (float)((double)beta - (double)mean * s);
}

/* d += g, or d = g when overwriting (a gradient's first writer: no zeroing pass needed). */
static inline void tl_add_or_set(float *restrict d, const float *restrict g, int n, int overwrite) {
    if (overwrite) for (int i = 0; i < n; i++) d[i] = g[i];
    else for (int i = 0; i < n; i++) d[i] += g[i];
}

/* invstd from the running variance, in float as the training path saves it. */
static inline float tl_bn_run_invstd(float run_var, float eps) {
    return (float)(1.0 / sqrt((double)run_var + (double)eps));
}

#endif
