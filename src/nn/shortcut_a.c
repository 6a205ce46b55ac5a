/* The parameter-free CIFAR ResNet shortcut ("option A"): subsample by 2 and zero-pad channels, on
 * plain NCHW tensors and on the blocked layout nChw16c. */
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

/* The blocked layout's offset of (n, c, pixel s) in a tensor of C channels and HW pixels. */
static inline size_t at16(int n, int c, int s, int C, int HW) {
    return (((size_t)n * (C / 16) + c / 16) * HW + s) * 16 + c % 16;
}

/* tl_shortcut_a_forward on nChw16c tensors (C, OC multiples of 16); one task per output block plane. */
void tl_shortcut_a16_forward(float *out, const float *inp, int N, int C, int H, int W, int OC, int nthreads) {
    const int OH = (H + 1) / 2, OW = (W + 1) / 2, P = (OC - C) / 2, OB = OC / 16;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * OB; p++) {
        int n = (int)(p / (size_t)OB), ob = (int)(p % (size_t)OB);
        float *restrict y = out + p * OH * OW * 16;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int l = 0; l < 16; l++) {
                    int c = ob * 16 + l - P;
                    y[(oh * OW + ow) * 16 + l] = c < 0 || c >= C ? 0.0f : inp[at16(n, c, 2 * oh * W + 2 * ow, C, H * W)];
                }
    }
}

/* Backward on nChw16c: one task per input block plane (one writer per element); lane l of input
 * block cb comes from lane src_l[l] of output block src_b[l]. */
void tl_shortcut_a16_backward(float *dinp, const float *dout, int N, int C, int H, int W, int OC, int nthreads) {
    const int OH = (H + 1) / 2, OW = (W + 1) / 2, P = (OC - C) / 2, CB = C / 16, OB = OC / 16;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * H * W > 32768)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        int n = (int)(p / (size_t)CB), cb = (int)(p % (size_t)CB), src_b[16], src_l[16];
        for (int l = 0; l < 16; l++) { src_b[l] = (cb * 16 + l + P) / 16; src_l[l] = (cb * 16 + l + P) % 16; }
        float *restrict dx = dinp + p * H * W * 16;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
                for (int l = 0; l < 16; l++)
                    dx[(2 * oh * W + 2 * ow) * 16 + l] +=
                        dout[(((size_t)n * OB + src_b[l]) * OH * OW + oh * OW + ow) * 16 + src_l[l]];
    }
}
