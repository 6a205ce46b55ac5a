/* ReLU, element-wise. The forward may run in place (out == inp), so it takes no restrict. */
#include "nn/nn.h"

/* torch.relu: out = max(x, 0); written as x < 0 ? 0 : x so a NaN passes through as in PyTorch. */
void tl_relu_forward(float *out, const float *inp, size_t n, int nthreads) {
    #pragma omp parallel for simd num_threads(nthreads) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] < 0.0f ? 0.0f : inp[i];
}

/* Backward of torch.relu from its output: dinp += out > 0 ? dout : 0. */
void tl_relu_backward(float *restrict dinp, const float *restrict dout, const float *restrict out, size_t n,
                      int nthreads) {
    #pragma omp parallel for simd num_threads(nthreads) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}
