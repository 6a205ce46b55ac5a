/* Distillation kernels (src/transfer/kd.h): finite-difference checks of Hinton KD, RKD distance-wise
 * and angle-wise (with different student and teacher dimensions) and of the L2 normalisation's
 * backward, plus the properties their definitions imply (zero loss for a student equal to its
 * teacher; invariance of RKD to a common scaling and translation of the student). The exact check,
 * against torch in float64, is tests/parity/test_distill.py.
 * FD protocol (docs/methods.md §0.5, float32 inputs): central differences of the double objective with
 * h = 1e-3 along random directions and single coordinates, relative tolerance 1e-3. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/rng.h"
#include "transfer/kd.h"

enum { N = 12, DS = 7, DT = 5, C = 6 };
/* The RKD losses' work area (tl_rkd_work_doubles), for every (Ds, Dt) used below. */
static double rkd_work[5 * N * N + 2 * N + 2 * N * DS];

typedef double (*objective)(float *dx, const float *x, const float *other);

static double kd_obj(float *dx, const float *x, const float *t) { return tl_kd_loss(dx, x, t, N, C, 3.0, 1.0); }
static double dist_obj(float *dx, const float *x, const float *t) { return tl_rkd_distance(dx, x, t, N, DS, DT, 1.0, rkd_work); }
static double angle_obj(float *dx, const float *x, const float *t) { return tl_rkd_angle(dx, x, t, N, DS, DT, 1.0, rkd_work); }
/* Σ c·normalize(x) for a fixed random c, so that every output feeds the objective; the value in double
 * (float32 outputs would put rounding noise above the FD tolerance), checked against the float
 * forward in test_normalize_gradient. */
static float norm_c[N * DS];
static double norm_obj(float *dx, const float *x, const float *t) {
    (void)t;
    double s = 0;
    for (int i = 0; i < N; i++) {
        double n2 = 0, dot = 0;
        for (int k = 0; k < DS; k++) { n2 += (double)x[i * DS + k] * x[i * DS + k]; dot += (double)norm_c[i * DS + k] * x[i * DS + k]; }
        s += dot / sqrt(n2);
    }
    if (dx) tl_l2_normalize_rows_backward(dx, norm_c, x, N, DS);
    return s;
}

static void fill(float *v, int n, double scale, tl_rng *g) {
    for (int i = 0; i < n; i++) v[i] = (float)(scale * tl_rng_normal(g));
}

/* Largest relative error of the analytic directional derivative over ndir random directions and all
 * single coordinates. */
static double fd_check(objective f, float *x, const float *other, int n) {
    float *g = calloc((size_t)n, sizeof *g), *xp = malloc((size_t)n * sizeof *xp), *xm = malloc((size_t)n * sizeof *xm);
    f(g, x, other);
    tl_rng r;
    tl_rng_seed(&r, 5, TL_RNG_DATA);
    double worst = 0, h = 1e-3;
    for (int d = 0; d < 8 + n; d++) {
        double an = 0, dn = 0;
        for (int i = 0; i < n; i++) {
            double v = d < 8 ? tl_rng_normal(&r) : (i == d - 8);
            xp[i] = (float)(x[i] + h * v);
            xm[i] = (float)(x[i] - h * v);
            an += g[i] * ((double)xp[i] - xm[i]);
        }
        dn = f(NULL, xp, other) - f(NULL, xm, other);
        double e = fabs(an - dn) / fmax(fmax(fabs(an), fabs(dn)), 1e-6);
        if (e > worst) worst = e;
    }
    free(g); free(xp); free(xm);
    return worst;
}

static void test_kd_gradient(void) {
    tl_rng g;
    tl_rng_seed(&g, 1, TL_RNG_DATA);
    float zs[N * C], zt[N * C];
    fill(zs, N * C, 3, &g);
    fill(zt, N * C, 3, &g);
    CHECK(fd_check(kd_obj, zs, zt, N * C) < 1e-3);
    /* a student equal to its teacher has zero KD loss and zero gradient */
    float d[N * C] = {0};
    CHECK(fabs(tl_kd_loss(d, zt, zt, N, C, 4, 1)) < 1e-9);
    for (int i = 0; i < N * C; i++) CHECK(fabs(d[i]) < 1e-7);
}

static void test_kd_saturated_teacher(void) {
    /* p_t = 0 (underflow) contributes 0, not NaN */
    float zs[C] = {0, 1, 2, 3, 4, 5}, zt[C] = {0, -1e4f, 0, 0, 0, 0}, d[C] = {0};
    double L = tl_kd_loss(d, zs, zt, 1, C, 1, 1);
    CHECK(isfinite(L) && L > 0);
    for (int j = 0; j < C; j++) CHECK(isfinite(d[j]));
}

/* FD check of an RKD loss on random student [N, DS] and teacher [N, DT] features. */
static double rkd_fd(objective f, uint64_t seed) {
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    float s[N * DS], t[N * DT];
    fill(s, N * DS, 1, &g);
    fill(t, N * DT, 2, &g);
    return fd_check(f, s, t, N * DS);
}

static void test_rkd_distance_gradient(void) { CHECK(rkd_fd(dist_obj, 2) < 1e-3); }
static void test_rkd_angle_gradient(void) { CHECK(rkd_fd(angle_obj, 3) < 1e-3); }

static void test_rkd_invariances(void) {
    /* Both relations ignore a common scale and shift: a teacher that is a scaled, shifted copy of the
     * student (same dimension) gives zero loss. */
    tl_rng g;
    tl_rng_seed(&g, 4, TL_RNG_DATA);
    float s[N * DS], t[N * DS];
    fill(s, N * DS, 1, &g);
    for (int i = 0; i < N * DS; i++) t[i] = 3 * s[i] + 0.5f;
    CHECK(tl_rkd_distance(NULL, s, t, N, DS, DS, 1, rkd_work) < 1e-10);
    CHECK(tl_rkd_angle(NULL, s, t, N, DS, DS, 1, rkd_work) < 1e-10);
}

static void test_rkd_duplicate_rows(void) {
    /* two equal student rows: their squared distance hits the clamp, which passes no gradient */
    tl_rng g;
    tl_rng_seed(&g, 6, TL_RNG_DATA);
    float s[N * DS], t[N * DT], d[N * DS] = {0};
    fill(s, N * DS, 1, &g);
    fill(t, N * DT, 1, &g);
    memcpy(s + DS, s, DS * sizeof *s);
    double L = tl_rkd_distance(d, s, t, N, DS, DT, 1, rkd_work) + tl_rkd_angle(d, s, t, N, DS, DT, 1, rkd_work);
    CHECK(isfinite(L));
    for (int i = 0; i < N * DS; i++) CHECK(isfinite(d[i]));
}

static void test_normalize_gradient(void) {
    tl_rng g;
    tl_rng_seed(&g, 7, TL_RNG_DATA);
    float x[N * DS];
    fill(x, N * DS, 1, &g);
    fill(norm_c, N * DS, 1, &g);
    CHECK(fd_check(norm_obj, x, NULL, N * DS) < 1e-3);
    float y[N * DS];
    tl_l2_normalize_rows(y, x, N, DS);
    for (int i = 0; i < N; i++) {
        double n2 = 0;
        for (int k = 0; k < DS; k++) n2 += (double)x[i * DS + k] * x[i * DS + k];
        for (int k = 0; k < DS; k++) CHECK_CLOSE(y[i * DS + k], x[i * DS + k] / sqrt(n2), 1e-6);
    }
}

int main(void) {
    if (tl_rkd_work_doubles(N, DS, DT) > sizeof rkd_work / sizeof *rkd_work) { fprintf(stderr, "rkd_work is too small\n"); return 1; }
    RUN_TEST(test_kd_gradient);
    RUN_TEST(test_kd_saturated_teacher);
    RUN_TEST(test_rkd_distance_gradient);
    RUN_TEST(test_rkd_angle_gradient);
    RUN_TEST(test_rkd_invariances);
    RUN_TEST(test_rkd_duplicate_rows);
    RUN_TEST(test_normalize_gradient);
    TEST_MAIN_END();
}
