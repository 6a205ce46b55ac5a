/* Weight initialisation as PyTorch draws it (distribution, not bit stream). */
#include <math.h>
#include "nn/nn.h"

/* torch.nn.init.uniform_(w, -bound, bound): nn.Conv2d/nn.Linear default weights use
 * bound = 1/sqrt(fan_in) (kaiming_uniform_ with a = sqrt(5)), default biases the same bound. */
void tl_init_uniform(float *w, size_t n, float bound, tl_rng *rng) {
    for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * tl_rng_uniform(rng) - 1.0) * bound);
}

/* torch.nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='relu'): N(0, 2/fan_in). */
void tl_init_kaiming_normal(float *w, size_t n, int fan_in, tl_rng *rng) {
    const double std = sqrt(2.0 / fan_in);
    for (size_t i = 0; i < n; i++) w[i] = (float)(std * tl_rng_normal(rng));
}
