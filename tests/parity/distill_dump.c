/* Writes random student/teacher logits and features and tailor's distillation losses and gradients
 * (src/transfer/kd.h) for test_distill.py. Usage: distill_dump OUT.safetensors. Tensors: zs, zt
 * [NB, NC] (normal·3), S [NB, DS], T [NB, DT] (normal), and per case "<key>.grad" (∂L/∂zs or ∂L/∂S);
 * metadata "<key>" = "%.17g" of the loss. Cases: kd (T = 4), kd_t1 (T = 1), rkd_d, rkd_a, and both on
 * L2-normalised features (the RKD classification recipe; gradient through the normalisation). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "transfer/kd.h"

#define NB 48
#define NC 10
#define DS 24
#define DT 16

static float zs[NB * NC], zt[NB * NC], S[NB * DS], T[NB * DT];

/* L of the RKD case on (optionally normalised) features, gradient into g [NB, DS]. */
static double rkd_case(float *g, int angle, int normalize) {
    static float sn[NB * DS], tn[NB * DT], dsn[NB * DS];
    const float *s = S, *t = T;
    float *d = g;
    double *work = malloc(tl_rkd_work_doubles(NB, DS, DT) * sizeof *work);
    if (!work) return NAN;
    if (normalize) {
        tl_l2_normalize_rows(sn, S, NB, DS);
        tl_l2_normalize_rows(tn, T, NB, DT);
        memset(dsn, 0, sizeof dsn);
        s = sn; t = tn; d = dsn;
    }
    double L = angle ? tl_rkd_angle(d, s, t, NB, DS, DT, 1, work) : tl_rkd_distance(d, s, t, NB, DS, DT, 1, work);
    if (normalize) tl_l2_normalize_rows_backward(g, dsn, S, NB, DS);
    free(work);
    return L;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: distill_dump OUT.safetensors\n"); return 2; }
    tl_rng rng;
    tl_rng_seed(&rng, 17, TL_RNG_DATA);
    for (int i = 0; i < NB * NC; i++) { zs[i] = (float)(3 * tl_rng_normal(&rng)); zt[i] = (float)(3 * tl_rng_normal(&rng)); }
    for (int i = 0; i < NB * DS; i++) S[i] = (float)tl_rng_normal(&rng);
    for (int i = 0; i < NB * DT; i++) T[i] = (float)tl_rng_normal(&rng);
    static float g[6][NB * DS];
    static char val[6][40];
    double L[6];
    L[0] = tl_kd_loss(g[0], zs, zt, NB, NC, 4, 1);
    L[1] = tl_kd_loss(g[1], zs, zt, NB, NC, 1, 1);
    L[2] = rkd_case(g[2], 0, 0);
    L[3] = rkd_case(g[3], 1, 0);
    L[4] = rkd_case(g[4], 0, 1);
    L[5] = rkd_case(g[5], 1, 1);
    const char *keys[6] = {"kd", "kd_t1", "rkd_d", "rkd_a", "rkd_d_norm", "rkd_a_norm"};
    char gname[6][40];
    const char *meta[12];
    tl_st_tensor t[10] = {{"zs", "F32", 2, {NB, NC}, zs}, {"zt", "F32", 2, {NB, NC}, zt},
                          {"S", "F32", 2, {NB, DS}, S}, {"T", "F32", 2, {NB, DT}, T}};
    for (int k = 0; k < 6; k++) {
        snprintf(gname[k], sizeof gname[k], "%s.grad", keys[k]);
        snprintf(val[k], sizeof val[k], "%.17g", L[k]);
        t[4 + k] = (tl_st_tensor){gname[k], "F32", 2, {NB, k < 2 ? NC : DS}, g[k]};
        meta[2 * k] = keys[k];
        meta[2 * k + 1] = val[k];
    }
    tl_error err;
    if (tl_st_write(argv[1], t, 10, meta, 6, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    return 0;
}
