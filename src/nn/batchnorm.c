/* Batch normalisation over [N, C, HW]: one OpenMP task per channel (training needs the whole
 * channel's statistics before it can write), one per (n, c) plane in evaluation. Statistics are
 * two-pass (mean, then squared deviations) in double, so large means do not cancel. */
#include <math.h>
#include "nn/nn.h"
#include "nn/reduce.h"

/* torch.nn.functional.batch_norm(x, running_mean, running_var, gamma, beta, training=True,
 * momentum, eps). mean/invstd [C] are saved for the backward pass. N·HW must exceed 1 (PyTorch
 * refuses a single value per channel; the unbiased variance is undefined). */
void tl_batchnorm_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                                const float *inp, const float *gamma, const float *beta,
                                int N, int C, int HW, float eps, float momentum, int nthreads) {
    const double M = (double)N * HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int c = 0; c < C; c++) {
        double mu, var;
        tl_bn_channel_stats(&mu, &var, inp, N, C, HW, c);
        double is = 1.0 / sqrt(var + (double)eps);
        mean[c] = (float)mu;
        invstd[c] = (float)is;
        tl_bn_running_update(&run_mean[c], &run_var[c], mu, var, M, momentum);
        /* y = (x - mu)·invstd·gamma + beta = x·scale + shift */
        const float scale = (float)(gamma[c] * is), shift = (float)(beta[c] - mu * gamma[c] * is);
        for (int n = 0; n < N; n++) {
            const float *restrict x = inp + ((size_t)n * C + c) * HW;
            float *restrict y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
        }
    }
}

/* torch.nn.functional.batch_norm(..., training=False): the running statistics normalise. */
void tl_batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                               const float *run_mean, const float *run_var,
                               int N, int C, int HW, float eps, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int c = (int)(p % (size_t)C);
        double is = 1.0 / sqrt((double)run_var[c] + (double)eps);
        const float scale = (float)(gamma[c] * is), shift = (float)(beta[c] - run_mean[c] * gamma[c] * is);
        const float *restrict x = inp + p * HW;
        float *restrict y = out + p * HW;
        for (int i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
    }
}

/* Backward of the training-mode forward (torch.ops.aten.native_batch_norm_backward with saved
 * mean/invstd), with M = N·HW and xh = (x - mean)·invstd:
 * dbeta += Σ dy, dgamma += Σ dy·xh, dx += gamma·invstd·(dy - Σdy/M - xh·Σ(dy·xh)/M). */
void tl_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd, const float *gamma,
                           int N, int C, int HW, int nthreads) {
    const double M = (double)N * HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int c = 0; c < C; c++) {
        const float mu = mean[c];
        const double is = invstd[c];
        double a1[TL_LANES] = {0}, a2[TL_LANES] = {0};
        for (int n = 0; n < N; n++) {
            size_t off = ((size_t)n * C + c) * HW;
            tl_lanes_sum(a1, dout + off, HW);
            tl_lanes_dotdev(a2, dout + off, inp + off, HW, mu);
        }
        double sdy = tl_lanes_total(a1), sdyx = tl_lanes_total(a2); /* Σdy, Σdy·(x - mean) */
        if (dbeta) dbeta[c] += (float)sdy;
        if (dgamma) dgamma[c] += (float)(sdyx * is);
        if (!dinp) continue;
        /* dx = g·dy - gk·(x - mean) - gm */
        const double g = gamma[c] * is;
        const float gf = (float)g, gk = (float)(g * sdyx * is * is / M), gm = (float)(g * sdy / M);
        for (int n = 0; n < N; n++) {
            size_t off = ((size_t)n * C + c) * HW;
            const float *restrict dy = dout + off, *restrict x = inp + off;
            float *restrict dx = dinp + off;
            for (int i = 0; i < HW; i++) dx[i] += gf * dy[i] - gk * (x[i] - mu) - gm;
        }
    }
}

/* Backward of the evaluation-mode forward: dx += dy · gamma / sqrt(running_var + eps). */
void tl_batchnorm_backward_eval(float *dinp, const float *dout, const float *gamma, const float *run_var,
                                int N, int C, int HW, float eps, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int c = (int)(p % (size_t)C);
        const float scale = (float)(gamma[c] / sqrt((double)run_var[c] + (double)eps));
        const float *restrict dy = dout + p * HW;
        float *restrict dx = dinp + p * HW;
        for (int i = 0; i < HW; i++) dx[i] += dy[i] * scale;
    }
}
