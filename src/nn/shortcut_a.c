/* The parameter-free CIFAR ResNet shortcut ("option A"): subsample by 2 and zero-pad channels. */
#include <string.h>
#include "nn/nn.h"

/* F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, P, P)), P = (OC - C) / 2: out [N,OC,(H+1)/2,(W+1)/2];
 * one OpenMP task per output plane. */
void tl_shortcut_a_forward(float *out, const float *inp, int N, int C, int H, int W, int OC, int nthreads) {
    const int OH = (H + 1) / 2, OW = (W + 1) / 2, P = (OC - C) / 2;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * OC; p++) {
        int n = (int)(p / (size_t)OC), c = (int)(p % (size_t)OC) - P;
        float *restrict y = out + p * OH * OW;
        if (c < 0 || c >= C) { memset(y, 0, sizeof(float) * OH * OW); continue; }
        const float *restrict x = inp + ((size_t)n * C + c) * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) y[oh * OW + ow] = x[2 * oh * W + 2 * ow];
    }
}

/* Backward: dinp[n,c,2i,2j] += dout[n,c+P,i,j]; the padded channels have no input. */
void tl_shortcut_a_backward(float *dinp, const float *dout, int N, int C, int H, int W, int OC, int nthreads) {
    const int OH = (H + 1) / 2, OW = (W + 1) / 2, P = (OC - C) / 2;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * C; p++) {
        int n = (int)(p / (size_t)C), c = (int)(p % (size_t)C);
        float *restrict dx = dinp + p * H * W;
        const float *restrict dy = dout + (((size_t)n * OC + c + P) * OH * OW);
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) dx[2 * oh * W + 2 * ow] += dy[oh * OW + ow];
    }
}
