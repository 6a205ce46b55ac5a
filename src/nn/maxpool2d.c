/* Max pooling, one OpenMP task per (n, c) plane; the backward scatters through the saved argmax,
 * and since a plane has one owner, overlapping windows never race. */
#include <math.h>
#include "nn/nn.h"

/* torch.nn.functional.max_pool2d(x, K, stride, pad, return_indices=True): padding counts as -inf,
 * the first maximum in row-major window order wins, and a NaN wins as in PyTorch's CPU kernel.
 * argmax holds the flat index h·W + w in the input plane. */
void tl_maxpool2d_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                          int K, int stride, int pad, int nthreads) {
    const int OH = tl_pool_out(H, K, stride, pad), OW = tl_pool_out(W, K, stride, pad);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *restrict x = inp + p * H * W;
        float *restrict y = out + p * OH * OW;
        int32_t *restrict am = argmax + p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = oh * stride - pad, h1 = h0 + K < H ? h0 + K : H;
            if (h0 < 0) h0 = 0;
            for (int ow = 0; ow < OW; ow++) {
                int w0 = ow * stride - pad, w1 = w0 + K < W ? w0 + K : W;
                if (w0 < 0) w0 = 0;
                int best_i = h0 * W + w0;
                float best = -INFINITY;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) {
                        float v = x[h * W + w];
                        if (!(v <= best)) { best = v; best_i = h * W + w; } /* v > best, or NaN */
                    }
                y[oh * OW + ow] = best;
                am[oh * OW + ow] = best_i;
            }
        }
    }
}

/* Backward of max_pool2d: dinp[argmax] += dout. */
void tl_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax, int N, int C,
                           int H, int W, int K, int stride, int pad, int nthreads) {
    const size_t OHW = (size_t)tl_pool_out(H, K, stride, pad) * tl_pool_out(W, K, stride, pad);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        float *restrict dx = dinp + p * H * W;
        const float *restrict dy = dout + p * OHW;
        const int32_t *restrict am = argmax + p * OHW;
        for (size_t i = 0; i < OHW; i++) dx[am[i]] += dy[i];
    }
}
