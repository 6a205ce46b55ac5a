/* Element-wise add for residual joins. The forward may write over either input (out == a), so no
 * restrict there; the backward runs one loop per gradient so da == db is also correct. */
#include "nn/nn.h"

/* torch.add(a, b) */
void tl_add_forward(float *out, const float *a, const float *b, size_t n, int nthreads) {
    #pragma omp parallel for simd num_threads(nthreads) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void accumulate(float *restrict d, const float *restrict g, size_t n, int nthreads) {
    #pragma omp parallel for simd num_threads(nthreads) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) d[i] += g[i];
}

/* Backward of torch.add: da += dout, db += dout. */
void tl_add_backward(float *da, float *db, const float *dout, size_t n, int nthreads) {
    if (da) accumulate(da, dout, n, nthreads);
    if (db) accumulate(db, dout, n, nthreads);
}
