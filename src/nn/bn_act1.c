/* The fused BN + residual + ReLU of bn_act.c for HW = 1 (BatchNorm1d on [N, C] rows: the mlp's
 * hidden layers, the cnn's feature BN). bn_act.c walks one channel at a time, which for HW = 1 is a
 * strided walk with per-element call and setup costs; here a block of channels is walked row by row
 * (contiguous, vectorised across channels), with per-channel accumulators on the stack.
 *
 * Bitwise the same as bn_act.c's loops at HW = 1: each channel's sums run over n in the same order
 * into the one double lane bn_act.c uses (its other lanes stay 0 and add nothing), scale and shift
 * come from tl_bn_affine, and the element formulas are the same expressions (no FP contraction in
 * ISO C mode). One OpenMP task per block of channels, each the only writer of its channels. */
#include <math.h>
#include "nn/nn.h"
#include "nn/reduce.h"

#define TL_BN1_BLOCK 64
/* Below this many values the whole layer is one task (a parallel region costs more than it saves). */
#define TL_BN1_PARALLEL 32768

static int nblocks(int C) { return (C + TL_BN1_BLOCK - 1) / TL_BN1_BLOCK; }

/* y[j] = act(x[j]·sc[j] + sh[j] (+ r[j])) over one row's block, as plane() of bn_act.c. */
static inline void row_apply(float *restrict y, const float *restrict x, const float *restrict r, int len,
                             const float *restrict sc, const float *restrict sh, int relu) {
    if (r && relu) for (int j = 0; j < len; j++) { float v = x[j] * sc[j] + sh[j] + r[j]; y[j] = v < 0.0f ? 0.0f : v; }
    else if (r) for (int j = 0; j < len; j++) y[j] = x[j] * sc[j] + sh[j] + r[j];
    else if (relu) for (int j = 0; j < len; j++) { float v = x[j] * sc[j] + sh[j]; y[j] = v < 0.0f ? 0.0f : v; }
    else for (int j = 0; j < len; j++) y[j] = x[j] * sc[j] + sh[j];
}

/* The gated upstream gradient of one row's block, as gate() of bn_act.c. */
static inline void row_gate(float *restrict g, const float *restrict dy, const float *restrict x,
                            const float *restrict y, int len, const float *restrict sc, const float *restrict sh,
                            int relu) {
    if (!relu) for (int j = 0; j < len; j++) g[j] = dy[j];
    else if (y) for (int j = 0; j < len; j++) g[j] = y[j] > 0.0f ? dy[j] : 0.0f;
    else for (int j = 0; j < len; j++) g[j] = x[j] * sc[j] + sh[j] > 0.0f ? dy[j] : 0.0f;
}

/* Block b's channels [c0, c0 + len). */
static inline void block(int C, int b, int *c0, int *len) {
    *c0 = b * TL_BN1_BLOCK;
    *len = C - *c0 < TL_BN1_BLOCK ? C - *c0 : TL_BN1_BLOCK;
}

/* Block [c0, c0 + len)'s Σx (or, with mu, Σ(x - mu)²) per channel over the N rows, into s. */
static inline void block_sums(double *restrict s, const float *inp, const double *mu, int N, int C, int c0, int len) {
    for (int j = 0; j < len; j++) s[j] = 0;
    for (int n = 0; n < N; n++) {
        const float *restrict x = inp + (size_t)n * C + c0;
        if (mu) for (int j = 0; j < len; j++) { double d = (double)x[j] - mu[j]; s[j] += d * d; }
        else for (int j = 0; j < len; j++) s[j] += (double)x[j];
    }
}

/* The block's statistics from its sums (s: Σx, q: Σ(x - mean)², over M values), the running update,
 * then its rows. */
static inline void block_finish(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                                const float *inp, const float *res, const float *gamma, const float *beta,
                                const double *mu, const double *q, double M, int N, int C, int c0, int len,
                                float eps, float momentum, int relu) {
    float sc[TL_BN1_BLOCK], sh[TL_BN1_BLOCK];
    for (int j = 0; j < len; j++) {
        int c = c0 + j;
        double var = q[j] / M;
        mean[c] = (float)mu[j];
        invstd[c] = (float)(1.0 / sqrt(var + (double)eps));
        tl_bn_running_update(&run_mean[c], &run_var[c], mu[j], var, M, momentum);
        tl_bn_affine(&sc[j], &sh[j], mean[c], invstd[c], gamma[c], beta[c]);
    }
    for (int n = 0; n < N; n++) {
        size_t off = (size_t)n * C + c0;
        row_apply(out + off, inp + off, res ? res + off : NULL, len, sc, sh, relu);
    }
}

void tl_bn_act1_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                              const float *inp, const float *res, const float *gamma, const float *beta,
                              int N, int C, float eps, float momentum, int relu, int nthreads) {
    const int par = (size_t)N * C > TL_BN1_PARALLEL;
    if (tl_batch_sync_get()) {
        /* Synchronised (nn.h): every block's sums, then the processes', then the statistics. */
        double *s = tl_batch_sync_get()->scratch, *q = s + C;
        #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
        for (int b = 0; b < nblocks(C); b++) {
            int c0, len;
            block(C, b, &c0, &len);
            block_sums(s + c0, inp, NULL, N, C, c0, len);
        }
        const double M = (double)N * tl_batch_sum(s, (size_t)C);
        for (int c = 0; c < C; c++) s[c] /= M;   /* s now holds the means */
        #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
        for (int b = 0; b < nblocks(C); b++) {
            int c0, len;
            block(C, b, &c0, &len);
            block_sums(q + c0, inp, s + c0, N, C, c0, len);
        }
        tl_batch_sum(q, (size_t)C);
        #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
        for (int b = 0; b < nblocks(C); b++) {
            int c0, len;
            block(C, b, &c0, &len);
            block_finish(out, mean, invstd, run_mean, run_var, inp, res, gamma, beta, s + c0, q + c0, M, N, C, c0, len,
                         eps, momentum, relu);
        }
        return;
    }
    const double M = (double)N;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
    for (int b = 0; b < nblocks(C); b++) {
        int c0, len;
        block(C, b, &c0, &len);
        double s[TL_BN1_BLOCK], q[TL_BN1_BLOCK], mu[TL_BN1_BLOCK];
        block_sums(s, inp, NULL, N, C, c0, len);
        for (int j = 0; j < len; j++) mu[j] = s[j] / M;
        block_sums(q, inp, mu, N, C, c0, len);
        block_finish(out, mean, invstd, run_mean, run_var, inp, res, gamma, beta, mu, q, M, N, C, c0, len, eps, momentum,
                     relu);
    }
}

/* Rows through the per-channel affine of (mean, invstd), or with run_var given, of the running
 * statistics (invstd = tl_bn_run_invstd(run_var, eps)). */
static void apply_rows(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                       const float *run_var, float eps, const float *gamma, const float *beta, int N, int C,
                       int relu, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C > TL_BN1_PARALLEL)
    for (int b = 0; b < nblocks(C); b++) {
        int c0, len;
        block(C, b, &c0, &len);
        float sc[TL_BN1_BLOCK], sh[TL_BN1_BLOCK];
        for (int j = 0; j < len; j++) {
            int c = c0 + j;
            tl_bn_affine(&sc[j], &sh[j], mean[c], run_var ? tl_bn_run_invstd(run_var[c], eps) : invstd[c], gamma[c],
                         beta[c]);
        }
        for (int n = 0; n < N; n++) {
            size_t off = (size_t)n * C + c0;
            row_apply(out + off, inp + off, res ? res + off : NULL, len, sc, sh, relu);
        }
    }
}

void tl_bn_act1_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                      const float *gamma, const float *beta, int N, int C, int relu, int nthreads) {
    apply_rows(out, inp, res, mean, invstd, NULL, 0, gamma, beta, N, C, relu, nthreads);
}

void tl_bn_act1_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                             const float *run_mean, const float *run_var, int N, int C, float eps, int relu,
                             int nthreads) {
    apply_rows(out, inp, res, run_mean, NULL, run_var, eps, gamma, beta, N, C, relu, nthreads);
}

/* The block's affine from the saved statistics (the forward's scale and shift). */
static inline void block_affine(float *sc, float *sh, const float *mean, const float *invstd, const float *gamma,
                                const float *beta, int c0, int len) {
    for (int j = 0; j < len; j++) tl_bn_affine(&sc[j], &sh[j], mean[c0 + j], invstd[c0 + j], gamma[c0 + j], beta[c0 + j]);
}

/* Σg (a1) and Σg·(x - mean) (a2) per channel of the block; dres gets g on the way, dbeta and
 * dgamma this batch's sums. */
static inline void block_grad_sums(double *restrict a1, double *restrict a2, float *dres, float *dgamma, float *dbeta,
                                   const float *dout, const float *inp, const float *out, const float *mean,
                                   const float *invstd, const float *gamma, const float *beta, int N, int C, int c0,
                                   int len, int relu, int overwrite) {
    float sc[TL_BN1_BLOCK], sh[TL_BN1_BLOCK], g[TL_BN1_BLOCK];
    const float *mu = mean + c0;
    block_affine(sc, sh, mean, invstd, gamma, beta, c0, len);
    for (int j = 0; j < len; j++) a1[j] = a2[j] = 0;
    for (int n = 0; n < N; n++) {
        size_t off = (size_t)n * C + c0;
        const float *restrict x = inp + off;
        row_gate(g, dout + off, x, out ? out + off : NULL, len, sc, sh, relu);
        for (int j = 0; j < len; j++) {
            a1[j] += (double)g[j];
            a2[j] += (double)g[j] * ((double)x[j] - (double)mu[j]);
        }
        if (dres) tl_add_or_set(dres + off, g, len, overwrite);
    }
    for (int j = 0; j < len; j++) {
        if (dbeta) dbeta[c0 + j] += (float)a1[j];
        if (dgamma) dgamma[c0 + j] += (float)(a2[j] * invstd[c0 + j]);
    }
}

/* dx of the block from the sums a1, a2 over M values: gf·g - gk·(x - mean) - gm, as bn_act.c. */
static inline void block_grad_dx(float *dinp, const double *a1, const double *a2, double M, const float *dout,
                                 const float *inp, const float *out, const float *mean, const float *invstd,
                                 const float *gamma, const float *beta, int N, int C, int c0, int len, int relu,
                                 int overwrite) {
    float sc[TL_BN1_BLOCK], sh[TL_BN1_BLOCK], g[TL_BN1_BLOCK], gf[TL_BN1_BLOCK], gk[TL_BN1_BLOCK], gm[TL_BN1_BLOCK];
    const float *mu = mean + c0;
    block_affine(sc, sh, mean, invstd, gamma, beta, c0, len);
    for (int j = 0; j < len; j++) {
        int c = c0 + j;
        double is = invstd[c], gd = gamma[c] * is;
        gf[j] = (float)gd;
        gk[j] = (float)(gd * a2[j] * is * is / M);
        gm[j] = (float)(gd * a1[j] / M);
    }
    for (int n = 0; n < N; n++) {
        size_t off = (size_t)n * C + c0;
        const float *restrict x = inp + off;
        float *restrict dx = dinp + off;
        row_gate(g, dout + off, x, out ? out + off : NULL, len, sc, sh, relu);
        if (overwrite) for (int j = 0; j < len; j++) dx[j] = gf[j] * g[j] - gk[j] * (x[j] - mu[j]) - gm[j];
        else for (int j = 0; j < len; j++) dx[j] += gf[j] * g[j] - gk[j] * (x[j] - mu[j]) - gm[j];
    }
}

void tl_bn_act1_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                         const float *out, const float *mean, const float *invstd, const float *gamma,
                         const float *beta, int N, int C, int relu, int overwrite, int nthreads) {
    const int par = (size_t)N * C > TL_BN1_PARALLEL;
    if (tl_batch_sync_get()) {
        /* Synchronised (nn.h): every block's sums, then the processes', then dx. */
        double *a1 = tl_batch_sync_get()->scratch, *a2 = a1 + C;
        #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
        for (int b = 0; b < nblocks(C); b++) {
            int c0, len;
            block(C, b, &c0, &len);
            block_grad_sums(a1 + c0, a2 + c0, dres, dgamma, dbeta, dout, inp, out, mean, invstd, gamma, beta, N, C, c0,
                            len, relu, overwrite);
        }
        const double M = (double)N * tl_batch_sum(a1, 2 * (size_t)C);
        if (!dinp) return;
        #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
        for (int b = 0; b < nblocks(C); b++) {
            int c0, len;
            block(C, b, &c0, &len);
            block_grad_dx(dinp, a1 + c0, a2 + c0, M, dout, inp, out, mean, invstd, gamma, beta, N, C, c0, len, relu,
                          overwrite);
        }
        return;
    }
    const double M = (double)N;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if (par)
    for (int b = 0; b < nblocks(C); b++) {
        int c0, len;
        block(C, b, &c0, &len);
        double a1[TL_BN1_BLOCK], a2[TL_BN1_BLOCK];
        block_grad_sums(a1, a2, dres, dgamma, dbeta, dout, inp, out, mean, invstd, gamma, beta, N, C, c0, len, relu,
                        overwrite);
        if (dinp)
            block_grad_dx(dinp, a1, a2, M, dout, inp, out, mean, invstd, gamma, beta, N, C, c0, len, relu, overwrite);
    }
}

void tl_bn_act1_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                              const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                              int N, int C, float eps, int relu, int overwrite, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C > TL_BN1_PARALLEL)
    for (int b = 0; b < nblocks(C); b++) {
        int c0, len;
        block(C, b, &c0, &len);
        float sc[TL_BN1_BLOCK], sh[TL_BN1_BLOCK], g[TL_BN1_BLOCK];
        for (int j = 0; j < len; j++)
            tl_bn_affine(&sc[j], &sh[j], run_mean[c0 + j], tl_bn_run_invstd(run_var[c0 + j], eps), gamma[c0 + j],
                         beta[c0 + j]);
        for (int n = 0; n < N; n++) {
            size_t off = (size_t)n * C + c0;
            row_gate(g, dout + off, inp + off, out ? out + off : NULL, len, sc, sh, relu);
            if (dres) tl_add_or_set(dres + off, g, len, overwrite);
            if (dinp) {
                for (int j = 0; j < len; j++) g[j] *= sc[j];
                tl_add_or_set(dinp + off, g, len, overwrite);
            }
        }
    }
}
