/* Times the distillation losses of src/transfer (value + gradient in one call, as the --distill hooks
 * use them) on one training batch: N = 128 rows, a cnn student (D = 128 features, C = 10 logits) and a
 * resnet32 teacher (D = 64). Median of REPS calls after warm-up, in milliseconds.
 * Usage: bench_distill [REPS]   (prints one line per loss: name ms) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "core/rng.h"
#include "transfer/kd.h"
#include "timing.h"

enum { N = 128, DS = 128, DT = 64, C = 10 };

static void randn(float *x, size_t n, tl_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = (float)tl_rng_normal(r);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) reps = 1;
    static float s[N * DS], t[N * DT], ds[N * DS], zs[N * C], zt[N * C], dz[N * C];
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_SYNTH);
    randn(s, N * DS, &r);
    randn(t, N * DT, &r);
    randn(zs, N * C, &r);
    randn(zt, N * C, &r);
    double *ms = malloc((size_t)reps * sizeof *ms), *work = malloc(tl_rkd_work_doubles(N, DS, DT) * sizeof *work), sink = 0;
    if (!ms || !work) return 1;
    for (int loss = 0; loss < 3; loss++) {
        for (int i = -3; i < reps; i++) {
            double t0 = now();
            if (loss == 0) sink += tl_kd_loss(dz, zs, zt, N, C, 4, 1);
            else if (loss == 1) sink += tl_rkd_distance(ds, s, t, N, DS, DT, 1, work);
            else sink += tl_rkd_angle(ds, s, t, N, DS, DT, 1, work);
            if (i >= 0) ms[i] = 1e3 * (now() - t0);
        }
        printf("%s\t%.4f\n", loss == 0 ? "kd" : loss == 1 ? "rkd_distance" : "rkd_angle", median(ms, reps));
    }
    free(ms);
    free(work);
    return sink != sink;   /* keeps the calls; a NaN is a failure */
}
