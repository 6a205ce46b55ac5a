#include <stddef.h>
#include "heads/points.h"

void tl_point_dist_forward(float *dist, const float *feat, const float *points, int N, int D, int C, int M,
                           int nthreads) {
    const double scale = 1.0 / ((double)M * D);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * M * D > 65536)
    for (int i = 0; i < N; i++) {
        const float *x = feat + (size_t)i * D;
        for (int k = 0; k < C; k++) {
            double s = 0;
            for (int m = 0; m < M; m++) {
                const float *q = points + ((size_t)k * M + m) * D;
                for (int j = 0; j < D; j++) {
                    double d = (double)x[j] - q[j];
                    s += d * d;
                }
            }
            dist[(size_t)i * C + k] = (float)(s * scale);
        }
    }
}

void tl_point_dist_backward(float *dfeat, float *dpoints, const float *G, const float *feat, const float *points,
                            int N, int D, int C, int M, int nthreads) {
    const double scale = 2.0 / ((double)M * D);
    if (dfeat) {
        /* One writer per row i: dx_i = scale·(M·x_i·Σ_k G_ik − Σ_k G_ik Σ_m q_km). */
        #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * M * D > 65536)
        for (int i = 0; i < N; i++) {
            const float *x = feat + (size_t)i * D, *g = G + (size_t)i * C;
            float *dx = dfeat + (size_t)i * D;
            for (int j = 0; j < D; j++) {
                double s = 0;
                for (int k = 0; k < C; k++) {
                    if (g[k] == 0) continue;
                    for (int m = 0; m < M; m++) s += (double)g[k] * ((double)x[j] - points[((size_t)k * M + m) * D + j]);
                }
                dx[j] += (float)(scale * s);
            }
        }
    }
    if (dpoints) {
        /* One writer per point row km, summing over the batch in order. */
        #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * M * D > 65536)
        for (int km = 0; km < C * M; km++) {
            int k = km / M;
            const float *q = points + (size_t)km * D;
            float *dq = dpoints + (size_t)km * D;
            for (int j = 0; j < D; j++) {
                double s = 0;
                for (int i = 0; i < N; i++) {
                    double g = G[(size_t)i * C + k];
                    if (g != 0) s += g * ((double)feat[(size_t)i * D + j] - q[j]);
                }
                dq[j] -= (float)(scale * s);
            }
        }
    }
}
