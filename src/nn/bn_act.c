/* Fused batch normalisation + optional residual add + optional ReLU over [N, C, HW]:
 * y = act(bn(x) + r). One pass writes y instead of three (BN, add, ReLU), and the backward needs
 * only x and the saved statistics: the ReLU mask is recomputed from x when there is no residual, or
 * read from y when there is one. The normalisation is x·scale + shift with per-channel scale and
 * shift derived from float mean/invstd in one place (tl_bn_affine, nn/reduce.h), so recomputing y during the
 * backward pass gives the forward's values bit for bit. Statistics are two-pass in double lanes, in
 * a fixed order; one OpenMP task per channel in training, per (n, c) plane in evaluation. HW = 1
 * (BatchNorm1d) goes to the row kernels of bn_act1.c, which give the same bits. */
#include <math.h>
#include "nn/nn.h"
#include "nn/reduce.h"

/* One plane: y = act(x·scale + shift (+ r)); v < 0 ? 0 : v lets a NaN through as torch.relu does. */
static inline void plane(float *restrict y, const float *restrict x, const float *restrict r, int HW, float scale,
                         float shift, int relu) {
    if (r && relu) for (int i = 0; i < HW; i++) { float v = x[i] * scale + shift + r[i]; y[i] = v < 0.0f ? 0.0f : v; }
    else if (r) for (int i = 0; i < HW; i++) y[i] = x[i] * scale + shift + r[i];
    else if (relu) for (int i = 0; i < HW; i++) { float v = x[i] * scale + shift; y[i] = v < 0.0f ? 0.0f : v; }
    else for (int i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
}

/* Planes are walked in chunks of this many values, so the gated gradient fits on the stack. */
#define TL_BN_CHUNK 512

/* The upstream gradient after the ReLU: g = dy where the output is positive, else 0 (mask from y
 * when given, else from the recomputed x·scale + shift). Without ReLU, g = dy. */
static inline void gate(float *restrict g, const float *restrict dy, const float *restrict x, const float *restrict y,
                        int n, float scale, float shift, int relu) {
    if (!relu) for (int i = 0; i < n; i++) g[i] = dy[i];
    else if (y) for (int i = 0; i < n; i++) g[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    else for (int i = 0; i < n; i++) g[i] = x[i] * scale + shift > 0.0f ? dy[i] : 0.0f;
}

/* Channel c's statistics (mean mu, biased variance var over M values), the running update, then
 * its planes. */
static inline void channel_finish(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                                  const float *inp, const float *res, const float *gamma, const float *beta, double mu,
                                  double var, double M, int N, int C, int HW, int c, float eps, float momentum,
                                  int relu) {
    mean[c] = (float)mu;
    invstd[c] = (float)(1.0 / sqrt(var + (double)eps));
    tl_bn_running_update(&run_mean[c], &run_var[c], mu, var, M, momentum);
    float scale, shift;
    tl_bn_affine(&scale, &shift, mean[c], invstd[c], gamma[c], beta[c]);
    for (int n = 0; n < N; n++) {
        size_t off = ((size_t)n * C + c) * HW;
        plane(out + off, inp + off, res ? res + off : NULL, HW, scale, shift, relu);
    }
}

void tl_bn_act_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                             const float *inp, const float *res, const float *gamma, const float *beta,
                             int N, int C, int HW, float eps, float momentum, int relu, int nthreads) {
    if (HW == 1) {
        tl_bn_act1_forward_train(out, mean, invstd, run_mean, run_var, inp, res, gamma, beta, N, C, eps, momentum, relu,
                                 nthreads);
        return;
    }
    if (tl_batch_sync_get()) {
        /* Synchronised (nn.h): every channel's sums, then the processes', then the statistics. */
        double *mu = tl_batch_sync_get()->scratch, *var = mu + C;
        #pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int c = 0; c < C; c++) mu[c] = tl_bn_channel_sum(inp, N, C, HW, c);
        const double M = (double)N * HW * tl_batch_sum(mu, (size_t)C);
        #pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int c = 0; c < C; c++) {
            mu[c] /= M;
            var[c] = tl_bn_channel_sqdev(inp, N, C, HW, c, mu[c]);
        }
        tl_batch_sum(var, (size_t)C);
        #pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int c = 0; c < C; c++)
            channel_finish(out, mean, invstd, run_mean, run_var, inp, res, gamma, beta, mu[c], var[c] / M, M, N, C, HW,
                           c, eps, momentum, relu);
        return;
    }
    const double M = (double)N * HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int c = 0; c < C; c++) {
        double mu, var;
        tl_bn_channel_stats(&mu, &var, inp, N, C, HW, c);
        channel_finish(out, mean, invstd, run_mean, run_var, inp, res, gamma, beta, mu, var, M, N, C, HW, c, eps,
                       momentum, relu);
    }
}

void tl_bn_act_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                     const float *gamma, const float *beta, int N, int C, int HW, int relu, int nthreads) {
    if (HW == 1) { tl_bn_act1_apply(out, inp, res, mean, invstd, gamma, beta, N, C, relu, nthreads); return; }
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int c = (int)(p % (size_t)C);
        float scale, shift;
        tl_bn_affine(&scale, &shift, mean[c], invstd[c], gamma[c], beta[c]);
        plane(out + p * HW, inp + p * HW, res ? res + p * HW : NULL, HW, scale, shift, relu);
    }
}

void tl_bn_act_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                            const float *run_mean, const float *run_var, int N, int C, int HW, float eps, int relu,
                            int nthreads) {
    if (HW == 1) { tl_bn_act1_forward_eval(out, inp, res, gamma, beta, run_mean, run_var, N, C, eps, relu, nthreads); return; }
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int c = (int)(p % (size_t)C);
        float scale, shift;
        tl_bn_affine(&scale, &shift, run_mean[c], tl_bn_run_invstd(run_var[c], eps), gamma[c], beta[c]);
        plane(out + p * HW, inp + p * HW, res ? res + p * HW : NULL, HW, scale, shift, relu);
    }
}

/* Σg (*sg) and Σg·(x - mean) (*sgx) of channel c; dres gets g on the way, dbeta and dgamma this
 * batch's sums. */
static inline void channel_grad_sums(double *sg, double *sgx, float *dres, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *out, const float *mean,
                                     const float *invstd, const float *gamma, const float *beta, int N, int C, int HW,
                                     int c, int relu, int overwrite) {
    const float mu = mean[c];
    float scale, shift, g[TL_BN_CHUNK];
    tl_bn_affine(&scale, &shift, mu, invstd[c], gamma[c], beta[c]);
    double a1[TL_LANES] = {0}, a2[TL_LANES] = {0};
    for (int n = 0; n < N; n++)
        for (int i0 = 0; i0 < HW; i0 += TL_BN_CHUNK) {
            size_t off = ((size_t)n * C + c) * HW + i0;
            int len = HW - i0 < TL_BN_CHUNK ? HW - i0 : TL_BN_CHUNK;
            gate(g, dout + off, inp + off, out ? out + off : NULL, len, scale, shift, relu);
            tl_lanes_sum(a1, g, len);
            tl_lanes_dotdev(a2, g, inp + off, len, mu);
            if (dres) tl_add_or_set(dres + off, g, len, overwrite);
        }
    *sg = tl_lanes_total(a1);
    *sgx = tl_lanes_total(a2);
    if (dbeta) dbeta[c] += (float)*sg;
    if (dgamma) dgamma[c] += (float)(*sgx * (double)invstd[c]);
}

/* dx of channel c from the sums over M values: gamma·invstd·(g - Σg/M - xh·Σ(g·xh)/M) = gf·g -
 * gk·(x - mean) - gm. */
static inline void channel_grad_dx(float *dinp, double sg, double sgx, double M, const float *dout, const float *inp,
                                   const float *out, const float *mean, const float *invstd, const float *gamma,
                                   const float *beta, int N, int C, int HW, int c, int relu, int overwrite) {
    const float mu = mean[c];
    const double is = invstd[c];
    float scale, shift, g[TL_BN_CHUNK];
    tl_bn_affine(&scale, &shift, mu, invstd[c], gamma[c], beta[c]);
    const double gd = gamma[c] * is;
    const float gf = (float)gd, gk = (float)(gd * sgx * is * is / M), gm = (float)(gd * sg / M);
    for (int n = 0; n < N; n++)
        for (int i0 = 0; i0 < HW; i0 += TL_BN_CHUNK) {
            size_t off = ((size_t)n * C + c) * HW + i0;
            int len = HW - i0 < TL_BN_CHUNK ? HW - i0 : TL_BN_CHUNK;
            gate(g, dout + off, inp + off, out ? out + off : NULL, len, scale, shift, relu);
            const float *restrict x = inp + off;
            float *restrict dx = dinp + off;
            if (overwrite) for (int i = 0; i < len; i++) dx[i] = gf * g[i] - gk * (x[i] - mu) - gm;
            else for (int i = 0; i < len; i++) dx[i] += gf * g[i] - gk * (x[i] - mu) - gm;
        }
}

void tl_bn_act_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                        const float *out, const float *mean, const float *invstd, const float *gamma,
                        const float *beta, int N, int C, int HW, int relu, int overwrite, int nthreads) {
    if (HW == 1) {
        tl_bn_act1_backward(dinp, dres, dgamma, dbeta, dout, inp, out, mean, invstd, gamma, beta, N, C, relu, overwrite,
                            nthreads);
        return;
    }
    if (tl_batch_sync_get()) {
        /* Synchronised (nn.h): every channel's sums, then the processes', then dx. */
        double *sg = tl_batch_sync_get()->scratch, *sgx = sg + C;
        #pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int c = 0; c < C; c++)
            channel_grad_sums(&sg[c], &sgx[c], dres, dgamma, dbeta, dout, inp, out, mean, invstd, gamma, beta, N, C, HW,
                              c, relu, overwrite);
        const double M = (double)N * HW * tl_batch_sum(sg, 2 * (size_t)C);
        if (!dinp) return;
        #pragma omp parallel for num_threads(nthreads) schedule(static)
        for (int c = 0; c < C; c++)
            channel_grad_dx(dinp, sg[c], sgx[c], M, dout, inp, out, mean, invstd, gamma, beta, N, C, HW, c, relu,
                            overwrite);
        return;
    }
    const double M = (double)N * HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int c = 0; c < C; c++) {
        double sg, sgx;
        channel_grad_sums(&sg, &sgx, dres, dgamma, dbeta, dout, inp, out, mean, invstd, gamma, beta, N, C, HW, c, relu,
                          overwrite);
        if (dinp)
            channel_grad_dx(dinp, sg, sgx, M, dout, inp, out, mean, invstd, gamma, beta, N, C, HW, c, relu, overwrite);
    }
}

void tl_bn_act_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                             const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                             int N, int C, int HW, float eps, int relu, int overwrite, int nthreads) {
    if (HW == 1) {
        tl_bn_act1_backward_eval(dinp, dres, dout, inp, out, gamma, beta, run_mean, run_var, N, C, eps, relu, overwrite,
                                 nthreads);
        return;
    }
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int c = (int)(p % (size_t)C);
        float scale, shift, g[TL_BN_CHUNK];
        tl_bn_affine(&scale, &shift, run_mean[c], tl_bn_run_invstd(run_var[c], eps), gamma[c], beta[c]);
        for (int i0 = 0; i0 < HW; i0 += TL_BN_CHUNK) {
            size_t off = p * HW + i0;
            int len = HW - i0 < TL_BN_CHUNK ? HW - i0 : TL_BN_CHUNK;
            gate(g, dout + off, inp + off, out ? out + off : NULL, len, scale, shift, relu);
            if (dres) tl_add_or_set(dres + off, g, len, overwrite);
            if (dinp) {
                for (int i = 0; i < len; i++) g[i] *= scale;
                tl_add_or_set(dinp + off, g, len, overwrite);
            }
        }
    }
}
