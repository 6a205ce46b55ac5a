/* Average pooling with a K×K window and stride K, one OpenMP task per (n, c) plane. The loops run
 * along output rows (window offset outside, output column inside) so they vectorise across
 * columns; each output still sums its window in (kh, kw) order from 0, as the scalar loop did. */
#include "nn/nn.h"

/* Output columns per pass, so a row's running sums stay on the stack. */
#define TL_POOL_COLS 64

/* torch.nn.functional.avg_pool2d(x, K): out [N,C,H/K,W/K]; trailing rows/columns are dropped. */
void tl_avgpool2d_forward(float *out, const float *inp, int N, int C, int H, int W, int K, int nthreads) {
    const int OH = H / K, OW = W / K;
    const float inv = 1.0f / (float)(K * K);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *restrict x = inp + p * H * W;
        float *restrict y = out + p * OH * OW;
        if (K == 2) {  /* the cnn's pooling: the window written out, so the loop vectorises with even/odd shuffles */
            for (int oh = 0; oh < OH; oh++) {
                const float *restrict r0 = x + (size_t)(2 * oh) * W, *restrict r1 = r0 + W;
                for (int j = 0; j < OW; j++)
                    y[oh * OW + j] = ((((0.0f + r0[2 * j]) + r0[2 * j + 1]) + r1[2 * j]) + r1[2 * j + 1]) * inv;
            }
            continue;
        }
        for (int oh = 0; oh < OH; oh++)
            for (int o0 = 0; o0 < OW; o0 += TL_POOL_COLS) {
                int len = OW - o0 < TL_POOL_COLS ? OW - o0 : TL_POOL_COLS;
                float s[TL_POOL_COLS];
                for (int j = 0; j < len; j++) s[j] = 0.0f;
                for (int kh = 0; kh < K; kh++) {
                    const float *restrict row = x + (size_t)(oh * K + kh) * W + (size_t)o0 * K;
                    for (int kw = 0; kw < K; kw++)
                        for (int j = 0; j < len; j++) s[j] += row[j * K + kw];
                }
                for (int j = 0; j < len; j++) y[oh * OW + o0 + j] = s[j] * inv;
            }
    }
}

/* Backward of avg_pool2d: each covered input gets dout / K². */
void tl_avgpool2d_backward(float *dinp, const float *dout, int N, int C, int H, int W, int K, int nthreads) {
    const int OH = H / K, OW = W / K;
    const float inv = 1.0f / (float)(K * K);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        float *restrict dx = dinp + p * H * W;
        const float *restrict dy = dout + p * OH * OW;
        if (K == 2) {
            for (int oh = 0; oh < OH; oh++) {
                float *restrict r0 = dx + (size_t)(2 * oh) * W, *restrict r1 = r0 + W;
                for (int j = 0; j < OW; j++) {
                    const float g = dy[oh * OW + j] * inv;
                    r0[2 * j] += g; r0[2 * j + 1] += g; r1[2 * j] += g; r1[2 * j + 1] += g;
                }
            }
            continue;
        }
        for (int oh = 0; oh < OH; oh++)
            for (int kh = 0; kh < K; kh++) {
                float *restrict row = dx + (size_t)(oh * K + kh) * W;
                for (int kw = 0; kw < K; kw++)
                    for (int ow = 0; ow < OW; ow++) row[ow * K + kw] += dy[oh * OW + ow] * inv;
            }
    }
}
