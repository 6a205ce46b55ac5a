/* Fused BN + residual + ReLU (src/nn/bn_act.c): finite-difference gradients of the training and
 * evaluation forwards for every input and parameter (with and without residual and ReLU, 2d and
 * 1d), agreement with the unfused kernels, the recomputation reproducing the forward bit for bit,
 * the ReLU mask from x equal to the mask from the output, accumulation and overwriting, reproducibility
 * across thread counts, and the HW = 1 row kernels (bn_act1.c) bitwise equal to a per-channel walk. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "nn/nn.h"
#include "nn/reduce.h"

static float *vec(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

typedef struct {
    int N, C, HW, res, relu, train;
    float *x, *r, *g, *b, *rm, *rv, *mean, *invstd, *out;
} bn;

static void forward(bn *L) {
    size_t C = (size_t)L->C;
    float rm[64], rv[64];
    memcpy(rm, L->rm, C * 4);  /* running statistics untouched by the probes */
    memcpy(rv, L->rv, C * 4);
    if (L->train)
        tl_bn_act_forward_train(L->out, L->mean, L->invstd, rm, rv, L->x, L->res ? L->r : NULL, L->g, L->b, L->N,
                                L->C, L->HW, 1e-5f, 0.1f, L->relu, 1);
    else
        tl_bn_act_forward_eval(L->out, L->x, L->res ? L->r : NULL, L->g, L->b, L->rm, L->rv, L->N, L->C, L->HW,
                               1e-5f, L->relu, 1);
}

static double loss(bn *L, const float *R, size_t n) {
    forward(L);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)L->out[i] * R[i];
    return s;
}

static void grad_check(const char *what, bn *L, const float *R, size_t nout, float *x, const float *g, size_t n) {
    const float h = 1e-2f;
    double gmax = 0;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float xi = x[i], xp = xi + h, xm = xi - h;
        x[i] = xp;
        double lp = loss(L, R, nout);
        x[i] = xm;
        double lm = loss(L, R, nout);
        x[i] = xi;
        double num = (lp - lm) / ((double)xp - (double)xm);
        if (!(fabs(num - g[i]) <= 1e-2 * fmax(fabs(num), fabs(g[i])) + 1e-3 * gmax) && bad++ < 3)
            fprintf(stderr, "  %s[%zu]: analytic %.7g numeric %.7g\n", what, i, g[i], num);
    }
    CHECK_MSG(bad == 0, "%s: %d of %zu gradient entries off", what, bad, n);
    forward(L);
}

/* Inputs whose pre-ReLU values stay far from 0 under ±h: each channel is symmetric (mean 0, so the
 * BN output has the sign of x with gamma > 0, beta ≈ 0) and at least 0.5 from 0; the residual has
 * the sign of x too. */
static void fill(bn *L, tl_rng *rng) {
    size_t n = (size_t)L->N * L->C * L->HW;
    L->x = vec(n); L->r = vec(n); L->out = vec(n);
    L->g = vec(L->C); L->b = vec(L->C); L->rm = vec(L->C); L->rv = vec(L->C); L->mean = vec(L->C); L->invstd = vec(L->C);
    int M = L->N * L->HW;
    for (int c = 0; c < L->C; c++) {
        for (int j = 0; j < M / 2; j++) {
            float v = 0.5f + (float)fabs(tl_rng_normal(rng));
            int a = j, b = M - 1 - j;
            L->x[((size_t)(a / L->HW) * L->C + c) * L->HW + a % L->HW] = v;
            L->x[((size_t)(b / L->HW) * L->C + c) * L->HW + b % L->HW] = -v;
        }
        L->g[c] = 0.75f + 0.5f * (float)c / L->C;
        L->b[c] = 0.01f * (float)(c - 1);
        L->rm[c] = 0.02f * (float)c;
        L->rv[c] = 0.8f + 0.1f * (float)c;
    }
    for (size_t i = 0; i < n; i++) L->r[i] = (L->x[i] > 0 ? 0.3f : -0.3f) * (float)fabs(tl_rng_normal(rng));
}

static void free_bn(bn *L) {
    free(L->x); free(L->r); free(L->out); free(L->g); free(L->b); free(L->rm); free(L->rv); free(L->mean); free(L->invstd);
}

static void grad_case(int N, int C, int HW, int res, int relu, int train) {
    tl_rng rng;
    tl_rng_seed(&rng, (uint64_t)(N * 100 + res * 10 + relu * 2 + train), 0);
    bn L = {.N = N, .C = C, .HW = HW, .res = res, .relu = relu, .train = train};
    fill(&L, &rng);
    size_t n = (size_t)N * C * HW;
    float *R = vec(n), *dx = vec(n), *dr = vec(n), *dg = vec(C), *db = vec(C);
    for (size_t i = 0; i < n; i++) R[i] = (float)tl_rng_normal(&rng);
    forward(&L);
    const float *y = res ? L.out : NULL;
    if (train)
        tl_bn_act_backward(dx, res ? dr : NULL, dg, db, R, L.x, y, L.mean, L.invstd, L.g, L.b, N, C, HW, relu, 0, 1);
    else
        tl_bn_act_backward_eval(dx, res ? dr : NULL, R, L.x, y, L.g, L.b, L.rm, L.rv, N, C, HW, 1e-5f, relu, 0, 1);
    grad_check("dinp", &L, R, n, L.x, dx, n);
    if (res) grad_check("dres", &L, R, n, L.r, dr, n);
    if (train) {
        grad_check("dgamma", &L, R, n, L.g, dg, C);
        grad_check("dbeta", &L, R, n, L.b, db, C);
    }
    free(R); free(dx); free(dr); free(dg); free(db);
    free_bn(&L);
}

static void test_grad_train(void) {
    for (int res = 0; res < 2; res++)
        for (int relu = 0; relu < 2; relu++) { grad_case(3, 2, 6, res, relu, 1); grad_case(6, 3, 1, res, relu, 1); }
}

static void test_grad_eval(void) {
    for (int res = 0; res < 2; res++)
        for (int relu = 0; relu < 2; relu++) grad_case(3, 2, 6, res, relu, 0);
}

/* Same values (to rounding) as tl_batchnorm_* + tl_add_* + tl_relu_*, running statistics bitwise;
 * the recomputation (apply) reproduces the output bitwise; the mask from x equals the mask from y. */
static void test_matches_unfused(void) {
    const int N = 4, C = 3, HW = 37;
    size_t n = (size_t)N * C * HW;
    tl_rng rng;
    tl_rng_seed(&rng, 5, 0);
    float *x = vec(n), *r = vec(n), *dy = vec(n), *g = vec(C), *b = vec(C);
    for (size_t i = 0; i < n; i++) { x[i] = 3 + 2 * (float)tl_rng_normal(&rng); r[i] = (float)tl_rng_normal(&rng); dy[i] = (float)tl_rng_normal(&rng); }
    for (int c = 0; c < C; c++) { g[c] = 1 + 0.3f * (float)tl_rng_normal(&rng); b[c] = 0.3f * (float)tl_rng_normal(&rng); }
    for (int res = 0; res < 2; res++) {
        float rm1[3] = {0}, rv1[3] = {1, 1, 1}, rm2[3] = {0}, rv2[3] = {1, 1, 1}, m1[3], s1[3], m2[3], s2[3];
        float *y1 = vec(n), *y2 = vec(n), *y3 = vec(n), *dx1 = vec(n), *dx2 = vec(n), *dx3 = vec(n), *t = vec(n);
        float *dr1 = vec(n), *dr2 = vec(n), dg1[3] = {0}, db1[3] = {0}, dg2[3] = {0}, db2[3] = {0};
        tl_bn_act_forward_train(y1, m1, s1, rm1, rv1, x, res ? r : NULL, g, b, N, C, HW, 1e-5f, 0.1f, 1, 2);
        tl_batchnorm_forward_train(y2, m2, s2, rm2, rv2, x, g, b, N, C, HW, 1e-5f, 0.1f, 1);
        if (res) tl_add_forward(y2, y2, r, n, 1);
        tl_relu_forward(y2, y2, n, 1);
        CHECK(memcmp(rm1, rm2, sizeof rm1) == 0 && memcmp(rv1, rv2, sizeof rv1) == 0);
        CHECK(memcmp(m1, m2, sizeof m1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(y1[i], y2[i], 1e-5);
        tl_bn_act_apply(y3, x, res ? r : NULL, m1, s1, g, b, N, C, HW, 1, 1);
        CHECK_MSG(memcmp(y1, y3, n * 4) == 0, "recomputed output differs from the forward's");
        tl_bn_act_backward(dx1, res ? dr1 : NULL, dg1, db1, dy, x, y1, m1, s1, g, b, N, C, HW, 1, 0, 2);
        tl_relu_backward(t, dy, y2, n, 1);
        if (res) tl_add_backward(dr2, NULL, t, n, 1);
        tl_batchnorm_backward(dx2, dg2, db2, t, x, m2, s2, g, N, C, HW, 1);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(dx1[i], dx2[i], 1e-4);
        for (size_t i = 0; i < n; i++) CHECK_CLOSE(dr1[i], dr2[i], 1e-6);
        for (int c = 0; c < C; c++) { CHECK_CLOSE(dg1[c], dg2[c], 1e-4); CHECK_CLOSE(db1[c], db2[c], 1e-4); }
        if (!res) {
            tl_bn_act_backward(dx3, NULL, NULL, NULL, dy, x, NULL, m1, s1, g, b, N, C, HW, 1, 0, 1);
            CHECK_MSG(memcmp(dx1, dx3, n * 4) == 0, "mask from x differs from the mask from the output");
        }
        free(y1); free(y2); free(y3); free(dx1); free(dx2); free(dx3); free(t); free(dr1); free(dr2);
    }
    free(x); free(r); free(dy); free(g); free(b);
}

/* A second backward adds the same gradients again; overwriting stores them; 1 and 2 threads give
 * the same bits. */
static void test_accumulate_overwrite_threads(void) {
    const int N = 8, C = 16, HW = 289;
    size_t n = (size_t)N * C * HW;
    tl_rng rng;
    tl_rng_seed(&rng, 9, 0);
    float *x = vec(n), *r = vec(n), *dy = vec(n), g[16], b[16];
    for (size_t i = 0; i < n; i++) { x[i] = (float)tl_rng_normal(&rng); r[i] = (float)tl_rng_normal(&rng); dy[i] = (float)tl_rng_normal(&rng); }
    for (int c = 0; c < C; c++) { g[c] = 1 + 0.1f * c; b[c] = 0.05f * c; }
    float *y[2], *dx[2], *dr[2], dg[2][16], db[2][16], m[2][16], s[2][16];
    for (int t = 0; t < 2; t++) {
        float rm[16] = {0}, rv[16] = {0};
        y[t] = vec(n); dx[t] = vec(n); dr[t] = vec(n);
        memset(dg[t], 0, sizeof dg[t]); memset(db[t], 0, sizeof db[t]);
        tl_bn_act_forward_train(y[t], m[t], s[t], rm, rv, x, r, g, b, N, C, HW, 1e-5f, 0.1f, 1, t + 1);
        tl_bn_act_backward(dx[t], dr[t], dg[t], db[t], dy, x, y[t], m[t], s[t], g, b, N, C, HW, 1, 0, t + 1);
    }
    CHECK(memcmp(y[0], y[1], n * 4) == 0 && memcmp(dx[0], dx[1], n * 4) == 0 && memcmp(dr[0], dr[1], n * 4) == 0);
    CHECK(memcmp(dg[0], dg[1], sizeof dg[0]) == 0 && memcmp(db[0], db[1], sizeof db[0]) == 0);
    float *dx2 = vec(n);
    memcpy(dx2, dx[0], n * 4);
    tl_bn_act_backward(dx2, NULL, NULL, NULL, dy, x, y[0], m[0], s[0], g, b, N, C, HW, 1, 0, 2);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += !(fabsf(dx2[i] - 2 * dx[0][i]) <= 1e-5f * fmaxf(1, fabsf(dx2[i])));
    CHECK_MSG(bad == 0, "%d entries not doubled", bad);
    /* overwrite = 1 over garbage gives the bits of overwrite = 0 over zeros (training and eval) */
    float *dx3 = vec(n), *dr3 = vec(n), *dx4 = vec(n), *dr4 = vec(n), rm[16], rv[16];
    for (size_t i = 0; i < n; i++) dx3[i] = dr3[i] = 1e30f;
    tl_bn_act_backward(dx3, dr3, NULL, NULL, dy, x, y[0], m[0], s[0], g, b, N, C, HW, 1, 1, 2);
    CHECK(memcmp(dx3, dx[0], n * 4) == 0 && memcmp(dr3, dr[0], n * 4) == 0);
    for (int c = 0; c < C; c++) { rm[c] = 0.1f * c; rv[c] = 1 + 0.2f * c; }
    tl_bn_act_forward_eval(y[1], x, r, g, b, rm, rv, N, C, HW, 1e-5f, 1, 2);
    for (size_t i = 0; i < n; i++) dx3[i] = dr3[i] = 1e30f;
    tl_bn_act_backward_eval(dx3, dr3, dy, x, y[1], g, b, rm, rv, N, C, HW, 1e-5f, 1, 1, 2);
    tl_bn_act_backward_eval(dx4, dr4, dy, x, y[1], g, b, rm, rv, N, C, HW, 1e-5f, 1, 0, 2);
    CHECK(memcmp(dx3, dx4, n * 4) == 0 && memcmp(dr3, dr4, n * 4) == 0);
    free(dx3); free(dr3); free(dx4); free(dr4);
    for (int t = 0; t < 2; t++) { free(y[t]); free(dx[t]); free(dr[t]); }
    free(dx2); free(x); free(r); free(dy);
}

/* The per-channel walk bn_act.c does for HW > 1, written out for HW = 1 (one element per plane): the
 * reference the row kernels of bn_act1.c must match bit for bit. */
static void ref1_train(float *y, float *mean, float *invstd, float *rm, float *rv, const float *x, const float *r,
                       const float *g, const float *b, int N, int C, int relu) {
    for (int c = 0; c < C; c++) {
        double mu, var;
        tl_bn_channel_stats(&mu, &var, x, N, C, 1, c);
        mean[c] = (float)mu;
        invstd[c] = (float)(1.0 / sqrt(var + 1e-5));
        tl_bn_running_update(&rm[c], &rv[c], mu, var, N, 0.1f);
        float sc, sh;
        tl_bn_affine(&sc, &sh, mean[c], invstd[c], g[c], b[c]);
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * C + c;
            float v = x[i] * sc + sh;
            if (r) v = x[i] * sc + sh + r[i];
            y[i] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}

static void ref1_backward(float *dx, float *dr, float *dg, float *db, const float *dy, const float *x, const float *y,
                          const float *mean, const float *invstd, const float *g, const float *b, int N, int C,
                          int relu) {
    for (int c = 0; c < C; c++) {
        float sc, sh, mu = mean[c];
        tl_bn_affine(&sc, &sh, mu, invstd[c], g[c], b[c]);
        double a1[TL_LANES] = {0}, a2[TL_LANES] = {0}, is = invstd[c];
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * C + c;
            float gi = !relu ? dy[i] : (y ? y[i] > 0.0f : x[i] * sc + sh > 0.0f) ? dy[i] : 0.0f;
            tl_lanes_sum(a1, &gi, 1);
            tl_lanes_dotdev(a2, &gi, &x[i], 1, mu);
            if (dr) dr[i] += gi;
        }
        double sg = tl_lanes_total(a1), sgx = tl_lanes_total(a2), gd = g[c] * is;
        db[c] += (float)sg;
        dg[c] += (float)(sgx * is);
        float gf = (float)gd, gk = (float)(gd * sgx * is * is / N), gm = (float)(gd * sg / N);
        for (int n = 0; n < N; n++) {
            size_t i = (size_t)n * C + c;
            float gi = !relu ? dy[i] : (y ? y[i] > 0.0f : x[i] * sc + sh > 0.0f) ? dy[i] : 0.0f;
            dx[i] += gf * gi - gk * (x[i] - mu) - gm;
        }
    }
}

/* HW = 1 with C = 200 (three full blocks of 64 and a remainder) and N large enough for two threads:
 * forward, statistics, running statistics, recomputation and backward bitwise equal to the walk. */
static void test_rows_match_walk(void) {
    const int N = 300, C = 200;
    size_t n = (size_t)N * C;
    tl_rng rng;
    tl_rng_seed(&rng, 11, 0);
    float *x = vec(n), *r = vec(n), *dy = vec(n), g[200], b[200];
    for (size_t i = 0; i < n; i++) { x[i] = 1 + 2 * (float)tl_rng_normal(&rng); r[i] = (float)tl_rng_normal(&rng); dy[i] = (float)tl_rng_normal(&rng); }
    for (int c = 0; c < C; c++) { g[c] = 1 + 0.3f * (float)tl_rng_normal(&rng); b[c] = 0.3f * (float)tl_rng_normal(&rng); }
    for (int res = 0; res < 2; res++)
        for (int relu = 0; relu < 2; relu++)
            for (int threads = 1; threads <= 2; threads++) {
                float m1[200], s1[200], m2[200], s2[200], rm1[200] = {0}, rm2[200] = {0}, rv1[200], rv2[200];
                float dg1[200] = {0}, dg2[200] = {0}, db1[200] = {0}, db2[200] = {0};
                for (int c = 0; c < C; c++) rv1[c] = rv2[c] = 1;
                float *y1 = vec(n), *y2 = vec(n), *y3 = vec(n), *dx1 = vec(n), *dx2 = vec(n), *dr1 = vec(n), *dr2 = vec(n);
                const float *rr = res ? r : NULL;
                tl_bn_act_forward_train(y1, m1, s1, rm1, rv1, x, rr, g, b, N, C, 1, 1e-5f, 0.1f, relu, threads);
                ref1_train(y2, m2, s2, rm2, rv2, x, rr, g, b, N, C, relu);
                CHECK(memcmp(y1, y2, n * 4) == 0 && memcmp(m1, m2, sizeof m1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
                CHECK(memcmp(rm1, rm2, sizeof rm1) == 0 && memcmp(rv1, rv2, sizeof rv1) == 0);
                tl_bn_act_apply(y3, x, rr, m1, s1, g, b, N, C, 1, relu, threads);
                CHECK(memcmp(y1, y3, n * 4) == 0);
                /* the mask from y only with a residual, as the network calls it */
                tl_bn_act_backward(dx1, res ? dr1 : NULL, dg1, db1, dy, x, res ? y1 : NULL, m1, s1, g, b, N, C, 1, relu, 0,
                                   threads);
                ref1_backward(dx2, res ? dr2 : NULL, dg2, db2, dy, x, res ? y2 : NULL, m2, s2, g, b, N, C, relu);
                CHECK_MSG(memcmp(dx1, dx2, n * 4) == 0 && memcmp(dr1, dr2, n * 4) == 0, "res %d relu %d threads %d", res,
                          relu, threads);
                CHECK(memcmp(dg1, dg2, sizeof dg1) == 0 && memcmp(db1, db2, sizeof db1) == 0);
                free(y1); free(y2); free(y3); free(dx1); free(dx2); free(dr1); free(dr2);
            }
    free(x); free(r); free(dy);
}

int main(void) {
    RUN_TEST(test_grad_train);
    RUN_TEST(test_grad_eval);
    RUN_TEST(test_matches_unfused);
    RUN_TEST(test_accumulate_overwrite_threads);
    RUN_TEST(test_rows_match_walk);
    TEST_MAIN_END();
}
