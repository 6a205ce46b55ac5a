/* Training-step speed of a built-in model on synthetic data (the same work as bench_train.py):
 *   bench_train ARCH BATCH STEPS THREADS  ->  "images_per_second=<median over 5 rounds> peak_rss_mb=<MB>"
 * One step = forward, mean cross-entropy, backward, SGD (momentum 0.9, wd 5e-4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "losses/softmax.h"
#include "models/model.h"
#include "train/optim.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: bench_train ARCH BATCH STEPS THREADS\n"); return 2; }
    const char *arch = argv[1];
    int B = atoi(argv[2]), steps = atoi(argv[3]), threads = atoi(argv[4]);
    int c = strcmp(arch, "resnet32") ? 1 : 3, hw = strcmp(arch, "resnet32") ? 28 : 32;
    tl_error err;
    tl_model_cfg cfg;
    tl_model m;
    if (tl_model_cfg_default(&cfg, arch, c, hw, hw, 10, &err) || tl_model_init(&m, &cfg, B, threads, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    tl_rng r;
    tl_rng_seed(&r, 3, TL_RNG_DATA);
    size_t n = (size_t)B * c * hw * hw;
    for (size_t i = 0; i < n; i++) tl_model_input(&m)[i] = (float)tl_rng_normal(&r);
    int *y = malloc((size_t)B * sizeof *y);
    for (int i = 0; i < B; i++) y[i] = (int)tl_rng_below(&r, 10);
    tl_optim_cfg oc = {.kind = TL_OPTIM_SGD, .lr = 0.01, .momentum = 0.9, .wd = 5e-4};
    float *state = calloc(tl_optim_state_floats(&oc, m.nparams), sizeof(float));
    tl_param_group g = {.begin = 0, .end = m.nparams, .lr_mult = 1, .decay = 1};
    long t = 0;
    double rounds[5];
    for (int round = -1; round < 5; round++) {   /* round -1 warms up */
        double t0 = now();
        for (int s = 0; s < (round < 0 ? 3 : steps); s++) {
            tl_model_zero_grad(&m);
            tl_model_forward(&m, 1, y, NULL);
            tl_softmax_ce(m.dlogits, m.logits, y, B, 10);
            tl_model_backward(&m, 1, y, 0);
            tl_optim_step(m.params, state, m.grads, m.nparams, &g, 1, &oc, oc.lr, ++t, threads);
        }
        if (round >= 0) rounds[round] = (double)steps * B / (now() - t0);
    }
    qsort(rounds, 5, sizeof *rounds, cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("images_per_second=%.1f peak_rss_mb=%.1f\n", rounds[2], ru.ru_maxrss / 1024.0);
    free(y);
    free(state);
    tl_model_free(&m);
    return 0;
}
