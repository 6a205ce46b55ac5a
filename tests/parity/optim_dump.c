/* Writes the inputs and results of the optimizer and schedule parity test (test_optim.py) to a
 * safetensors file: initial params, 5 steps of random gradients, and for each optimizer spec the
 * params and state after 5 steps; the schedules' learning rates go in the metadata as text.
 * Usage: optim_dump OUT.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "train/optim.h"
#include "train/schedule.h"

#define N 1037          /* not a multiple of the vector width: exercises the tails */
#define STEPS 5
#define EPOCHS 20

/* Three groups: full lr with decay, lr x0.1 without decay, frozen. */
static const tl_param_group groups[] = {
    {.begin = 0, .end = 600, .lr_mult = 1.0, .decay = 1},
    {.begin = 600, .end = 900, .lr_mult = 0.1, .decay = 0},
    {.begin = 900, .end = N, .lr_mult = 1.0, .decay = 1, .frozen = 1},
};

static const char *const optims[][2] = {
    {"sgd_plain", "sgd:lr=0.1,momentum=0,wd=0"},
    {"sgd_wd", "sgd:lr=0.1,momentum=0,wd=5e-4"},
    {"sgd_momentum", "sgd:lr=0.1,momentum=0.9,wd=0"},
    {"sgd_nesterov", "sgd:lr=0.1,momentum=0.9,wd=0,nesterov=1"},
    {"sgd_all", "sgd:lr=0.05,momentum=0.9,wd=2e-4,nesterov=1"},
    {"sgd_default", "sgd"},
    {"adam", "adam:lr=1e-3,wd=0"},
    {"adam_wd", "adam:lr=1e-2,wd=1e-2"},
    {"adam_betas", "adam:lr=1e-3,beta1=0.8,beta2=0.99,eps=1e-6"},
    {"adamw", "adamw:lr=1e-2,wd=0.1"},
};
#define NOPT ((int)(sizeof optims / sizeof optims[0]))

/* spec, warm-up epochs, epochs the recipe was written for (0 = not scaled) */
static const struct { const char *name, *spec; int warmup, from; } scheds[] = {
    {"constant", "constant", 0, 0},
    {"step", "step:milestones=8/15,gamma=0.1", 0, 0},
    {"cosine", "cosine", 0, 0},
    {"cosine_min", "cosine:min=0.001", 0, 0},
    {"step_warmup", "step:milestones=12/16,gamma=0.01", 3, 0},
    {"cosine_warmup", "cosine", 2, 0},
    {"recipe200", "step:milestones=160/180,gamma=0.01", 5, 200},
};
#define NSCHED ((int)(sizeof scheds / sizeof scheds[0]))

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: optim_dump OUT.safetensors\n"); return 2; }
    tl_error err;
    tl_rng rng;
    tl_rng_seed(&rng, 7, TL_RNG_INIT);
    static float p0[N], grads[STEPS][N], params[NOPT][N], state[NOPT][2 * N];
    for (int i = 0; i < N; i++) p0[i] = (float)tl_rng_normal(&rng);
    for (int t = 0; t < STEPS; t++)
        for (int i = 0; i < N; i++) grads[t][i] = (float)tl_rng_normal(&rng);
    if (tl_param_groups_check(groups, 3, N, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }

    tl_st_tensor t[2 + 2 * NOPT];
    char names[NOPT][64];
    const char *meta[2 * (NOPT + NSCHED)];
    static char lrs[NSCHED][EPOCHS * 32];
    int nt = 0, nm = 0;
    t[nt++] = (tl_st_tensor){"p0", "F32", 1, {N}, p0};
    t[nt++] = (tl_st_tensor){"grads", "F32", 2, {STEPS, N}, grads};
    for (int k = 0; k < NOPT; k++) {
        tl_optim_cfg cfg;
        if (tl_optim_parse(&cfg, optims[k][1], "--optim", &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        memcpy(params[k], p0, sizeof p0);
        memset(state[k], 0, sizeof state[k]);
        /* The lr changes every step, as a schedule would change it. */
        for (int s = 0; s < STEPS; s++)
            tl_optim_step(params[k], state[k], grads[s], N, groups, 3, &cfg, cfg.lr * (1.0 - 0.1 * s), s + 1, 2);
        t[nt++] = (tl_st_tensor){optims[k][0], "F32", 1, {N}, params[k]};
        size_t ns = tl_optim_state_floats(&cfg, N);
        snprintf(names[k], sizeof names[k], "%s.state", optims[k][0]);
        if (ns) t[nt++] = (tl_st_tensor){names[k], "F32", 1, {(int64_t)ns}, state[k]};
        meta[nm++] = optims[k][0];
        meta[nm++] = optims[k][1];
    }
    for (int k = 0; k < NSCHED; k++) {
        tl_schedule s;
        if (tl_schedule_parse(&s, scheds[k].spec, "--schedule", &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        s.warmup = scheds[k].warmup;
        if (scheds[k].from) tl_schedule_scale(&s, scheds[k].from, EPOCHS);
        size_t len = 0;
        for (int e = 0; e < EPOCHS; e++)
            len += (size_t)snprintf(lrs[k] + len, sizeof lrs[k] - len, "%s%.17g", e ? " " : "",
                                    tl_schedule_lr(&s, 0.1, e, EPOCHS));
        meta[nm++] = scheds[k].name;
        meta[nm++] = lrs[k];
    }
    if (tl_st_write(argv[1], t, nt, meta, nm / 2, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    return 0;
}
