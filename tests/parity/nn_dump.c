/* Runs every layer kernel of src/nn (conv2d aside) on fixed random inputs and writes the inputs,
 * outputs and gradients (for a random upstream gradient `dout`) to one safetensors file, for
 * tests/parity/test_nn.py to recompute with PyTorch. Case names prefix the tensors
 * ("bn_train1.dinp"); each case's metadata entry gives the op and its sizes ("op=maxpool N=1 ...").
 * Usage: nn_dump OUT.safetensors */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/safetensors.h"
#include "nn/nn.h"

#define MAX_T 512
#define MAX_META 128
#define NT 2 /* thread count: the larger cases are big enough to split */

typedef struct {
    tl_st_tensor t[MAX_T];
    void *own[MAX_T];
    int n;
    char *meta[2 * MAX_META];
    int nmeta;
    tl_rng rng;
} dump;

/* A new zeroed tensor named "case.name" of the given shape, owned by the dump. */
static void *add(dump *d, const char *cs, const char *name, const char *dtype, const int64_t *shape, int ndim) {
    if (d->n == MAX_T) { fprintf(stderr, "nn_dump: too many tensors\n"); exit(1); }
    tl_st_tensor *t = &d->t[d->n];
    size_t cnt = 1;
    for (int i = 0; i < ndim; i++) { t->shape[i] = shape[i]; cnt *= (size_t)shape[i]; }
    char *full = malloc(strlen(cs) + strlen(name) + 2);
    sprintf(full, "%s.%s", cs, name);
    t->name = full;
    t->dtype = dtype;
    t->ndim = ndim;
    t->data = d->own[d->n] = calloc(cnt, 4);
    d->n++;
    return d->own[d->n - 1];
}

/* F(d, case, "name", dims...) and I(...): a float / int32 tensor of that shape */
#define DIMS(...) (const int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define F(d, cs, name, ...) ((float *)add(d, cs, name, "F32", DIMS(__VA_ARGS__)))
#define I(d, cs, name, ...) ((int32_t *)add(d, cs, name, "I32", DIMS(__VA_ARGS__)))

static size_t numel(const dump *d) { return (size_t)tl_st_numel(&d->t[d->n - 1]); }

/* The last tensor added, filled with N(0, scale²). */
static float *randn(dump *d, float *x, float scale) {
    size_t n = numel(d);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * tl_rng_normal(&d->rng));
    return x;
}

static void meta(dump *d, const char *cs, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void meta(dump *d, const char *cs, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    d->meta[2 * d->nmeta] = strdup(cs);
    d->meta[2 * d->nmeta + 1] = strdup(buf);
    d->nmeta++;
}

static void linear_case(dump *d, const char *cs, int N, int IC, int OC, int bias) {
    meta(d, cs, "op=linear N=%d IC=%d OC=%d bias=%d", N, IC, OC, bias);
    float *x = randn(d, F(d, cs, "inp", N, IC), 1), *w = randn(d, F(d, cs, "w", OC, IC), 0.3f);
    float *b = bias ? randn(d, F(d, cs, "b", OC), 1) : NULL;
    float *y = F(d, cs, "out", N, OC), *dy = randn(d, F(d, cs, "dout", N, OC), 1);
    float *dx = F(d, cs, "dinp", N, IC), *dw = F(d, cs, "dw", OC, IC), *db = bias ? F(d, cs, "db", OC) : NULL;
    tl_linear_forward(y, x, w, b, N, IC, OC, NT);
    tl_linear_backward(dx, dw, db, dy, x, w, N, IC, OC, NT);
}

static void bn_case(dump *d, const char *cs, int N, int C, int HW, float offset) {
    const float eps = 1e-5f, mom = 0.1f;
    meta(d, cs, "op=bn N=%d C=%d HW=%d eps=%.9g momentum=%.9g", N, C, HW, eps, mom);
    float *x = randn(d, F(d, cs, "inp", N, C, HW), 2);
    for (size_t i = 0; i < (size_t)N * C * HW; i++) x[i] += offset;
    float *g = randn(d, F(d, cs, "gamma", C), 1), *b = randn(d, F(d, cs, "beta", C), 1);
    float *rm0 = randn(d, F(d, cs, "rm0", C), 1), *rv0 = F(d, cs, "rv0", C);
    for (int c = 0; c < C; c++) rv0[c] = 0.5f + (float)tl_rng_uniform(&d->rng);
    float *rm = F(d, cs, "rm", C), *rv = F(d, cs, "rv", C);
    memcpy(rm, rm0, C * 4); memcpy(rv, rv0, C * 4);
    float *y = F(d, cs, "out", N, C, HW), *mean = F(d, cs, "mean", C), *invstd = F(d, cs, "invstd", C);
    float *dy = randn(d, F(d, cs, "dout", N, C, HW), 1);
    float *dx = F(d, cs, "dinp", N, C, HW), *dg = F(d, cs, "dgamma", C), *db = F(d, cs, "dbeta", C);
    tl_batchnorm_forward_train(y, mean, invstd, rm, rv, x, g, b, N, C, HW, eps, mom, NT);
    tl_batchnorm_backward(dx, dg, db, dy, x, mean, invstd, g, N, C, HW, NT);
    /* evaluation mode with the initial running statistics */
    float *ye = F(d, cs, "eval_out", N, C, HW), *dxe = F(d, cs, "eval_dinp", N, C, HW);
    tl_batchnorm_forward_eval(ye, x, g, b, rm0, rv0, N, C, HW, eps, NT);
    tl_batchnorm_backward_eval(dxe, dy, g, rv0, N, C, HW, eps, NT);
}

static void relu_case(dump *d, const char *cs, int n) {
    meta(d, cs, "op=relu n=%d", n);
    float *x = randn(d, F(d, cs, "inp", n), 1), *y = F(d, cs, "out", n);
    float *dy = randn(d, F(d, cs, "dout", n), 1), *dx = F(d, cs, "dinp", n);
    tl_relu_forward(y, x, (size_t)n, NT);
    tl_relu_backward(dx, dy, y, (size_t)n, NT);
}

static void dropout_case(dump *d, const char *cs, int n, float p) {
    meta(d, cs, "op=dropout n=%d p=%.9g", n, p);
    float *x = randn(d, F(d, cs, "inp", n), 1), *y = F(d, cs, "out", n), *m = F(d, cs, "mask", n);
    float *dy = randn(d, F(d, cs, "dout", n), 1), *dx = F(d, cs, "dinp", n);
    tl_rng r;
    tl_rng_seed(&r, 5, TL_RNG_DROPOUT);
    tl_dropout_forward(y, m, x, (size_t)n, p, &r);
    tl_dropout_backward(dx, dy, m, (size_t)n);
}

static void avgpool_case(dump *d, const char *cs, int N, int C, int H, int W, int K) {
    meta(d, cs, "op=avgpool N=%d C=%d H=%d W=%d K=%d", N, C, H, W, K);
    int OH = H / K, OW = W / K;
    float *x = randn(d, F(d, cs, "inp", N, C, H, W), 1), *y = F(d, cs, "out", N, C, OH, OW);
    float *dy = randn(d, F(d, cs, "dout", N, C, OH, OW), 1), *dx = F(d, cs, "dinp", N, C, H, W);
    tl_avgpool2d_forward(y, x, N, C, H, W, K, NT);
    tl_avgpool2d_backward(dx, dy, N, C, H, W, K, NT);
}

/* ties=1 rounds the input to a coarse grid so windows hold equal maxima (first one wins). */
static void maxpool_case(dump *d, const char *cs, int N, int C, int H, int W, int K, int s, int p, int ties) {
    meta(d, cs, "op=maxpool N=%d C=%d H=%d W=%d K=%d stride=%d pad=%d", N, C, H, W, K, s, p);
    int OH = tl_pool_out(H, K, s, p), OW = tl_pool_out(W, K, s, p);
    float *x = randn(d, F(d, cs, "inp", N, C, H, W), 1);
    if (ties)
        for (size_t i = 0; i < (size_t)N * C * H * W; i++) x[i] = (float)(int)(x[i] * 2.0f) * 0.5f;
    float *y = F(d, cs, "out", N, C, OH, OW);
    int32_t *am = I(d, cs, "argmax", N, C, OH, OW);
    float *dy = randn(d, F(d, cs, "dout", N, C, OH, OW), 1), *dx = F(d, cs, "dinp", N, C, H, W);
    tl_maxpool2d_forward(y, am, x, N, C, H, W, K, s, p, NT);
    tl_maxpool2d_backward(dx, dy, am, N, C, H, W, K, s, p, NT);
}

static void gap_case(dump *d, const char *cs, int N, int C, int H, int W) {
    meta(d, cs, "op=gap N=%d C=%d H=%d W=%d", N, C, H, W);
    float *x = randn(d, F(d, cs, "inp", N, C, H, W), 1), *y = F(d, cs, "out", N, C);
    float *dy = randn(d, F(d, cs, "dout", N, C), 1), *dx = F(d, cs, "dinp", N, C, H, W);
    tl_gap_forward(y, x, N, C, H * W, NT);
    tl_gap_backward(dx, dy, N, C, H * W, NT);
}

static void add_case(dump *d, const char *cs, int n) {
    meta(d, cs, "op=add n=%d", n);
    float *a = randn(d, F(d, cs, "a", n), 1), *b = randn(d, F(d, cs, "b", n), 1), *y = F(d, cs, "out", n);
    float *dy = randn(d, F(d, cs, "dout", n), 1), *da = F(d, cs, "da", n), *db = F(d, cs, "db", n);
    tl_add_forward(y, a, b, (size_t)n, NT);
    tl_add_backward(da, db, dy, (size_t)n, NT);
}

static void shortcut_case(dump *d, const char *cs, int N, int C, int H, int W, int OC) {
    meta(d, cs, "op=shortcut N=%d C=%d H=%d W=%d OC=%d", N, C, H, W, OC);
    int OH = (H + 1) / 2, OW = (W + 1) / 2;
    float *x = randn(d, F(d, cs, "inp", N, C, H, W), 1), *y = F(d, cs, "out", N, OC, OH, OW);
    float *dy = randn(d, F(d, cs, "dout", N, OC, OH, OW), 1), *dx = F(d, cs, "dinp", N, C, H, W);
    tl_shortcut_a_forward(y, x, N, C, H, W, OC, NT);
    tl_shortcut_a_backward(dx, dy, N, C, H, W, OC, NT);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: nn_dump OUT.safetensors\n"); return 2; }
    static dump d;
    tl_rng_seed(&d.rng, 2024, TL_RNG_DATA);
    linear_case(&d, "linear0", 4, 7, 5, 1);
    linear_case(&d, "linear1", 1, 3, 2, 0);
    linear_case(&d, "linear2", 129, 65, 33, 1);
    bn_case(&d, "bn0", 4, 3, 25, 0);
    bn_case(&d, "bn1", 7, 5, 1, 0);      /* BatchNorm1d */
    bn_case(&d, "bn2", 3, 2, 21, 50);    /* odd plane, large mean */
    bn_case(&d, "bn3", 8, 16, 289, 0);   /* split across threads */
    relu_case(&d, "relu0", 997);
    relu_case(&d, "relu1", 70001);
    dropout_case(&d, "dropout0", 1001, 0.3f);
    avgpool_case(&d, "avgpool0", 2, 3, 8, 8, 2);
    avgpool_case(&d, "avgpool1", 1, 2, 7, 5, 3);
    avgpool_case(&d, "avgpool2", 8, 16, 17, 17, 4);
    maxpool_case(&d, "maxpool0", 2, 3, 8, 8, 2, 2, 0, 0);
    maxpool_case(&d, "maxpool1", 1, 2, 7, 6, 3, 2, 1, 0);
    maxpool_case(&d, "maxpool2", 2, 2, 9, 9, 3, 1, 1, 1);
    maxpool_case(&d, "maxpool3", 8, 16, 17, 17, 3, 2, 1, 1);
    gap_case(&d, "gap0", 3, 5, 7, 7);
    gap_case(&d, "gap1", 2, 3, 1, 1);
    gap_case(&d, "gap2", 8, 64, 8, 9);
    add_case(&d, "add0", 1001);
    add_case(&d, "add1", 70001);
    shortcut_case(&d, "shortcut0", 2, 4, 8, 8, 8);
    shortcut_case(&d, "shortcut1", 1, 3, 7, 5, 7);
    shortcut_case(&d, "shortcut2", 8, 16, 17, 17, 32);
    tl_error err;
    int rc = tl_st_write(argv[1], d.t, d.n, (const char *const *)d.meta, d.nmeta, &err);
    if (rc) fprintf(stderr, "nn_dump: %s\n", err.msg);
    for (int i = 0; i < d.n; i++) { free((void *)d.t[i].name); free(d.own[i]); }
    for (int i = 0; i < 2 * d.nmeta; i++) free(d.meta[i]);
    return rc ? 1 : 0;
}
