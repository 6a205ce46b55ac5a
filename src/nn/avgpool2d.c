/* Average pooling with a K×K window and stride K, one OpenMP task per (n, c) plane. */
#include "nn/nn.h"

/* torch.nn.functional.avg_pool2d(x, K): out [N,C,H/K,W/K]; trailing rows/columns are dropped. */
void tl_avgpool2d_forward(float *out, const float *inp, int N, int C, int H, int W, int K, int nthreads) {
    const int OH = H / K, OW = W / K;
    const float inv = 1.0f / (float)(K * K);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *restrict x = inp + p * H * W;
        float *restrict y = out + p * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float s = 0.0f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) s += x[(oh * K + kh) * W + ow * K + kw];
                y[oh * OW + ow] = s * inv;
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
        for (int oh = 0; oh < OH; oh++)
            for (int kh = 0; kh < K; kh++) {
                float *restrict row = dx + (oh * K + kh) * W;
                for (int ow = 0; ow < OW; ow++) {
                    const float g = dy[oh * OW + ow] * inv;
                    for (int kw = 0; kw < K; kw++) row[ow * K + kw] += g;
                }
            }
    }
}
