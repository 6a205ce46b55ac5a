/* Linear layer on OpenBLAS. The BLAS calls run with OpenBLAS's own pool, sized by tl_model_init from
 * the model's thread count (core/threads.h; never changed here, never nested inside OpenMP);
 * `nthreads` only sizes the bias loops. */
#include <cblas.h>
#include "nn/nn.h"

/* Bias columns are reduced in blocks small enough to stay on the stack; each block has one writer. */
#define TL_LINEAR_BLOCK 64

/* torch.nn.functional.linear(inp, w, b): out[N,OC] = inp[N,IC] · w[OC,IC]ᵀ + b */
void tl_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int N, int IC, int OC, int nthreads) {
    float beta = 0.0f;
    if (b) {
        #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * OC > 32768)
        for (int n = 0; n < N; n++) {
            float *restrict o = out + (size_t)n * OC;
            for (int j = 0; j < OC; j++) o[j] = b[j];
        }
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, w, IC, beta, out, OC);
}

/* Backward of torch.nn.functional.linear: dinp += dout·w, dw += doutᵀ·inp, db += Σ_n dout. */
void tl_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC, int nthreads) {
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dinp, IC);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
    if (!db) return;
    int nblocks = (OC + TL_LINEAR_BLOCK - 1) / TL_LINEAR_BLOCK;
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * OC > 32768)
    for (int blk = 0; blk < nblocks; blk++) {
        int j0 = blk * TL_LINEAR_BLOCK, len = OC - j0 < TL_LINEAR_BLOCK ? OC - j0 : TL_LINEAR_BLOCK;
        double acc[TL_LINEAR_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const float *restrict d = dout + (size_t)n * OC + j0;
            for (int j = 0; j < len; j++) acc[j] += (double)d[j];
        }
        for (int j = 0; j < len; j++) db[j0 + j] += (float)acc[j];
    }
}
