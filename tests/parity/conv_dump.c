/* Writes tl_conv2d inputs, outputs and gradients for tests/parity/test_conv2d.py.
 * Usage: conv_dump DIR   writes DIR/conv_<k>.safetensors for each shape below, holding x, w, b,
 * dy, y and the gradients dx, dw, db accumulated onto the pre-filled dx0, dw0, db0
 * (metadata: stride, pad, bias, groups). Threads: OMP_NUM_THREADS (default 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "nn/nn.h"

typedef struct { int N, C, H, W, OC, K, s, p, bias, g; } cshape;   /* g: groups (0 = 1) */
static const cshape SHAPES[] = {
    {4, 1, 28, 28, 32, 3, 1, 1, 1, 1}, {4, 3, 32, 32, 16, 3, 1, 1, 0, 1}, {3, 16, 17, 15, 32, 3, 2, 1, 0, 1},
    {2, 32, 9, 9, 64, 3, 2, 1, 1, 1},  {2, 16, 8, 8, 24, 1, 2, 0, 0, 1},  {5, 3, 7, 9, 5, 1, 1, 0, 1, 1},
    {2, 64, 7, 7, 128, 3, 1, 1, 1, 1}, {2, 20, 11, 6, 7, 3, 1, 0, 0, 1},
    {2, 64, 9, 9, 64, 3, 2, 1, 0, 32}, {3, 12, 8, 7, 24, 3, 1, 1, 1, 4},
};

static float *rnd(size_t n, tl_rng *r) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)tl_rng_normal(r);
    return x;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: conv_dump DIR\n"); return 2; }
    const char *env = getenv("OMP_NUM_THREADS");
    int nt = env ? atoi(env) : 2;
    tl_rng r;
    tl_rng_seed(&r, 42, TL_RNG_SYNTH);
    for (size_t k = 0; k < sizeof SHAPES / sizeof *SHAPES; k++) {
        const cshape *s = &SHAPES[k];
        int G = s->g > 1 ? s->g : 1, CG = s->C / G;
        tl_conv2d *p = tl_conv2d_create_layout(s->N, s->C, s->H, s->W, s->OC, s->K, s->s, s->p, G, s->bias, TL_NCHW,
                                               TL_NCHW, nt);
        if (!p) { fprintf(stderr, "conv_dump: cannot create plan %zu\n", k); return 1; }
        int OH = tl_conv2d_out_h(p), OW = tl_conv2d_out_w(p);
        size_t ni = (size_t)s->N * s->C * s->H * s->W, nw = (size_t)s->OC * CG * s->K * s->K;
        size_t no = (size_t)s->N * s->OC * OH * OW;
        float *x = rnd(ni, &r), *w = rnd(nw, &r), *b = rnd(s->OC, &r), *dy = rnd(no, &r);
        float *dx0 = rnd(ni, &r), *dw0 = rnd(nw, &r), *db0 = rnd(s->OC, &r), *y = malloc(no * sizeof *y);
        float *dx = malloc(ni * 4), *dw = malloc(nw * 4), *db = malloc(s->OC * 4);
        memcpy(dx, dx0, ni * 4); memcpy(dw, dw0, nw * 4); memcpy(db, db0, s->OC * 4);
        tl_conv2d_forward(p, y, x, w, s->bias ? b : NULL);
        tl_conv2d_backward(p, dx, dw, s->bias ? db : NULL, dy, x, w);
        tl_st_tensor t[] = {
            {"x", "F32", 4, {s->N, s->C, s->H, s->W}, x},   {"w", "F32", 4, {s->OC, CG, s->K, s->K}, w},
            {"b", "F32", 1, {s->OC}, b},                    {"dy", "F32", 4, {s->N, s->OC, OH, OW}, dy},
            {"y", "F32", 4, {s->N, s->OC, OH, OW}, y},      {"dx0", "F32", 4, {s->N, s->C, s->H, s->W}, dx0},
            {"dw0", "F32", 4, {s->OC, CG, s->K, s->K}, dw0}, {"db0", "F32", 1, {s->OC}, db0},
            {"dx", "F32", 4, {s->N, s->C, s->H, s->W}, dx}, {"dw", "F32", 4, {s->OC, CG, s->K, s->K}, dw},
            {"db", "F32", 1, {s->OC}, db},
        };
        char path[4096], st[16], pd[16], bi[16], gr[16];
        snprintf(path, sizeof path, "%s/conv_%zu.safetensors", argv[1], k);
        snprintf(st, sizeof st, "%d", s->s); snprintf(pd, sizeof pd, "%d", s->p); snprintf(bi, sizeof bi, "%d", s->bias);
        snprintf(gr, sizeof gr, "%d", G);
        const char *meta[] = {"stride", st, "pad", pd, "bias", bi, "groups", gr};
        tl_error err;
        if (tl_st_write(path, t, (int)(sizeof t / sizeof *t), meta, 4, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tl_conv2d_free(p);
        free(x); free(w); free(b); free(dy); free(dx0); free(dw0); free(db0); free(y); free(dx); free(dw); free(db);
    }
    return 0;
}
