/* Writes random logits, imbalanced labels and class counts, and tailor's loss value and dlogits for
 * every case below, for test_losses.py. Usage: losses_dump OUT.safetensors. Tensors: logits_linear
 * [NB, NC] (normal·3), logits_cosine [NB, NC] (30·U(-1, 1), as a cosine head with s = 30 gives), y [NB],
 * count [NC], and per case "<key>.grad" [NB, NC]; metadata "<key>" = "SPEC|HEAD|EPOCH|LOSS(%.17g)". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "losses/loss.h"

#define NB 64
#define NC 10

static const struct { const char *key, *spec; int cosine, epoch; } cases[] = {
    {"ce", "ce", 0, 0},
    {"ce_inverse", "ce:weights=inverse", 0, 0},
    {"ce_sqrt", "ce:weights=sqrt-inverse", 0, 0},
    {"ce_cb", "ce:weights=effective,beta=0.999", 0, 0},
    {"ce_drw_before", "ce:weights=effective,drw=5", 0, 4},
    {"ce_drw_after", "ce:weights=effective,drw=5", 0, 5},
    {"sigmoid", "sigmoid", 0, 0},
    {"sigmoid_cb", "sigmoid:weights=effective", 0, 0},
    {"sigmoid_focal", "sigmoid:gamma=2", 0, 0},
    {"sigmoid_focal_cb", "sigmoid:gamma=1,weights=effective,beta=0.9999", 0, 0},
    {"sigmoid_focal_half", "sigmoid:gamma=0.5,weights=inverse", 0, 0},
    {"focal", "focal", 0, 0},
    {"focal2_inverse", "focal:gamma=2,weights=inverse", 0, 0},
    {"focal_half", "focal:gamma=0.5", 0, 0},
    {"focal_ldam_cb", "focal:gamma=1,variant=ldam,weights=effective", 0, 0},
    {"focal_ldam_drw_before", "focal:gamma=2,variant=ldam,weights=effective,drw=3", 0, 2},
    {"focal_ldam_drw_after", "focal:gamma=2,variant=ldam,weights=effective,drw=3", 0, 3},
    {"ldam", "ldam", 1, 0},
    {"ldam_m", "ldam:max_m=0.3,s=30", 1, 0},
    {"ldam_drw_before", "ldam:weights=effective,drw=2", 1, 1},
    {"ldam_drw_after", "ldam:weights=effective,drw=2", 1, 2},
    {"logit_adjust", "logit-adjust", 0, 0},
    {"logit_adjust_tau", "logit-adjust:tau=0.5,weights=inverse", 0, 0},
    {"balanced_softmax", "balanced-softmax", 0, 0},
    {"balanced_softmax_w", "balanced-softmax:weights=sqrt-inverse", 0, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: losses_dump OUT.safetensors\n"); return 2; }
    static float lin[NB * NC], cosl[NB * NC], grads[NCASES][NB * NC];
    static int32_t y[NB];
    static int64_t count[NC];
    static char meta_val[NCASES][256];
    tl_rng rng;
    tl_rng_seed(&rng, 11, TL_RNG_DATA);
    double prior[NC], total = 0;
    for (int c = 0; c < NC; c++) { count[c] = (int64_t)(5000 * pow(0.01, c / (NC - 1.0))); total += (double)count[c]; }
    for (int c = 0; c < NC; c++) prior[c] = (double)count[c] / total;
    for (int i = 0; i < NB; i++) {
        /* Labels follow the long-tailed prior, with one of each class so every class appears. */
        double u = tl_rng_uniform(&rng), cum = 0;
        int k = NC - 1;
        for (int c = 0; c < NC; c++) { cum += prior[c]; if (u < cum) { k = c; break; } }
        y[i] = i < NC ? i : k;
        for (int j = 0; j < NC; j++) {
            lin[i * NC + j] = (float)(3 * tl_rng_normal(&rng));
            cosl[i * NC + j] = (float)(30 * (2 * tl_rng_uniform(&rng) - 1));
        }
    }
    int yi[NB];
    for (int i = 0; i < NB; i++) yi[i] = y[i];
    tl_st_tensor t[4 + NCASES];
    const char *meta[2 * NCASES];
    char gname[NCASES][64];
    int nt = 0;
    t[nt++] = (tl_st_tensor){"logits_linear", "F32", 2, {NB, NC}, lin};
    t[nt++] = (tl_st_tensor){"logits_cosine", "F32", 2, {NB, NC}, cosl};
    t[nt++] = (tl_st_tensor){"y", "I32", 1, {NB}, y};
    t[nt++] = (tl_st_tensor){"count", "I64", 1, {NC}, count};
    for (int k = 0; k < NCASES; k++) {
        tl_error err;
        tl_head head = {.C = NC, .scale = cases[k].cosine ? 30 : 1, .normalized = cases[k].cosine};
        tl_loss l;
        if (tl_loss_create(&l, cases[k].spec, NC, count, &head, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tl_loss_epoch(&l, cases[k].epoch);
        double v = tl_loss_compute(&l, grads[k], cases[k].cosine ? cosl : lin, yi, NB);
        tl_loss_destroy(&l);
        snprintf(meta_val[k], sizeof meta_val[k], "%s|%s|%d|%.17g", cases[k].spec, cases[k].cosine ? "cosine" : "linear",
                 cases[k].epoch, v);
        snprintf(gname[k], sizeof gname[k], "%s.grad", cases[k].key);
        t[nt++] = (tl_st_tensor){gname[k], "F32", 2, {NB, NC}, grads[k]};
        meta[2 * k] = cases[k].key;
        meta[2 * k + 1] = meta_val[k];
    }
    tl_error err;
    if (tl_st_write(argv[1], t, nt, meta, NCASES, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    return 0;
}
