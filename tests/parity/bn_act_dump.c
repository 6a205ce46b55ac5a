/* Runs the fused BN + residual + ReLU kernels (src/nn/bn_act.c) on fixed random inputs and writes
 * inputs, outputs and gradients (for a random upstream gradient `dout`) to one safetensors file for
 * tests/parity/test_bn_act.py. Each case's metadata gives "N= C= HW= res= relu= eps= momentum=".
 * Usage: bn_act_dump OUT.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/safetensors.h"
#include "nn/nn.h"

#define MAX_T 256
#define MAX_C 16
#define NT 2

typedef struct {
    tl_st_tensor t[MAX_T];
    int n;
    char *meta[2 * MAX_C];
    int nmeta;
    tl_rng rng;
} dump;

/* A zeroed float tensor "case.name" of `cnt` values with the given shape (ndim 1 or 3). */
static float *add(dump *d, const char *cs, const char *name, int64_t a, int64_t b, int64_t c, int ndim) {
    tl_st_tensor *t = &d->t[d->n++];
    char *full = malloc(strlen(cs) + strlen(name) + 2);
    sprintf(full, "%s.%s", cs, name);
    t->name = full;
    t->dtype = "F32";
    t->ndim = ndim;
    t->shape[0] = a; t->shape[1] = b; t->shape[2] = c;
    float *x = calloc((size_t)(ndim == 1 ? a : a * b * c), 4);
    t->data = x;
    return x;
}

static float *randn(dump *d, float *x, size_t n, float scale, float offset) {
    for (size_t i = 0; i < n; i++) x[i] = offset + (float)(scale * tl_rng_normal(&d->rng));
    return x;
}

static void bn_act_case(dump *d, const char *cs, int N, int C, int HW, int res, int relu, float offset) {
    const float eps = 1e-5f, mom = 0.1f;
    char buf[160];
    snprintf(buf, sizeof buf, "N=%d C=%d HW=%d res=%d relu=%d eps=%.9g momentum=%.9g", N, C, HW, res, relu, eps, mom);
    d->meta[2 * d->nmeta] = strdup(cs);
    d->meta[2 * d->nmeta + 1] = strdup(buf);
    d->nmeta++;
    size_t n = (size_t)N * C * HW;
    float *x = randn(d, add(d, cs, "inp", N, C, HW, 3), n, 2, offset);
    float *r = res ? randn(d, add(d, cs, "res", N, C, HW, 3), n, 1, 0) : NULL;
    float *g = randn(d, add(d, cs, "gamma", C, 0, 0, 1), (size_t)C, 0.5f, 1);
    float *b = randn(d, add(d, cs, "beta", C, 0, 0, 1), (size_t)C, 0.5f, 0);
    float *rm0 = randn(d, add(d, cs, "rm0", C, 0, 0, 1), (size_t)C, 0.1f, 0);
    float *rv0 = add(d, cs, "rv0", C, 0, 0, 1);
    for (int c = 0; c < C; c++) rv0[c] = 0.5f + (float)c / C;
    float *rm = add(d, cs, "rm", C, 0, 0, 1), *rv = add(d, cs, "rv", C, 0, 0, 1);
    memcpy(rm, rm0, (size_t)C * 4);
    memcpy(rv, rv0, (size_t)C * 4);
    float *y = add(d, cs, "out", N, C, HW, 3), *dy = randn(d, add(d, cs, "dout", N, C, HW, 3), n, 1, 0);
    float *mean = add(d, cs, "mean", C, 0, 0, 1), *invstd = add(d, cs, "invstd", C, 0, 0, 1);
    float *dx = add(d, cs, "dinp", N, C, HW, 3), *dr = res ? add(d, cs, "dres", N, C, HW, 3) : NULL;
    float *dg = add(d, cs, "dgamma", C, 0, 0, 1), *db = add(d, cs, "dbeta", C, 0, 0, 1);
    tl_bn_act_forward_train(y, mean, invstd, rm, rv, x, r, g, b, N, C, HW, eps, mom, relu, NT);
    /* with a residual the mask comes from the output; without, from x (out = NULL) */
    tl_bn_act_backward(dx, dr, dg, db, dy, x, res ? y : NULL, mean, invstd, g, b, N, C, HW, relu, 0, NT);
    float *ey = add(d, cs, "eval_out", N, C, HW, 3), *edx = add(d, cs, "eval_dinp", N, C, HW, 3);
    float *edr = res ? add(d, cs, "eval_dres", N, C, HW, 3) : NULL;
    tl_bn_act_forward_eval(ey, x, r, g, b, rm0, rv0, N, C, HW, eps, relu, NT);
    for (size_t i = 0; i < n; i++) { edx[i] = 7; if (edr) edr[i] = 7; }  /* overwritten, not added to */
    tl_bn_act_backward_eval(edx, edr, dy, x, res ? ey : NULL, g, b, rm0, rv0, N, C, HW, eps, relu, 1, NT);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: bn_act_dump OUT.safetensors\n"); return 2; }
    dump d = {0};
    tl_rng_seed(&d.rng, 11, 0);
    bn_act_case(&d, "bnrelu0", 4, 3, 25, 0, 1, 0);
    bn_act_case(&d, "bnres0", 4, 3, 25, 1, 0, 0);
    bn_act_case(&d, "bnresrelu0", 4, 3, 25, 1, 1, 0);
    bn_act_case(&d, "bnrelu1d", 7, 5, 1, 0, 1, 0);     /* BatchNorm1d */
    bn_act_case(&d, "bnresrelu1", 3, 2, 21, 1, 1, 50); /* odd plane, large mean */
    bn_act_case(&d, "bnresrelu2", 8, 16, 289, 1, 1, 0); /* split across threads */
    bn_act_case(&d, "bnplain0", 5, 4, 9, 0, 0, 0);
    tl_error err;
    int rc = tl_st_write(argv[1], d.t, d.n, (const char *const *)d.meta, d.nmeta, &err);
    if (rc) fprintf(stderr, "bn_act_dump: %s\n", err.msg);
    for (int i = 0; i < d.n; i++) { free((void *)d.t[i].name); free((void *)d.t[i].data); }
    for (int i = 0; i < 2 * d.nmeta; i++) free(d.meta[i]);
    return rc ? 1 : 0;
}
