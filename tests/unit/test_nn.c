/* Layer kernels (src/nn, all but conv2d): finite-difference gradient checks for every input and
 * parameter, accumulation (+=) and NULL-gradient semantics, batch-norm train/eval behaviour,
 * max-pool argmax rules, dropout mask statistics, initialiser distributions, and bitwise
 * reproducibility across runs and thread counts. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/nn.h"

/* ---- helpers ---- */

static float *vec(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static void fill_normal(float *x, size_t n, float scale, tl_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * tl_rng_normal(r));
}

/* Normal values pushed at least `gap` away from 0, so a ReLU kink is never crossed by ±h. */
static void fill_away_from_zero(float *x, size_t n, float gap, tl_rng *r) {
    for (size_t i = 0; i < n; i++) {
        float v = (float)tl_rng_normal(r);
        x[i] = v < 0 ? v - gap : v + gap;
    }
}

/* Distinct values 0.05 apart in random order: no max-pool window has a near tie. */
static void fill_distinct(float *x, size_t n, tl_rng *r) {
    int *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = (int)i;
    tl_rng_shuffle(r, idx, (int)n);
    for (size_t i = 0; i < n; i++) x[i] = 0.05f * (float)(idx[i] - (int)n / 2);
    free(idx);
}

/* A kernel under test: `forward` reads the context and writes out[nout]. */
typedef struct {
    int N, C, H, W, K, stride, pad, OC, IC;
    float p, eps, momentum;
    float *inp, *inp2, *w, *b, *gamma, *beta, *mean, *invstd, *rm, *rv, *mask, *out;
    int32_t *argmax;
    size_t nout;
    uint64_t seed;
    void (*forward)(void *ctx);
} layer;

/* L = Σ out·R in double. */
static double proj_loss(layer *L, const float *R) {
    L->forward(L);
    double s = 0;
    for (size_t i = 0; i < L->nout; i++) s += (double)L->out[i] * R[i];
    return s;
}

/* Central differences of L = Σ out·R against the analytic gradient g of x[0..n): checks
 * |num - g| <= 1e-2·max(|num|, |g|) + 1e-3·max|g| at every element. */
static void grad_check(const char *what, layer *L, const float *R, float *x, const float *g, size_t n, float h) {
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float xi = x[i], xp = xi + h, xm = xi - h;
        x[i] = xp;
        double lp = proj_loss(L, R);
        x[i] = xm;
        double lm = proj_loss(L, R);
        x[i] = xi;
        double num = (lp - lm) / ((double)xp - (double)xm);
        double tol = 1e-2 * fmax(fabs(num), fabs(g[i])) + 1e-3 * gmax;
        if (!(fabs(num - g[i]) <= tol) && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: analytic %.7g numeric %.7g\n", what, i, g[i], num);
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu gradient entries off", what, bad, n);
    L->forward(L); /* leave the output of the unperturbed input */
}

/* b ≈ 2a: a second backward call added the same gradient again. */
static void check_doubled(const char *what, const float *a, const float *b, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(b[i] - 2 * a[i]) <= 1e-5f * fmaxf(1.0f, fabsf(b[i])))) bad++;
    CHECK_MSG(bad == 0, "%s: %d entries not doubled by a second backward", what, bad);
}

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* ---- Linear ---- */

static void fwd_linear(void *c) {
    layer *L = c;
    tl_linear_forward(L->out, L->inp, L->w, L->b, L->N, L->IC, L->OC, 1);
}

static void test_linear_grad(void) {
    tl_rng r;
    tl_rng_seed(&r, 1, 0);
    layer L = {.N = 3, .IC = 7, .OC = 5, .forward = fwd_linear};
    size_t ni = (size_t)L.N * L.IC, nw = (size_t)L.OC * L.IC, no = (size_t)L.N * L.OC;
    L.inp = vec(ni); L.w = vec(nw); L.b = vec(L.OC); L.out = vec(no); L.nout = no;
    float *R = vec(no), *di = vec(ni), *dw = vec(nw), *db = vec(L.OC);
    fill_normal(L.inp, ni, 1, &r); fill_normal(L.w, nw, 1, &r); fill_normal(L.b, L.OC, 1, &r); fill_normal(R, no, 1, &r);
    tl_linear_backward(di, dw, db, R, L.inp, L.w, L.N, L.IC, L.OC, 1);
    grad_check("linear dinp", &L, R, L.inp, di, ni, 1e-2f);
    grad_check("linear dw", &L, R, L.w, dw, nw, 1e-2f);
    grad_check("linear db", &L, R, L.b, db, L.OC, 1e-2f);
    /* accumulation, then NULL gradients skipped and the others unchanged */
    float *di2 = vec(ni), *dw2 = vec(nw), *db2 = vec(L.OC);
    memcpy(di2, di, ni * 4); memcpy(dw2, dw, nw * 4); memcpy(db2, db, L.OC * 4);
    tl_linear_backward(di2, dw2, db2, R, L.inp, L.w, L.N, L.IC, L.OC, 1);
    check_doubled("linear dinp", di, di2, ni);
    check_doubled("linear dw", dw, dw2, nw);
    check_doubled("linear db", db, db2, L.OC);
    memset(di2, 0, ni * 4); memset(dw2, 0, nw * 4); memset(db2, 0, L.OC * 4);
    tl_linear_backward(di2, NULL, NULL, R, L.inp, L.w, L.N, L.IC, L.OC, 1);
    tl_linear_backward(NULL, dw2, NULL, R, L.inp, L.w, L.N, L.IC, L.OC, 1);
    tl_linear_backward(NULL, NULL, db2, R, L.inp, L.w, L.N, L.IC, L.OC, 1);
    CHECK(same_bits(di, di2, ni) && same_bits(dw, dw2, nw) && same_bits(db, db2, L.OC));
    /* no bias: the forward equals the biased one minus b */
    float *o2 = vec(no);
    tl_linear_forward(o2, L.inp, L.w, NULL, L.N, L.IC, L.OC, 1);
    for (int n = 0; n < L.N; n++)
        for (int j = 0; j < L.OC; j++) CHECK_CLOSE(o2[n * L.OC + j] + L.b[j], L.out[n * L.OC + j], 1e-5);
    free(L.inp); free(L.w); free(L.b); free(L.out); free(R); free(di); free(dw); free(db);
    free(di2); free(dw2); free(db2); free(o2);
}

/* ---- BatchNorm ---- */

static void fwd_bn_train(void *c) {
    layer *L = c;
    tl_batchnorm_forward_train(L->out, L->mean, L->invstd, L->rm, L->rv, L->inp, L->gamma, L->beta,
                               L->N, L->C, L->H, L->eps, L->momentum, 1);
}

static void fwd_bn_eval(void *c) {
    layer *L = c;
    tl_batchnorm_forward_eval(L->out, L->inp, L->gamma, L->beta, L->rm, L->rv, L->N, L->C, L->H, L->eps, 1);
}

/* H holds HW here. */
static void bn_grad_case(int N, int C, int HW) {
    tl_rng r;
    tl_rng_seed(&r, 2, (uint64_t)HW);
    layer L = {.N = N, .C = C, .H = HW, .eps = 1e-5f, .momentum = 0.1f, .forward = fwd_bn_train};
    size_t n = (size_t)N * C * HW;
    L.inp = vec(n); L.out = vec(n); L.nout = n;
    L.gamma = vec(C); L.beta = vec(C); L.mean = vec(C); L.invstd = vec(C); L.rm = vec(C); L.rv = vec(C);
    float *R = vec(n), *di = vec(n), *dg = vec(C), *dbt = vec(C);
    fill_normal(L.inp, n, 2, &r); fill_normal(R, n, 1, &r);
    for (int c = 0; c < C; c++) { L.gamma[c] = 0.5f + (float)tl_rng_uniform(&r); L.beta[c] = (float)tl_rng_normal(&r); }
    L.forward(&L);
    tl_batchnorm_backward(di, dg, dbt, R, L.inp, L.mean, L.invstd, L.gamma, N, C, HW, 1);
    grad_check("bn dinp", &L, R, L.inp, di, n, 1e-2f);
    grad_check("bn dgamma", &L, R, L.gamma, dg, C, 1e-2f);
    grad_check("bn dbeta", &L, R, L.beta, dbt, C, 1e-2f);
    float *di2 = vec(n), *dg2 = vec(C), *db2 = vec(C);
    memcpy(di2, di, n * 4); memcpy(dg2, dg, C * 4); memcpy(db2, dbt, C * 4);
    tl_batchnorm_backward(di2, dg2, db2, R, L.inp, L.mean, L.invstd, L.gamma, N, C, HW, 1);
    check_doubled("bn dinp", di, di2, n);
    check_doubled("bn dgamma", dg, dg2, C);
    check_doubled("bn dbeta", dbt, db2, C);
    memset(di2, 0, n * 4); memset(dg2, 0, C * 4); memset(db2, 0, C * 4);
    tl_batchnorm_backward(di2, NULL, NULL, R, L.inp, L.mean, L.invstd, L.gamma, N, C, HW, 1);
    tl_batchnorm_backward(NULL, dg2, NULL, R, L.inp, L.mean, L.invstd, L.gamma, N, C, HW, 1);
    tl_batchnorm_backward(NULL, NULL, db2, R, L.inp, L.mean, L.invstd, L.gamma, N, C, HW, 1);
    CHECK(same_bits(di, di2, n) && same_bits(dg, dg2, C) && same_bits(dbt, db2, C));

    /* evaluation mode: gradient with respect to the input through the running statistics */
    L.forward = fwd_bn_eval;
    for (int c = 0; c < C; c++) { L.rm[c] = (float)tl_rng_normal(&r); L.rv[c] = 0.5f + (float)tl_rng_uniform(&r); }
    memset(di, 0, n * 4);
    tl_batchnorm_backward_eval(di, R, L.gamma, L.rv, N, C, HW, L.eps, 1);
    grad_check("bn eval dinp", &L, R, L.inp, di, n, 1e-2f);
    memcpy(di2, di, n * 4);
    tl_batchnorm_backward_eval(di2, R, L.gamma, L.rv, N, C, HW, L.eps, 1);
    check_doubled("bn eval dinp", di, di2, n);
    free(L.inp); free(L.out); free(L.gamma); free(L.beta); free(L.mean); free(L.invstd); free(L.rm); free(L.rv);
    free(R); free(di); free(dg); free(dbt); free(di2); free(dg2); free(db2);
}

static void test_batchnorm2d_grad(void) { bn_grad_case(3, 2, 5); }
static void test_batchnorm1d_grad(void) { bn_grad_case(6, 3, 1); }

/* Training mode: saved statistics, normalised output, running-statistics update (PyTorch momentum
 * semantics, unbiased running variance); a large mean must not cost accuracy. */
static void test_batchnorm_train_stats(void) {
    const int N = 4, C = 3, HW = 9;
    const float eps = 1e-5f, mom = 0.1f;
    size_t n = (size_t)N * C * HW;
    float *x = vec(n), *y = vec(n), g[3] = {1.5f, 0.5f, 2.0f}, b[3] = {0.1f, -1.0f, 3.0f};
    float mean[3], invstd[3], rm[3] = {0.5f, -0.5f, 0.0f}, rv[3] = {2.0f, 1.0f, 0.25f};
    tl_rng r;
    tl_rng_seed(&r, 3, 0);
    fill_normal(x, n, 1, &r);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < HW; k++) x[((size_t)i * C + 2) * HW + k] += 1000.0f; /* channel 2: mean ~1000 */
    tl_batchnorm_forward_train(y, mean, invstd, rm, rv, x, g, b, N, C, HW, eps, mom, 1);
    const float rm0[3] = {0.5f, -0.5f, 0.0f}, rv0[3] = {2.0f, 1.0f, 0.25f};
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0, ys = 0, yss = 0, M = (double)N * HW;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < HW; k++) s += x[((size_t)i * C + c) * HW + k];
        double mu = s / M;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < HW; k++) {
                double d = x[((size_t)i * C + c) * HW + k] - mu, v = y[((size_t)i * C + c) * HW + k];
                ss += d * d; ys += v; yss += v * v;
            }
        double var = ss / M;
        CHECK_CLOSE(mean[c], mu, 1e-6);
        CHECK_CLOSE(invstd[c], 1.0 / sqrt(var + eps), 1e-5);
        CHECK_CLOSE(rm[c], 0.9 * rm0[c] + 0.1 * mu, 1e-6);
        CHECK_CLOSE(rv[c], 0.9 * rv0[c] + 0.1 * var * M / (M - 1), 1e-6);
        double ym = ys / M, ystd = sqrt(yss / M - ym * ym);
        CHECK_CLOSE(ym, b[c], 1e-4);
        CHECK_CLOSE(ystd, g[c] * sqrt(var / (var + eps)), 1e-3);
    }
    free(x); free(y);
}

/* Evaluation mode: the running statistics normalise, so a sample's output does not depend on the
 * rest of the batch, and it matches the formula. */
static void test_batchnorm_eval(void) {
    const int N = 5, C = 2, HW = 6;
    size_t n = (size_t)N * C * HW, one = (size_t)C * HW;
    float *x = vec(n), *y = vec(n), *y1 = vec(one), g[2] = {2.0f, -0.5f}, b[2] = {1.0f, 0.0f};
    float rm[2] = {0.3f, -2.0f}, rv[2] = {4.0f, 0.1f};
    tl_rng r;
    tl_rng_seed(&r, 4, 0);
    fill_normal(x, n, 3, &r);
    tl_batchnorm_forward_eval(y, x, g, b, rm, rv, N, C, HW, 1e-5f, 1);
    tl_batchnorm_forward_eval(y1, x + 3 * one, g, b, rm, rv, 1, C, HW, 1e-5f, 1);
    CHECK(same_bits(y1, y + 3 * one, one));
    for (size_t i = 0; i < n; i++) {
        int c = (int)((i / HW) % C);
        CHECK_CLOSE(y[i], (x[i] - rm[c]) / sqrt(rv[c] + 1e-5) * g[c] + b[c], 1e-5);
    }
    /* training mode on the same batch differs (it uses the batch statistics) */
    float mean[2], invstd[2], rmt[2] = {0.3f, -2.0f}, rvt[2] = {4.0f, 0.1f}, *yt = vec(n);
    tl_batchnorm_forward_train(yt, mean, invstd, rmt, rvt, x, g, b, N, C, HW, 1e-5f, 0.1f, 1);
    CHECK(!same_bits(yt, y, n));
    free(x); free(y); free(y1); free(yt);
}

/* ---- ReLU ---- */

static void fwd_relu(void *c) {
    layer *L = c;
    tl_relu_forward(L->out, L->inp, L->nout, 1);
}

static void test_relu_grad(void) {
    tl_rng r;
    tl_rng_seed(&r, 5, 0);
    const size_t n = 40;
    layer L = {.forward = fwd_relu, .nout = n};
    L.inp = vec(n); L.out = vec(n);
    float *R = vec(n), *di = vec(n), *di2 = vec(n);
    fill_away_from_zero(L.inp, n, 0.05f, &r); fill_normal(R, n, 1, &r);
    L.forward(&L);
    tl_relu_backward(di, R, L.out, n, 1);
    grad_check("relu dinp", &L, R, L.inp, di, n, 1e-3f);
    memcpy(di2, di, n * 4);
    tl_relu_backward(di2, R, L.out, n, 1);
    check_doubled("relu dinp", di, di2, n);
    /* in place */
    float *x = vec(n);
    memcpy(x, L.inp, n * 4);
    tl_relu_forward(x, x, n, 1);
    CHECK(same_bits(x, L.out, n));
    free(L.inp); free(L.out); free(R); free(di); free(di2); free(x);
}

/* ---- Dropout ---- */

static void fwd_dropout(void *c) {
    layer *L = c;
    tl_rng r;
    tl_rng_seed(&r, L->seed, TL_RNG_DROPOUT); /* the same mask on every call */
    tl_dropout_forward(L->out, L->mask, L->inp, L->nout, L->p, &r);
}

static void test_dropout_grad(void) {
    tl_rng r;
    tl_rng_seed(&r, 6, 0);
    const size_t n = 50;
    layer L = {.forward = fwd_dropout, .nout = n, .p = 0.4f, .seed = 77};
    L.inp = vec(n); L.out = vec(n); L.mask = vec(n);
    float *R = vec(n), *di = vec(n), *di2 = vec(n);
    fill_normal(L.inp, n, 1, &r); fill_normal(R, n, 1, &r);
    L.forward(&L);
    tl_dropout_backward(di, R, L.mask, n);
    grad_check("dropout dinp", &L, R, L.inp, di, n, 1e-2f);
    memcpy(di2, di, n * 4);
    tl_dropout_backward(di2, R, L.mask, n);
    check_doubled("dropout dinp", di, di2, n);
    free(L.inp); free(L.out); free(L.mask); free(R); free(di); free(di2);
}

/* The fraction dropped is p (within 5 standard errors), kept entries are scaled by exactly
 * 1/(1-p), the same seed gives the same mask, and p = 0 / p = 1 are identity / all zeros. */
static void test_dropout_stats(void) {
    const size_t n = 200000;
    float *x = vec(n), *y = vec(n), *m = vec(n), *m2 = vec(n);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f + (float)(i % 7);
    const float ps[3] = {0.1f, 0.5f, 0.8f};
    for (int t = 0; t < 3; t++) {
        float p = ps[t], keep = 1.0f / (1.0f - p);
        tl_rng r;
        tl_rng_seed(&r, 8, TL_RNG_DROPOUT);
        tl_dropout_forward(y, m, x, n, p, &r);
        size_t dropped = 0, wrong = 0;
        for (size_t i = 0; i < n; i++) {
            if (m[i] == 0.0f) { dropped++; wrong += y[i] != 0.0f; }
            else wrong += m[i] != keep || y[i] != x[i] * keep;
        }
        double frac = (double)dropped / n, se = sqrt(p * (1 - p) / n);
        CHECK_MSG(fabs(frac - p) < 5 * se, "p %g dropped %g", p, frac);
        CHECK(wrong == 0);
        tl_rng_seed(&r, 8, TL_RNG_DROPOUT);
        tl_dropout_forward(y, m2, x, n, p, &r);
        CHECK(same_bits(m, m2, n));
    }
    tl_rng r;
    tl_rng_seed(&r, 9, TL_RNG_DROPOUT);
    tl_dropout_forward(y, m, x, 1000, 0.0f, &r);
    CHECK(same_bits(y, x, 1000));
    tl_dropout_forward(y, m, x, 1000, 1.0f, &r);
    size_t nz = 0;
    for (size_t i = 0; i < 1000; i++) nz += y[i] != 0.0f || m[i] != 0.0f;
    CHECK(nz == 0);
    free(x); free(y); free(m); free(m2);
}

/* ---- Pooling ---- */

static void fwd_avgpool(void *c) {
    layer *L = c;
    tl_avgpool2d_forward(L->out, L->inp, L->N, L->C, L->H, L->W, L->K, 1);
}

static void avgpool_case(int N, int C, int H, int W, int K) {
    tl_rng r;
    tl_rng_seed(&r, 10, (uint64_t)K);
    layer L = {.N = N, .C = C, .H = H, .W = W, .K = K, .forward = fwd_avgpool};
    size_t ni = (size_t)N * C * H * W, no = (size_t)N * C * (H / K) * (W / K);
    L.inp = vec(ni); L.out = vec(no); L.nout = no;
    float *R = vec(no), *di = vec(ni), *di2 = vec(ni);
    fill_normal(L.inp, ni, 1, &r); fill_normal(R, no, 1, &r);
    tl_avgpool2d_backward(di, R, N, C, H, W, K, 1);
    grad_check("avgpool dinp", &L, R, L.inp, di, ni, 1e-2f);
    memcpy(di2, di, ni * 4);
    tl_avgpool2d_backward(di2, R, N, C, H, W, K, 1);
    check_doubled("avgpool dinp", di, di2, ni);
    free(L.inp); free(L.out); free(R); free(di); free(di2);
}

static void test_avgpool_grad(void) {
    avgpool_case(2, 3, 4, 6, 2);
    avgpool_case(1, 2, 7, 5, 3); /* trailing rows/columns dropped */
}

static void fwd_maxpool(void *c) {
    layer *L = c;
    tl_maxpool2d_forward(L->out, L->argmax, L->inp, L->N, L->C, L->H, L->W, L->K, L->stride, L->pad, 1);
}

static void maxpool_case(int N, int C, int H, int W, int K, int stride, int pad) {
    tl_rng r;
    tl_rng_seed(&r, 11, (uint64_t)(K * 100 + stride * 10 + pad));
    layer L = {.N = N, .C = C, .H = H, .W = W, .K = K, .stride = stride, .pad = pad, .forward = fwd_maxpool};
    size_t ni = (size_t)N * C * H * W;
    size_t no = (size_t)N * C * tl_pool_out(H, K, stride, pad) * tl_pool_out(W, K, stride, pad);
    L.inp = vec(ni); L.out = vec(no); L.nout = no; L.argmax = malloc(no * sizeof(int32_t));
    float *R = vec(no), *di = vec(ni), *di2 = vec(ni);
    fill_distinct(L.inp, ni, &r); fill_normal(R, no, 1, &r);
    L.forward(&L);
    tl_maxpool2d_backward(di, R, L.argmax, N, C, H, W, K, stride, pad, 1);
    grad_check("maxpool dinp", &L, R, L.inp, di, ni, 1e-3f);
    memcpy(di2, di, ni * 4);
    tl_maxpool2d_backward(di2, R, L.argmax, N, C, H, W, K, stride, pad, 1);
    check_doubled("maxpool dinp", di, di2, ni);
    free(L.inp); free(L.out); free(L.argmax); free(R); free(di); free(di2);
}

static void test_maxpool_grad(void) {
    maxpool_case(2, 2, 6, 6, 2, 2, 0);
    maxpool_case(1, 3, 7, 6, 3, 2, 1); /* overlapping windows, padding */
    maxpool_case(1, 1, 5, 5, 3, 1, 1);
}

/* Argmax rules: first maximum in row-major order on ties, padding never wins (all-negative
 * input), the index is the flat h·W + w of the input plane. */
static void test_maxpool_argmax(void) {
    float x[9] = {1, 3, 3, 0, 3, 2, 0, 0, 0}, y[4];
    int32_t am[4];
    tl_maxpool2d_forward(y, am, x, 1, 1, 3, 3, 2, 1, 0, 1);
    CHECK(y[0] == 3 && am[0] == 1); /* tie 3,3 at 1 and 4: first */
    CHECK(y[1] == 3 && am[1] == 1);
    CHECK(y[2] == 3 && am[2] == 4);
    CHECK(y[3] == 3 && am[3] == 4);
    float neg[4] = {-5, -4, -3, -2}, yn[9];
    int32_t amn[9];
    tl_maxpool2d_forward(yn, amn, neg, 1, 1, 2, 2, 2, 1, 1, 1); /* 3x3 output, border windows padded */
    CHECK(yn[0] == -5 && amn[0] == 0);
    CHECK(yn[3] == -3 && amn[3] == 2);
    CHECK(yn[4] == -2 && amn[4] == 3);
    CHECK(yn[8] == -2 && amn[8] == 3);
    float dx[4] = {0}, dy[4] = {1, 10, 100, 1000};
    tl_maxpool2d_forward(yn, am, neg, 1, 1, 2, 2, 2, 2, 1, 1); /* 2x2 output, one input each */
    tl_maxpool2d_backward(dx, dy, am, 1, 1, 2, 2, 2, 2, 1, 1);
    CHECK(dx[0] == 1 && dx[1] == 10 && dx[2] == 100 && dx[3] == 1000);
}

/* ---- Global average pooling, add, shortcut ---- */

static void fwd_gap(void *c) {
    layer *L = c;
    tl_gap_forward(L->out, L->inp, L->N, L->C, L->H, 1);
}

static void test_gap_grad(void) {
    tl_rng r;
    tl_rng_seed(&r, 12, 0);
    layer L = {.N = 3, .C = 4, .H = 13, .forward = fwd_gap};
    size_t ni = 3 * 4 * 13, no = 12;
    L.inp = vec(ni); L.out = vec(no); L.nout = no;
    float *R = vec(no), *di = vec(ni), *di2 = vec(ni);
    fill_normal(L.inp, ni, 1, &r); fill_normal(R, no, 1, &r);
    tl_gap_backward(di, R, L.N, L.C, L.H, 1);
    grad_check("gap dinp", &L, R, L.inp, di, ni, 1e-2f);
    memcpy(di2, di, ni * 4);
    tl_gap_backward(di2, R, L.N, L.C, L.H, 1);
    check_doubled("gap dinp", di, di2, ni);
    free(L.inp); free(L.out); free(R); free(di); free(di2);
}

static void fwd_add(void *c) {
    layer *L = c;
    tl_add_forward(L->out, L->inp, L->inp2, L->nout, 1);
}

static void test_add_grad(void) {
    tl_rng r;
    tl_rng_seed(&r, 13, 0);
    const size_t n = 30;
    layer L = {.forward = fwd_add, .nout = n};
    L.inp = vec(n); L.inp2 = vec(n); L.out = vec(n);
    float *R = vec(n), *da = vec(n), *db = vec(n), *da2 = vec(n);
    fill_normal(L.inp, n, 1, &r); fill_normal(L.inp2, n, 1, &r); fill_normal(R, n, 1, &r);
    tl_add_backward(da, db, R, n, 1);
    grad_check("add da", &L, R, L.inp, da, n, 1e-2f);
    grad_check("add db", &L, R, L.inp2, db, n, 1e-2f);
    memcpy(da2, da, n * 4);
    tl_add_backward(da2, NULL, R, n, 1);
    check_doubled("add da", da, da2, n);
    /* the same buffer for both gradients receives dout twice */
    memset(da2, 0, n * 4);
    tl_add_backward(da2, da2, R, n, 1);
    check_doubled("add da=db", da, da2, n);
    /* in place: out == a */
    float *x = vec(n);
    memcpy(x, L.inp, n * 4);
    tl_add_forward(x, x, L.inp2, n, 1);
    L.forward(&L);
    CHECK(same_bits(x, L.out, n));
    free(L.inp); free(L.inp2); free(L.out); free(R); free(da); free(db); free(da2); free(x);
}

static void fwd_shortcut(void *c) {
    layer *L = c;
    tl_shortcut_a_forward(L->out, L->inp, L->N, L->C, L->H, L->W, L->OC, 1);
}

static void shortcut_case(int N, int C, int H, int W, int OC) {
    tl_rng r;
    tl_rng_seed(&r, 14, (uint64_t)H);
    layer L = {.N = N, .C = C, .H = H, .W = W, .OC = OC, .forward = fwd_shortcut};
    size_t ni = (size_t)N * C * H * W, no = (size_t)N * OC * ((H + 1) / 2) * ((W + 1) / 2);
    L.inp = vec(ni); L.out = vec(no); L.nout = no;
    float *R = vec(no), *di = vec(ni), *di2 = vec(ni);
    fill_normal(L.inp, ni, 1, &r); fill_normal(R, no, 1, &r);
    tl_shortcut_a_backward(di, R, N, C, H, W, OC, 1);
    grad_check("shortcut dinp", &L, R, L.inp, di, ni, 1e-2f);
    memcpy(di2, di, ni * 4);
    tl_shortcut_a_backward(di2, R, N, C, H, W, OC, 1);
    check_doubled("shortcut dinp", di, di2, ni);
    /* the padded channels are zero */
    int OH = (H + 1) / 2, OW = (W + 1) / 2, P = (OC - C) / 2, nz = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < OC; c++)
            if (c < P || c >= P + C)
                for (int i = 0; i < OH * OW; i++) nz += L.out[((size_t)n * OC + c) * OH * OW + i] != 0.0f;
    CHECK(nz == 0);
    free(L.inp); free(L.out); free(R); free(di); free(di2);
}

static void test_shortcut_grad(void) {
    shortcut_case(2, 2, 6, 6, 4);
    shortcut_case(1, 3, 5, 7, 9); /* odd sizes: (H+1)/2 rows */
}

/* ---- Initialisers ---- */

static void moments(const float *w, size_t n, double *mean, double *sd, double *amax) {
    double s = 0, ss = 0, m = 0;
    for (size_t i = 0; i < n; i++) { s += w[i]; m = fmax(m, fabs(w[i])); }
    *mean = s / n;
    for (size_t i = 0; i < n; i++) ss += (w[i] - *mean) * (w[i] - *mean);
    *sd = sqrt(ss / (n - 1));
    *amax = m;
}

/* U(-b, b): mean 0 ± 5 s.e., sd b/√3 within 1%, every value within ±b and the range nearly filled.
 * N(0, 2/fan_in): mean 0 ± 5 s.e., sd within 1%, fourth moment 3σ⁴ within 5%. */
static void test_init_distributions(void) {
    const size_t n = 200000;
    float *w = vec(n);
    tl_rng r;
    tl_rng_seed(&r, 15, TL_RNG_INIT);
    const float bound = 1.0f / sqrtf(27.0f);
    tl_init_uniform(w, n, bound, &r);
    double mean, sd, amax;
    moments(w, n, &mean, &sd, &amax);
    double sd_u = bound / sqrt(3.0);
    CHECK_MSG(fabs(mean) < 5 * sd_u / sqrt((double)n), "uniform mean %g", mean);
    CHECK_CLOSE(sd / sd_u, 1.0, 1e-2);
    CHECK(amax <= bound && amax > 0.999 * bound);
    const int fan_in = 144;
    tl_init_kaiming_normal(w, n, fan_in, &r);
    moments(w, n, &mean, &sd, &amax);
    double sd_n = sqrt(2.0 / fan_in), m4 = 0;
    for (size_t i = 0; i < n; i++) m4 += pow(w[i] - mean, 4);
    m4 /= n;
    CHECK_MSG(fabs(mean) < 5 * sd_n / sqrt((double)n), "normal mean %g", mean);
    CHECK_CLOSE(sd / sd_n, 1.0, 1e-2);
    CHECK_CLOSE(m4 / (3 * pow(sd_n, 4)), 1.0, 5e-2);
    /* reproducible from the seed */
    float *w2 = vec(n);
    tl_rng_seed(&r, 15, TL_RNG_INIT);
    tl_init_uniform(w, 1000, bound, &r);
    tl_rng_seed(&r, 15, TL_RNG_INIT);
    tl_init_uniform(w2, 1000, bound, &r);
    CHECK(same_bits(w, w2, 1000));
    free(w); free(w2);
}

/* ---- Reproducibility: every kernel, forward and backward, on a tensor large enough for the
 * OpenMP team to split, gives the same bits with 1 and 2 threads and on a repeated run. ---- */

typedef struct { float *v[32]; size_t n[32]; int k; } outs;

/* A zeroed output buffer that the comparison will look at. */
static float *keep(outs *o, size_t n) {
    o->n[o->k] = n;
    return o->v[o->k++] = vec(n);
}

static void run_all(outs *o, int nt) {
    const int N = 8, C = 16, H = 17, W = 17, HW = H * W, OC = 32, NL = 320, D = 300, F = 200;
    const size_t n = (size_t)N * C * HW;
    tl_rng r;
    tl_rng_seed(&r, 16, 0);
    float *x = vec(n), *x2 = vec(n), *dy = vec(n), *g = vec(C), *b = vec(C);
    fill_normal(x, n, 1, &r); fill_normal(x2, n, 1, &r); fill_normal(dy, n, 1, &r);
    for (int c = 0; c < C; c++) { g[c] = 1.0f + 0.1f * c; b[c] = 0.01f * c; }
    o->k = 0;
    float *mean = keep(o, C), *invstd = keep(o, C), *rm = keep(o, C), *rv = keep(o, C);
    float *y = keep(o, n), *dx = keep(o, n), *dg = keep(o, C), *dbt = keep(o, C);
    for (int c = 0; c < C; c++) rv[c] = 1;
    tl_batchnorm_forward_train(y, mean, invstd, rm, rv, x, g, b, N, C, HW, 1e-5f, 0.1f, nt);
    tl_batchnorm_backward(dx, dg, dbt, dy, x, mean, invstd, g, N, C, HW, nt);
    float *ye = keep(o, n), *dxe = keep(o, n);
    tl_batchnorm_forward_eval(ye, x, g, b, rm, rv, N, C, HW, 1e-5f, nt);
    tl_batchnorm_backward_eval(dxe, dy, g, rv, N, C, HW, 1e-5f, nt);
    float *yr = keep(o, n), *dxr = keep(o, n);
    tl_relu_forward(yr, x, n, nt);
    tl_relu_backward(dxr, dy, yr, n, nt);
    float *ya = keep(o, n), *dxa = keep(o, n);
    tl_add_forward(ya, x, x2, n, nt);
    tl_add_backward(dxa, dxa, dy, n, nt);
    size_t np = (size_t)N * C * tl_pool_out(H, 3, 2, 1) * tl_pool_out(W, 3, 2, 1);
    float *ym = keep(o, np), *dxm = keep(o, n);
    int32_t *am = malloc(np * sizeof *am);
    tl_maxpool2d_forward(ym, am, x, N, C, H, W, 3, 2, 1, nt);
    tl_maxpool2d_backward(dxm, dy, am, N, C, H, W, 3, 2, 1, nt);
    free(am);
    float *yp = keep(o, (size_t)N * C * (H / 2) * (W / 2)), *dxp = keep(o, n);
    tl_avgpool2d_forward(yp, x, N, C, H, W, 2, nt);
    tl_avgpool2d_backward(dxp, dy, N, C, H, W, 2, nt);
    float *yg = keep(o, (size_t)N * C), *dxg = keep(o, n);
    tl_gap_forward(yg, x, N, C, HW, nt);
    tl_gap_backward(dxg, dy, N, C, HW, nt);
    float *ys = keep(o, (size_t)N * OC * 9 * 9), *dxs = keep(o, n);
    tl_shortcut_a_forward(ys, x, N, C, H, W, OC, nt);
    tl_shortcut_a_backward(dxs, dy, N, C, H, W, OC, nt);
    /* linear: the BLAS thread count is the caller's (fixed here); nthreads sizes the bias loops */
    float *xl = vec((size_t)NL * D), *wl = vec((size_t)F * D), *bl = vec(F);
    fill_normal(xl, (size_t)NL * D, 1, &r); fill_normal(wl, (size_t)F * D, 0.1f, &r); fill_normal(bl, F, 1, &r);
    float *yl = keep(o, (size_t)NL * F), *dxl = keep(o, (size_t)NL * D), *dwl = keep(o, (size_t)F * D), *dbl = keep(o, F);
    tl_linear_forward(yl, xl, wl, bl, NL, D, F, nt);
    tl_linear_backward(dxl, dwl, dbl, yl, xl, wl, NL, D, F, nt);
    free(xl); free(wl); free(bl);
    free(x); free(x2); free(dy); free(g); free(b);
}

static void test_reproducible(void) {
    outs a, b, c;
    run_all(&a, 1);
    run_all(&b, 2);
    run_all(&c, 2);
    CHECK(a.k == b.k && b.k == c.k);
    for (int i = 0; i < a.k; i++) {
        CHECK_MSG(same_bits(a.v[i], b.v[i], a.n[i]), "output %d differs between 1 and 2 threads", i);
        CHECK_MSG(same_bits(b.v[i], c.v[i], b.n[i]), "output %d differs between two runs", i);
        free(a.v[i]); free(b.v[i]); free(c.v[i]);
    }
}

int main(void) {
    RUN_TEST(test_linear_grad);
    RUN_TEST(test_batchnorm2d_grad);
    RUN_TEST(test_batchnorm1d_grad);
    RUN_TEST(test_batchnorm_train_stats);
    RUN_TEST(test_batchnorm_eval);
    RUN_TEST(test_relu_grad);
    RUN_TEST(test_dropout_grad);
    RUN_TEST(test_dropout_stats);
    RUN_TEST(test_avgpool_grad);
    RUN_TEST(test_maxpool_grad);
    RUN_TEST(test_maxpool_argmax);
    RUN_TEST(test_gap_grad);
    RUN_TEST(test_add_grad);
    RUN_TEST(test_shortcut_grad);
    RUN_TEST(test_init_distributions);
    RUN_TEST(test_reproducible);
    TEST_MAIN_END();
}
