/* Global average pooling, one OpenMP task per (n, c) plane; plane sums in double lanes. */
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
