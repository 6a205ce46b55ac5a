/* OpenBLAS SGEMM throughput on large squares, the ceiling for the training benchmark's convolutions:
 *   sgemm_peak THREADS [SIZE] -> "threads=T size=S gflops=<best of 5>"
 * The thread count is the caller's: run with OPENBLAS_NUM_THREADS=T (read once by OpenBLAS). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sgemm_peak THREADS [SIZE]\n"); return 2; }
    int T = atoi(argv[1]), S = argc > 2 ? atoi(argv[2]) : 2048;
    size_t n = (size_t)S * S;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) { fprintf(stderr, "sgemm_peak: out of memory\n"); return 1; }
    for (size_t i = 0; i < n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 0;
    for (int r = 0; r < 6; r++) {  /* the first run warms up */
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, a, S, b, S, 0.0f, c, S);
        double g = 2.0 * S * S * (double)S / (now() - t0) * 1e-9;
        if (r > 0 && g > best) best = g;
    }
    printf("threads=%d size=%d gflops=%.1f\n", T, S, best);
    free(a); free(b); free(c);
    return 0;
}
