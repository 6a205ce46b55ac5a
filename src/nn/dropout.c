/* Inverted dropout. The mask is drawn serially from one generator so it is the same for any thread
 * count; the multiply is cheap next to the draws, so the whole kernel stays serial. */
#include "nn/nn.h"

/* torch.nn.functional.dropout(inp, p, training=True): mask = 0 with probability p, else 1/(1-p);
 * out = inp · mask. p >= 1 drops everything (as PyTorch), p <= 0 keeps everything. */
void tl_dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, tl_rng *rng) {
    const float keep = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) mask[i] = tl_rng_uniform(rng) < (double)p ? 0.0f : keep;
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

/* Backward of dropout: dinp += dout · mask. */
void tl_dropout_backward(float *restrict dinp, const float *restrict dout, const float *restrict mask, size_t n) {
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}
