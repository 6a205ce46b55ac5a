/* Training-step speed of a built-in model on synthetic data (the same work as bench_train.py):
 *   bench_train ARCH BATCH STEPS THREADS [SIZE [eval]]
 *       ->  "images_per_second=<median over 5 rounds> peak_rss_mb=<MB>"
 * One step = forward, mean cross-entropy, backward, SGD (momentum 0.9, wd 5e-4); with `eval`, one
 * evaluation-mode forward on the inference plan (models/net.h). Input: 1x28x28 (cnn), 3x32x32
 * (resnet32), 3xSIZExSIZE for the ImageNet ResNets (default 224).
 * TL_MEMORY=1 also prints the backbone's memory plan (MB) to stderr; TL_PROFILE=1 prints, to
 * stderr, the milliseconds per step spent in each op kind's forward and backward, the head+loss and
 * the optimizer, over the timed rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <sys/resource.h>
#include <time.h>
#include "losses/softmax.h"
#include "models/model.h"
#include "train/optim.h"
#include "timing.h"

static const char *kind_name[TL_OP_NKINDS] = {"conv", "bn(+add+relu)", "avgpool", "maxpool", "gap", "linear",
                                               "shortcut_a", "dropout"};

static double rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: bench_train ARCH BATCH STEPS THREADS [SIZE [eval]]\n");
        return 2;
    }
    const char *arch = argv[1];
    int B = atoi(argv[2]), steps = atoi(argv[3]), threads = atoi(argv[4]);
    int c = strcmp(arch, "resnet32") ? 1 : 3, hw = strcmp(arch, "resnet32") ? 28 : 32;
    int eval = argc == 7 && !strcmp(argv[6], "eval");
    if (tl_resnet_is(arch)) { c = 3; hw = argc >= 6 ? atoi(argv[5]) : 224; }
    double rss_start = rss_mb();
    tl_error err;
    tl_model_cfg cfg;
    tl_model m;
    /* eval: the model `tailor eval` and `predict` build (the inference plan) */
    if (tl_model_cfg_default(&cfg, arch, c, hw, hw, 10, &err) ||
        (eval ? tl_model_init_inference(&m, &cfg, B, threads, &err) : tl_model_init(&m, &cfg, B, threads, 1, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double rss_init = rss_mb();
    tl_rng r;
    tl_rng_seed(&r, 3, TL_RNG_DATA);
    size_t n = (size_t)B * c * hw * hw;
    for (size_t i = 0; i < n; i++) tl_model_input(&m)[i] = (float)tl_rng_normal(&r);
    int *y = malloc((size_t)B * sizeof *y);
    for (int i = 0; i < B; i++) y[i] = (int)tl_rng_below(&r, 10);
    tl_optim_cfg oc = {.kind = TL_OPTIM_SGD, .lr = 0.01, .momentum = 0.9, .wd = 5e-4};
    float *state = calloc(tl_optim_state_floats(&oc, m.nparams), sizeof(float));
    tl_param_group g = {.begin = 0, .end = m.nparams, .lr_mult = 1, .decay = 1};
    const char *e = getenv("TL_PROFILE");
    int profile = e && !strcmp(e, "1");
    double prof[TL_NET_PROF_SIZE] = {0}, head = 0, opt = 0;
    long t = 0;
    double rounds[5];
    for (int round = -1; round < 5; round++) {   /* round -1 warms up */
        m.net.prof = profile && round >= 0 ? prof : NULL;
        double t0 = now();
        for (int s = 0; s < (round < 0 ? 3 : steps); s++) {
            if (eval) { if (tl_model_forward(&m, 0, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; } continue; }
            tl_model_zero_grad(&m);
            if (tl_net_forward(&m.net, m.params, m.state, 1, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            double h0 = omp_get_wtime();
            m.head.ops->forward(&m.head, m.logits, tl_model_features(&m), y, m.params);
            tl_softmax_ce(m.dlogits, m.logits, y, B, 10);
            m.head.ops->backward(&m.head, m.net.grad[m.feat_buf], m.grads, m.dlogits, tl_model_features(&m), y,
                                 m.params);
            double h1 = omp_get_wtime();
            if (tl_net_backward(&m.net, m.params, m.grads, m.state, 1, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            double o0 = omp_get_wtime();
            tl_optim_step(m.params, state, m.grads, m.nparams, &g, 1, &oc, oc.lr, ++t, threads);
            if (round >= 0) { head += h1 - h0; opt += omp_get_wtime() - o0; }
        }
        if (round >= 0) rounds[round] = (double)steps * B / (now() - t0);
    }
    printf("images_per_second=%.1f peak_rss_mb=%.1f\n", median(rounds, 5), rss_mb());
    e = getenv("TL_MEMORY");
    if (e && !strcmp(e, "1")) {
        const tl_net_memory *mm = &m.net.mem;
        double MB = 1e-6;
        fprintf(stderr, "memory %s: kept activations %.1f MB, forward-only activations %.1f, recomputed %.1f, "
                "gradients %.1f (sum %.1f) -> planned slab %.1f MB; per-op scratch %.2f MB; conv work area %.1f MB; "
                "params+grads %.1f MB\n",
                arch, mm->kept * MB, mm->transient * MB, mm->recomputed * MB, mm->grads * MB,
                (mm->kept + mm->transient + mm->recomputed + mm->grads) * MB, mm->slab * MB, mm->scratch * MB,
                mm->conv_work * MB, (m.grads ? 2.0 : 1.0) * m.nparams * sizeof(float) * MB);
        fprintf(stderr, "memory %s: peak RSS %.1f MB at start (libraries), %.1f MB after building the model "
                "(slab touched), %.1f MB at the end\n", arch, rss_start, rss_init, rss_mb());
    }
    if (profile) {
        double per = 1e3 / (5.0 * steps), total = 0;
        for (int k = 0; k < TL_NET_PROF_SIZE; k++) total += prof[k];
        for (int k = 0; k < TL_OP_NKINDS; k++)
            if (prof[k] + prof[TL_OP_NKINDS + k] > 0)
                fprintf(stderr, "profile %s %-14s forward %7.2f ms  backward %7.2f ms\n", arch, kind_name[k],
                        prof[k] * per, prof[TL_OP_NKINDS + k] * per);
        fprintf(stderr, "profile %s %-14s          %7.2f ms\n", arch, "zero+recompute", prof[2 * TL_OP_NKINDS] * per);
        fprintf(stderr, "profile %s %-14s %7.2f ms\nprofile %s %-14s %7.2f ms\nprofile %s %-14s %7.2f ms per step\n",
                arch, "head+loss", head * per, arch, "optimizer", opt * per, arch, "backbone", total * per);
    }
    free(y);
    free(state);
    tl_model_free(&m);
    return 0;
}
