/* Dumps M2m parity data for tests/parity/test_m2m.py:
 *   m2m_dump FARCH GARCH FHEAD OUT.safetensors
 * Builds f (FARCH with head FHEAD) and g (GARCH, linear head) for 3x8x8 images, 5 classes, batch 8,
 * lets each see two random training batches (so BN running statistics are not the identity), saves
 * them as OUT.f.model and OUT.g.model, then evaluates the M2m objective on the first S = 5 rows of a
 * fixed packed batch p in [0, 1] pixels (scale 255, each net with its own normalisation) and dumps p,
 * the targets k and seed classes k0, S, λ, the normalisations, the objective, its input gradient G
 * [8, 3, 8, 8] and p after one step with η. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "models/model.h"
#include "models/model_io.h"
#include "transfer/m2m.h"

enum { N = 8, CH = 3, HW = 8, C = 5, S = 5, D = CH * HW * HW };

static int build(tl_model *m, const char *arch, const char *head, uint64_t seed, const float *mean, const float *std,
                 const char *path) {
    tl_error err;
    tl_model_cfg cfg;
    if (tl_model_cfg_default(&cfg, arch, CH, HW, HW, C, &err)) { fprintf(stderr, "%s\n", err.msg); return -1; }
    cfg.feat_dim = 16;
    if (!strcmp(arch, "mlp")) { cfg.nhidden = 2; cfg.hidden[0] = 32; cfg.hidden[1] = 16; }
    snprintf(cfg.head, sizeof cfg.head, "%s", head);
    if (tl_model_init(m, &cfg, N, 2, seed, &err)) { fprintf(stderr, "%s\n", err.msg); return -1; }
    tl_rng r;
    tl_rng_seed(&r, seed + 50, TL_RNG_DATA);
    int y[N];
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N * D; i++) tl_model_input(m)[i] = (float)(0.3 + tl_rng_normal(&r));
        for (int i = 0; i < N; i++) y[i] = (int)tl_rng_below(&r, C);
        if (tl_model_forward(m, 1, y, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    }
    if (tl_model_save(m, 2, mean, std, path, &err)) { fprintf(stderr, "%s\n", err.msg); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: m2m_dump FARCH GARCH FHEAD OUT\n"); return 2; }
    const char *out = argv[4];
    static float mean_f[CH] = {120, 110, 100}, std_f[CH] = {60, 65, 70}, mean_g[CH] = {90, 130, 105},
                 std_g[CH] = {75, 55, 62};
    char path[4200];
    tl_model f, g;
    snprintf(path, sizeof path, "%s.f.model", out);
    if (build(&f, argv[1], argv[3], 1, mean_f, std_f, path)) return 1;
    snprintf(path, sizeof path, "%s.g.model", out);
    if (build(&g, argv[2], "linear", 2, mean_g, std_g, path)) return 1;

    static float p[N * D], G[N * D], p1[N * D];
    int k[N], k0[N], s = S;
    tl_rng r;
    tl_rng_seed(&r, 9, TL_RNG_DATA);
    for (int i = 0; i < N * D; i++) p[i] = i % 97 == 0 ? 0.0f : i % 89 == 0 ? 1.0f : (float)tl_rng_uniform(&r);
    for (int j = 0; j < N; j++) { k[j] = (int)tl_rng_below(&r, C); k0[j] = (int)tl_rng_below(&r, C); }
    float lambda = 0.5f, eta = 0.1f;
    tl_m2m_net nf = {&f, mean_f, std_f}, ng = {&g, mean_g, std_g};
    double L;
    tl_error err;
    if (tl_m2m_objective(&L, G, &ng, &nf, p, k, k0, S, lambda, 255.0f, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    float loss = (float)L;
    memcpy(p1, p, sizeof p);
    tl_m2m_step(p1, G, S, D, eta);

    tl_st_tensor t[] = {
        {.name = "p", .dtype = "F32", .ndim = 4, .shape = {N, CH, HW, HW}, .data = p},
        {.name = "k", .dtype = "I32", .ndim = 1, .shape = {N}, .data = k},
        {.name = "k0", .dtype = "I32", .ndim = 1, .shape = {N}, .data = k0},
        {.name = "S", .dtype = "I32", .ndim = 0, .data = &s},
        {.name = "lambda", .dtype = "F32", .ndim = 0, .data = &lambda},
        {.name = "eta", .dtype = "F32", .ndim = 0, .data = &eta},
        {.name = "mean_f", .dtype = "F32", .ndim = 1, .shape = {CH}, .data = mean_f},
        {.name = "std_f", .dtype = "F32", .ndim = 1, .shape = {CH}, .data = std_f},
        {.name = "mean_g", .dtype = "F32", .ndim = 1, .shape = {CH}, .data = mean_g},
        {.name = "std_g", .dtype = "F32", .ndim = 1, .shape = {CH}, .data = std_g},
        {.name = "loss", .dtype = "F32", .ndim = 0, .data = &loss},
        {.name = "G", .dtype = "F32", .ndim = 4, .shape = {N, CH, HW, HW}, .data = G},
        {.name = "p_step", .dtype = "F32", .ndim = 4, .shape = {N, CH, HW, HW}, .data = p1},
    };
    if (tl_st_write(out, t, (int)(sizeof t / sizeof *t), NULL, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    tl_model_free(&f);
    tl_model_free(&g);
    return 0;
}
