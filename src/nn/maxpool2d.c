/* Max pooling, one OpenMP task per (n, c) plane; the backward scatters through the saved argmax,
 * and since a plane has one owner, overlapping windows never race. */
#include <math.h>
#include "nn/nn.h"

/* The input rows (or columns) [lo, hi) that output row o's window covers, padding cut off. */
static inline void window(int *lo, int *hi, int o, int K, int stride, int pad, int n) {
    int a = o * stride - pad, b = a + K;
    *lo = a < 0 ? 0 : a;
    *hi = b < n ? b : n;
}

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
            int h0, h1;
            window(&h0, &h1, oh, K, stride, pad, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window(&w0, &w1, ow, K, stride, pad, W);
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

/* The same in nChw16c: one task per (n, channel block) plane of H·W·16 floats; argmax [N, C/16,
 * OH, OW, 16] holds each lane's winner as h·W + w, as above. */
void tl_maxpool2d16_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                            int K, int stride, int pad, int nthreads) {
    const int OH = tl_pool_out(H, K, stride, pad), OW = tl_pool_out(W, K, stride, pad);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * (C / 16); p++) {
        const float *restrict x = inp + p * H * W * 16;
        float *restrict y = out + p * OH * OW * 16;
        int32_t *restrict am = argmax + p * OH * OW * 16;
        for (int oh = 0; oh < OH; oh++) {
            int h0, h1;
            window(&h0, &h1, oh, K, stride, pad, H);
            for (int ow = 0; ow < OW; ow++) {
                int w0, w1;
                window(&w0, &w1, ow, K, stride, pad, W);
                float best[16];
                int32_t bi[16];
                for (int l = 0; l < 16; l++) { best[l] = -INFINITY; bi[l] = h0 * W + w0; }
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) {
                        const float *v = x + (size_t)(h * W + w) * 16;
                        for (int l = 0; l < 16; l++)
                            if (!(v[l] <= best[l])) { best[l] = v[l]; bi[l] = h * W + w; } /* v > best, or NaN */
                    }
                float *yo = y + (size_t)(oh * OW + ow) * 16;
                int32_t *ao = am + (size_t)(oh * OW + ow) * 16;
                for (int l = 0; l < 16; l++) { yo[l] = best[l]; ao[l] = bi[l]; }
            }
        }
    }
}

void tl_maxpool2d16_backward(float *dinp, const float *dout, const int32_t *argmax, int N, int C,
                             int H, int W, int K, int stride, int pad, int nthreads) {
    const size_t OHW = (size_t)tl_pool_out(H, K, stride, pad) * tl_pool_out(W, K, stride, pad);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * (C / 16); p++) {
        float *restrict dx = dinp + p * H * W * 16;
        const float *restrict dy = dout + p * OHW * 16;
        const int32_t *restrict am = argmax + p * OHW * 16;
        for (size_t i = 0; i < OHW; i++)
            for (int l = 0; l < 16; l++) dx[(size_t)am[i * 16 + l] * 16 + l] += dy[i * 16 + l];
    }
}
