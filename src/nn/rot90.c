/* Rotation of square image planes by multiples of 90°, the input transformation of SLA (docs/methods.md
 * §11.1). Only a forward: the rotated copies are the backbone's input, no gradient flows back to the
 * image. */
#include "nn/nn.h"

/* torch.rot90(x, t, dims=(2, 3)) on x [N,C,H,H]: t = 1: out[h][w] = in[w][H−1−h]; t = 2:
 * in[H−1−h][H−1−w]; t = 3: in[H−1−w][h]; any other t is taken modulo 4. */
void tl_rot90_forward(float *out, const float *inp, int N, int C, int H, int t) {
    t = ((t % 4) + 4) % 4;
    size_t plane = (size_t)H * H;
    for (size_t p = 0; p < (size_t)N * C; p++) {
        const float *x = inp + p * plane;
        float *y = out + p * plane;
        for (int h = 0; h < H; h++)
            for (int w = 0; w < H; w++) {
                int r = t == 0 ? h : t == 1 ? w : t == 2 ? H - 1 - h : H - 1 - w;
                int c = t == 0 ? w : t == 1 ? H - 1 - h : t == 2 ? H - 1 - w : h;
                y[(size_t)h * H + w] = x[(size_t)r * H + c];
            }
    }
}
