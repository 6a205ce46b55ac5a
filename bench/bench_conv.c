/* Times tl_conv2d on the convolution shapes of the two reference models at batch 128: forward,
 * backward data and backward weights (+bias), median of `reps` calls after warm-up.
 * Usage: bench_conv NTHREADS [REPS]   (prints one line per shape: name fwd_ms bwd_data_ms bwd_w_ms)
 * Backward data is timed as a full backward minus a weights-only backward (dinp = NULL). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/rng.h"
#include "nn/nn.h"
#include "timing.h"

typedef struct { const char *name; int C, H, OC, stride, bias; } shape;
static const shape SHAPES[] = {
    {"cnn1 1x28x28->32", 1, 28, 32, 1, 1},     {"cnn2 32x14x14->64", 32, 14, 64, 1, 1},
    {"cnn3 64x7x7->128", 64, 7, 128, 1, 1},    {"rn1 3x32x32->16", 3, 32, 16, 1, 0},
    {"rn2 16x32x32->16", 16, 32, 16, 1, 0},    {"rn3 16x32x32->32 s2", 16, 32, 32, 2, 0},
    {"rn4 32x16x16->32", 32, 16, 32, 1, 0},    {"rn5 32x16x16->64 s2", 32, 16, 64, 2, 0},
    {"rn6 64x8x8->64", 64, 8, 64, 1, 0},
};

static float *randn(size_t n, tl_rng *r) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)tl_rng_normal(r);
    return x;
}

int main(int argc, char **argv) {
    int nt = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 20, N = 128;
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_SYNTH);
    double *t = malloc(3 * (size_t)reps * sizeof *t);
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++) {
        const shape *sh = &SHAPES[s];
        tl_conv2d *p = tl_conv2d_create(N, sh->C, sh->H, sh->H, sh->OC, 3, sh->stride, 1, sh->bias, nt);
        if (!p) { fprintf(stderr, "bench_conv: cannot create %s\n", sh->name); return 1; }
        int OH = tl_conv2d_out_h(p), OW = tl_conv2d_out_w(p);
        size_t ni = (size_t)N * sh->C * sh->H * sh->H, nw = (size_t)sh->OC * sh->C * 9, no = (size_t)N * sh->OC * OH * OW;
        float *x = randn(ni, &r), *w = randn(nw, &r), *b = randn(sh->OC, &r), *y = randn(no, &r), *dy = randn(no, &r);
        float *dx = calloc(ni, sizeof *dx), *dw = calloc(nw, sizeof *dw), *db = calloc(sh->OC, sizeof *db);
        float *bb = sh->bias ? b : NULL, *dbb = sh->bias ? db : NULL;
        for (int i = -3; i < reps; i++) {
            double t0 = now();
            tl_conv2d_forward(p, y, x, w, bb);
            double t1 = now();
            tl_conv2d_backward(p, NULL, dw, dbb, dy, x, w);
            double t2 = now();
            tl_conv2d_forward(p, y, x, w, bb);  /* the model runs forward before each backward */
            double t3 = now();
            tl_conv2d_backward(p, dx, dw, dbb, dy, x, w);
            double t4 = now();
            if (i >= 0) { t[i] = t1 - t0; t[reps + i] = (t4 - t3) - (t2 - t1); t[2 * reps + i] = t2 - t1; }
        }
        printf("%s\t%.4f\t%.4f\t%.4f\n", sh->name, 1e3 * median(t, reps), 1e3 * median(t + reps, reps),
               1e3 * median(t + 2 * reps, reps));
        tl_conv2d_free(p);
        free(x); free(w); free(b); free(y); free(dy); free(dx); free(dw); free(db);
    }
    free(t);
    return 0;
}
