/* Global average pooling, one OpenMP task per (n, c) plane (per (n, 16-channel block) in the blocked
 * layout); plane sums in double lanes. */
#include "nn/nn.h"
#include "nn/reduce.h"

/* torch.mean(x, dim=(2, 3)): out [N,C] */
void tl_gap_forward(float *out, const float *inp, int N, int C, int HW, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        double acc[TL_LANES] = {0};
        tl_lanes_sum(acc, inp + p * HW, HW);
        out[p] = (float)(tl_lanes_total(acc) / HW);
    }
}

/* Backward of the mean: dinp[n,c,:] += dout[n,c] / HW. */
void tl_gap_backward(float *dinp, const float *dout, int N, int C, int HW, int nthreads) {
    const float inv = 1.0f / (float)HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        float *restrict dx = dinp + p * HW;
        const float g = dout[p] * inv;
        for (int i = 0; i < HW; i++) dx[i] += g;
    }
}

/* tl_gap_forward of inp in the blocked layout nChw16c [N, C/16, HW, 16]; out [N, C] plain. */
void tl_gap16_forward(float *out, const float *inp, int N, int C, int HW, int nthreads) {
    const int CB = C / 16;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        double acc[16] = {0};
        const float *x = inp + p * HW * 16;
        for (int s = 0; s < HW; s++)
            for (int l = 0; l < 16; l++) acc[l] += (double)x[s * 16 + l];
        for (int l = 0; l < 16; l++) out[p * 16 + l] = (float)(acc[l] / HW);
    }
}

void tl_gap16_backward(float *dinp, const float *dout, int N, int C, int HW, int nthreads) {
    const int CB = C / 16;
    const float inv = 1.0f / (float)HW;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        float g[16];
        for (int l = 0; l < 16; l++) g[l] = dout[p * 16 + l] * inv;
        float *restrict dx = dinp + p * HW * 16;
        for (int s = 0; s < HW; s++)
            for (int l = 0; l < 16; l++) dx[s * 16 + l] += g[l];
    }
}
