/* OpenBLAS SGEMM throughput on large squares, the ceiling for the training benchmark's convolutions:
 *   sgemm_peak THREADS [SIZE] -> "threads=T size=S gflops=<best of 5> gflops_per_cpu_second=<best of 5>"
 * gflops is wall-clock throughput; gflops_per_cpu_second divides by the process's CPU time (all
 * threads), i.e. one core's throughput while it runs, which stays meaningful on a loaded machine.
 * The thread count is the caller's: run with OPENBLAS_NUM_THREADS=T (read once by OpenBLAS). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sgemm_peak THREADS [SIZE]\n"); return 2; }
    int T = atoi(argv[1]), S = argc > 2 ? atoi(argv[2]) : 2048;
    size_t n = (size_t)S * S;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) { fprintf(stderr, "sgemm_peak: out of memory\n"); return 1; }
    for (size_t i = 0; i < n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 0, best_cpu = 0, flop = 2.0 * S * S * (double)S * 1e-9;
    for (int r = 0; r < 6; r++) {  /* the first run warms up */
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, a, S, b, S, 0.0f, c, S);
        double g = flop / (now(CLOCK_MONOTONIC) - t0), gc = flop / (now(CLOCK_PROCESS_CPUTIME_ID) - c0);
        if (r > 0 && g > best) best = g;
        if (r > 0 && gc > best_cpu) best_cpu = gc;
    }
    printf("threads=%d size=%d gflops=%.1f gflops_per_cpu_second=%.1f\n", T, S, best, best_cpu);
    free(a); free(b); free(c);
    return 0;
}
