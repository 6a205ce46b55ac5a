/* Heads (src/heads): finite-difference checks of every head's backward (and of its own loss and
 * regulariser) through softmax cross-entropy on its logits, the documented branch at each kink of the
 * margin functions, and the behaviour of the training-time hooks.
 *
 * The head API is float32, so the checks follow docs/methods.md §0.5's float32 protocol: central
 * differences of the double-precision objective along random directions (all features and head
 * parameters at once) and along single coordinates, with h = 1e-3 and relative tolerance 1e-3 (with
 * an absolute floor at the level of float32 rounding noise; see fd_check). The exact comparison, at
 * float64 and rtol 1e-5, is the PyTorch parity test (tests/parity/test_heads.py).
 * Test points are redrawn until no branch condition is within 0.05 of switching, so that the ±h steps
 * stay on one side of every kink; the branch choice at the kinks is checked on the scalar functions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "fd.h"
#include "core/rng.h"
#include "heads/head.h"
#include "heads/margin.h"
#include "models/model.h"
#include "ref_ce.h"

typedef struct {
    tl_model m;
    int N, D, C;
    float *feat, *dfeat, *logits, *dlogits, *gscratch;
    int *y;
} rig;

static int rig_init(rig *r, const char *spec, int N, int D, int C, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->N = N; r->D = D; r->C = C;
    tl_model *m = &r->m;
    m->N = N;
    m->cfg.feat_dim = D;
    m->cfg.num_classes = C;
    strcpy(m->cfg.arch, "mlp");
    m->net.nthreads = 1;
    tl_error err;
    if (tl_head_create(&m->head, spec, m, &err)) { fprintf(stderr, "  %s: %s\n", spec, err.msg); return -1; }
    m->params = calloc(m->nparams, sizeof(float));
    m->grads = calloc(m->nparams, sizeof(float));
    r->gscratch = calloc(m->nparams, sizeof(float));
    m->state = calloc(m->nstate + 1, sizeof(float));
    r->feat = calloc((size_t)N * D, sizeof(float));
    r->dfeat = calloc((size_t)N * D, sizeof(float));
    r->logits = calloc((size_t)N * C, sizeof(float));
    r->dlogits = calloc((size_t)N * C, sizeof(float));
    r->y = calloc((size_t)N, sizeof(int));
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    for (size_t j = 0; j < m->nparams; j++) m->params[j] = (float)tl_rng_normal(&g);
    for (size_t j = 0; j < (size_t)N * D; j++) r->feat[j] = (float)tl_rng_normal(&g);
    for (int i = 0; i < N; i++) r->y[i] = (int)tl_rng_below(&g, (uint64_t)C);
    return 0;
}

static void rig_free(rig *r) {
    tl_head_destroy(&r->m.head);
    free(r->m.tensors); free(r->m.params); free(r->m.grads); free(r->m.state); free(r->gscratch);
    free(r->feat); free(r->dfeat); free(r->logits); free(r->dlogits); free(r->y);
}

/* The training objective of one batch (the head's own loss or CE, plus its regulariser); with
 * want_grad, fills r->dfeat and r->m.grads. The forward counter is held fixed so that annealed
 * heads evaluate the same function every time. */
static double objective(rig *r, int want_grad) {
    tl_head *h = &r->m.head;
    h->forwards = 41;
    h->ops->forward(h, r->logits, r->feat, r->y, r->m.params);
    double L = h->ops->loss ? h->ops->loss(h, r->dlogits, r->logits, r->y) : ref_ce(r->dlogits, r->logits, r->y, r->N, r->C);
    float *g = want_grad ? r->m.grads : r->gscratch;
    memset(g, 0, r->m.nparams * sizeof *g);
    if (h->ops->regularizer) L += h->ops->regularizer(h, NULL, g, NULL, NULL, r->m.params);
    if (want_grad) {
        memset(r->dfeat, 0, (size_t)r->N * r->D * sizeof(float));
        h->ops->backward(h, r->dfeat, g, r->dlogits, r->feat, r->y, r->m.params);
    }
    return L;
}

/* Central differences along `ndir` random directions and at `ncoord` random single coordinates of
 * (features, head parameters). Returns the largest relative error seen. */
static double fd_check(rig *r, int ndir, int ncoord, uint64_t seed) {
    size_t nf = (size_t)r->N * r->D, np = r->m.nparams, n = nf + np;
    objective(r, 1);
    double zmax = 0;
    for (size_t j = 0; j < (size_t)r->N * r->C; j++) zmax = fmax(zmax, fabs(r->logits[j]));
    double *g = malloc(n * sizeof *g), *v = malloc(n * sizeof *v);
    for (size_t j = 0; j < nf; j++) g[j] = r->dfeat[j];
    for (size_t j = 0; j < np; j++) g[nf + j] = r->m.grads[j];
    tl_rng rng;
    tl_rng_seed(&rng, seed, TL_RNG_DATA);
    const double h = 1e-3;
    double worst = 0;
    for (int t = 0; t < ndir + ncoord; t++) {
        fd_direction(v, n, t, ndir, &rng);
        float *saved = malloc(n * sizeof *saved);
        for (size_t j = 0; j < nf; j++) saved[j] = r->feat[j];
        for (size_t j = 0; j < np; j++) saved[nf + j] = r->m.params[j];
        double L[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double e = sgn ? -h : h;
            for (size_t j = 0; j < nf; j++) r->feat[j] = (float)(saved[j] + e * v[j]);
            for (size_t j = 0; j < np; j++) r->m.params[j] = (float)(saved[nf + j] + e * v[nf + j]);
            L[sgn] = objective(r, 0);
        }
        /* the step actually taken, after rounding the perturbed inputs to float */
        double gv = 0, fd = L[0] - L[1];
        for (size_t j = 0; j < n; j++) {
            float a = (float)(saved[j] + h * v[j]), b = (float)(saved[j] - h * v[j]);
            gv += g[j] * ((double)a - b);
        }
        for (size_t j = 0; j < nf; j++) r->feat[j] = saved[j];
        for (size_t j = 0; j < np; j++) r->m.params[j] = saved[nf + j];
        free(saved);
        /* relative error of the derivative, with a floor under |fd| + |g·v|: the float32 logits carry
         * rounding noise ≈ 6e-8·|z| each, i.e. ≈ 2.5e-5·max|z| absolute in a derivative taken with
         * h = 1e-3, which a 1e-3 relative tolerance must not be asked to resolve */
        double err = fabs(fd - gv) / fmax(fabs(fd) + fabs(gv), 0.025 * fmax(4, zmax) * 2 * h);
        if (getenv("TL_FD_VERBOSE")) fprintf(stderr, "    %s %d: fd %.6g analytic %.6g rel %.2g\n", t < ndir ? "dir" : "coord", t, fd / (2 * h), gv / (2 * h), err);
        worst = fmax(worst, err);
    }
    free(g); free(v);
    return worst;
}

/* Target cosines of a cosine-based head's batch, in double. */
static void target_cos(double *c, const rig *r, const float *w) {
    for (int i = 0; i < r->N; i++) {
        const float *x = r->feat + (size_t)i * r->D, *wy = w + (size_t)r->y[i] * r->D;
        double xw = 0, xx = 0, ww = 0;
        for (int j = 0; j < r->D; j++) { xw += (double)x[j] * wy[j]; xx += (double)x[j] * x[j]; ww += (double)wy[j] * wy[j]; }
        c[i] = xw / sqrt(xx * ww);
    }
}

/* Redraws the features until every target cosine is at least 0.05 from each of the kinks. */
static void avoid_kinks(rig *r, const double *kinks, int nk, uint64_t seed) {
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    double *c = malloc((size_t)r->N * sizeof *c);
    for (int tries = 0; tries < 1000; tries++) {
        target_cos(c, r, r->m.params);
        int ok = 1;
        for (int i = 0; i < r->N; i++)
            for (int k = 0; k < nk; k++) ok &= fabs(c[i] - kinks[k]) > 0.05;
        if (ok) break;
        for (size_t j = 0; j < (size_t)r->N * r->D; j++) r->feat[j] = (float)tl_rng_normal(&g);
    }
    free(c);
}

static void check_head_scaled(const char *spec, const double *kinks, int nk, double tol, float scale) {
    rig r;
    CHECK_MSG(rig_init(&r, spec, 6, 5, 4, 3) == 0, "%s", spec);
    if (!r.m.head.ops) return;
    for (size_t j = 0; j < r.m.nparams; j++) r.m.params[j] *= scale;
    for (size_t j = 0; j < (size_t)r.N * r.D; j++) r.feat[j] *= scale;
    avoid_kinks(&r, kinks, nk, 5);
    double err = fd_check(&r, 8, 24, 9);
    CHECK_MSG(err <= tol, "%s: finite-difference relative error %.3g > %.3g", spec, err, tol);
    rig_free(&r);
}

static void check_head(const char *spec, const double *kinks, int nk, double tol) {
    check_head_scaled(spec, kinks, nk, tol, 1);
}

static void test_cosface_fd(void) { check_head("cosface:s=4,m=0.35", NULL, 0, 1e-3); }
static void test_arcface_fd(void) {
    double th = cos(M_PI - 0.5);
    check_head("arcface:s=4,m=0.5", &th, 1, 1e-3);
    double zero = 0;
    check_head("arcface:s=4,m=0.5,rule=easy", &zero, 1, 1e-3);
    check_head("arcface:s=4,m=0.5,rule=none", NULL, 0, 1e-3);
}
static void test_combined_fd(void) {
    check_head("combined:s=4,m1=1,m2=0.3,m3=0.2", NULL, 0, 1e-3);
    double th = cos((M_PI - 0.4) / 0.9);
    check_head("combined:s=4,m1=0.9,m2=0.4,m3=0.15,fallback=1", &th, 1, 1e-3);
    double th2 = cos((M_PI - 0.3) / 1.5);
    check_head("combined:s=4,m1=1.5,m2=0.3,m3=0.1,fallback=1", &th2, 1, 1e-3);
}

static void test_sphere_fd(void) {
    double k4[3] = {cos(M_PI / 4), 0, cos(3 * M_PI / 4)}, k3[2] = {0.5, -0.5};
    /* features and weights at half scale keep ρ·ψ (ψ down to 1 − 2m) in the range of the other heads */
    check_head_scaled("lsoftmax:m=4,base=0.5,lambda_min=0", k4, 3, 1e-3, 0.5f);
    check_head_scaled("lsoftmax:m=3,base=2,gamma=0.5,lambda_min=0", k3, 2, 1e-3, 0.5f);
    check_head_scaled("sphereface:m=4,base=0.5,lambda_min=0", k4, 3, 1e-3, 0.5f);
    check_head("sphereface:m=2,base=1000", NULL, 0, 1e-3);
}

/* λ annealing: the count advances once per training forward (from 1), never at inference, and the
 * target logit interpolates between the plain logit (λ → ∞) and ρψ (λ = 0). */
static void test_sphere_annealing(void) {
    rig r;
    CHECK(rig_init(&r, "sphereface:m=2,base=1000,gamma=0.12,power=1,lambda_min=5", 3, 4, 3, 8) == 0);
    tl_head *h = &r.m.head;
    h->forwards = 0;
    h->ops->forward(h, r.logits, r.feat, NULL, r.m.params);
    CHECK(h->forwards == 0);
    h->ops->forward(h, r.logits, r.feat, r.y, r.m.params);
    CHECK(h->forwards == 1);
    double c[3];
    target_cos(c, &r, r.m.params);
    double lam = 1000 / 1.12, xn = 0;
    for (int j = 0; j < 4; j++) xn += (double)r.feat[j] * r.feat[j];
    xn = sqrt(xn);
    double dpsi, want = xn * (lam * c[0] + tl_margin_psi(&dpsi, c[0], 2)) / (1 + lam);
    CHECK_CLOSE(r.logits[r.y[0]], want, 1e-6);
    h->forwards = 100000;   /* λ reaches its floor of 5 */
    h->ops->forward(h, r.logits, r.feat, r.y, r.m.params);
    want = xn * (5 * c[0] + tl_margin_psi(&dpsi, c[0], 2)) / 6;
    CHECK_CLOSE(r.logits[r.y[0]], want, 1e-6);
    rig_free(&r);
}

/* UniformFace: the uniform loss's feature gradient through the batch centres (the first objective
 * call initialises the buffers of the classes present, which then stay fixed); AdaptiveFace: the
 * margins' gradient from CE and the margin term. */
static void test_uniform_adaptive_fd(void) {
    check_head("uniformface:s=4,m=0.2,lambda=2", NULL, 0, 1e-3);
    check_head("adaptiveface:s=4,lambda=3", NULL, 0, 1e-3);
}

static void test_uniformface_buffer(void) {
    rig r;
    CHECK(rig_init(&r, "uniformface:s=4,alpha=0.5", 4, 3, 3, 4) == 0);
    int y[4] = {1, 1, 2, 1};
    memcpy(r.y, y, sizeof y);
    tl_head *h = &r.m.head;
    const float *buf = r.m.state + tl_model_find(&r.m, "head.centres")->off;
    h->ops->forward(h, r.logits, r.feat, r.y, r.m.params);
    h->ops->regularizer(h, NULL, r.m.grads, NULL, NULL, r.m.params);
    double xh[4][3];
    for (int i = 0; i < 4; i++) {
        double n = 0;
        for (int j = 0; j < 3; j++) n += (double)r.feat[i * 3 + j] * r.feat[i * 3 + j];
        for (int j = 0; j < 3; j++) xh[i][j] = r.feat[i * 3 + j] / sqrt(n);
    }
    for (int j = 0; j < 3; j++) {
        CHECK(buf[j] == 0);                              /* class 0 absent: not seen */
        CHECK_CLOSE(buf[3 + j], xh[0][j], 1e-6);          /* class 1: its first sample */
        CHECK_CLOSE(buf[6 + j], xh[2][j], 1e-6);
    }
    double before[9];
    for (int j = 0; j < 9; j++) before[j] = buf[j];
    h->ops->step_end(h, r.m.params, r.m.state);
    for (int j = 0; j < 3; j++) {
        double s1 = 0;
        for (int i = 0; i < 4; i++) if (y[i] == 1) s1 += before[3 + j] - xh[i][j];
        CHECK_CLOSE(buf[3 + j], before[3 + j] - 0.5 * s1 / 4, 1e-6);
        CHECK_CLOSE(buf[6 + j], before[6 + j] - 0.5 * (before[6 + j] - xh[2][j]) / 2, 1e-6);
        CHECK(buf[j] == 0);
    }
    rig_free(&r);
}

static void test_adaptiveface_projection(void) {
    rig r;
    CHECK(rig_init(&r, "adaptiveface", 4, 3, 3, 4) == 0);
    float *d = r.m.params + tl_model_find(&r.m, "head.margin_delta")->off;
    d[0] = -2; d[1] = 0.1f; d[2] = 5;
    r.m.head.ops->step_end(&r.m.head, r.m.params, r.m.state);
    CHECK(d[0] == -0.35f && d[1] == 0.1f && d[2] == 0.65f);   /* margins 0, 0.45, 1 */
    rig_free(&r);
}

/* The uncertainty head with class margins set: the penalty's gradient through the features and both
 * class vectors (A-Softmax and L-Softmax, strongest competitor and union bound). Test points are
 * redrawn until the strongest competitor of every sample leads the next by 0.05. */
static void test_uncertainty_fd(void) {
    const char *specs[] = {"uncertainty:base=0.5,lambda_min=0", "uncertainty:weights=raw,base=0.5,lambda_min=0,alpha=2",
                           "uncertainty:competitor=union,base=1,lambda_min=0,p=0.3"};
    for (int s = 0; s < 3; s++) {
        rig r;
        CHECK(rig_init(&r, specs[s], 6, 5, 4, 31) == 0);
        for (size_t j = 0; j < r.m.nparams; j++) r.m.params[j] *= 0.5f;
        float *mc = r.m.state + tl_model_find(&r.m, "head.margins")->off;
        mc[0] = 1; mc[1] = 1.7f; mc[2] = 2.4f; mc[3] = 3;
        tl_rng g;
        tl_rng_seed(&g, 3, TL_RNG_DATA);
        for (int tries = 0; tries < 1000; tries++) {
            r.m.head.ops->forward(&r.m.head, r.logits, r.feat, NULL, r.m.params);
            int ok = 1;
            for (int i = 0; i < r.N; i++) {
                float a = -INFINITY, b = -INFINITY;
                for (int j = 0; j < r.C; j++) {
                    float z = r.logits[(size_t)i * r.C + j];
                    if (j == r.y[i]) continue;
                    if (z > a) { b = a; a = z; } else if (z > b) b = z;
                }
                ok &= a - b > 0.05f;
            }
            if (ok) break;
            for (size_t j = 0; j < (size_t)r.N * r.D; j++) r.feat[j] = (float)(0.5 * tl_rng_normal(&g));
        }
        double err = fd_check(&r, 8, 24, 9);
        CHECK_MSG(err <= 1e-3, "%s: finite-difference relative error %.3g", specs[s], err);
        rig_free(&r);
    }
}

/* Branch choice exactly at the kinks, and the clamp near ±1. */
static void test_margin_branches(void) {
    double m = 0.5, d, th = cos(M_PI - m), mm = sin(M_PI - m) * m;
    CHECK_CLOSE(tl_margin_arcface(&d, th, m, TL_ARC_HARD), th - mm, 1e-15);   /* c > th is strict */
    CHECK(d == 1);
    double above = nextafter(th, 1);
    tl_margin_arcface(&d, above, m, TL_ARC_HARD);
    CHECK(d != 1);
    CHECK_CLOSE(tl_margin_arcface(&d, 0, m, TL_ARC_EASY), 0, 1e-15);           /* c > 0 is strict */
    CHECK(d == 1);
    /* cos(θ + m) and its derivative on the margin branch */
    double c = 0.3, t = acos(c);
    CHECK_CLOSE(tl_margin_arcface(&d, c, m, TL_ARC_HARD), cos(t + m), 1e-14);
    CHECK_CLOSE(d, cos(m) + c * sin(m) / sin(t), 1e-12);
    /* the clamp: at |c| > 1 − δ no gradient passes, the value is that of ±(1 − δ) */
    double v1 = tl_margin_arcface(&d, 1.0, m, TL_ARC_NONE);
    CHECK(d == 0);
    CHECK_CLOSE(v1, cos(acos(1 - TL_MARGIN_DELTA) + m), 1e-12);
    tl_margin_arcface(&d, 1 - TL_MARGIN_DELTA, m, TL_ARC_NONE);                 /* the bound itself passes */
    CHECK(d > 0 && isfinite(d));
    tl_margin_combined(&d, -1.0, 1, 0.3, 0.2, 0);
    CHECK(d == 0);
    /* combined fallback: linear past m1·θ + m2 = π (decided on the angle, so test just either side),
     * continuous at the switch */
    double m1 = 1.5, m2 = 0.3, m3 = 0.1, cth = cos((M_PI - m2) / m1);
    double below = tl_margin_combined(&d, cth - 1e-10, m1, m2, m3, 1);
    CHECK(d == 1);
    double above2 = tl_margin_combined(&d, cth + 1e-10, m1, m2, m3, 1);
    CHECK(d != 1);
    CHECK_CLOSE(below, above2, 1e-8);
    CHECK_CLOSE(below, -1 - m3, 1e-8);
    tl_margin_combined(&d, cth - 1e-10, m1, m2, m3, 0);   /* without fallback: the raw cosine */
    CHECK(d != 1);
    /* ψ: continuous at the branch points and equal to (−1)^k cos(mθ) − 2k; ψ(1) = 1, ψ(−1) = 1 − 2m */
    for (int mi = 1; mi <= 5; mi++) {
        CHECK_CLOSE(tl_margin_psi(&d, 1, mi), 1, 1e-12);
        CHECK_CLOSE(tl_margin_psi(&d, -1, mi), 1 - 2 * mi, 1e-12);
        for (int j = 1; j < mi; j++) {
            double cj = cos(j * M_PI / mi), dl, dr;
            CHECK_CLOSE(tl_margin_psi(&dl, nextafter(cj, -2), mi), tl_margin_psi(&dr, cj, mi), 1e-9);
            CHECK_CLOSE(tl_margin_psi(&d, cj, mi), 1 - 2 * j, 1e-9);   /* c < cos(jπ/m) strict: k = j − 1 at cj */
        }
        for (double cc = -0.95; cc < 0.96; cc += 0.1) {
            double tt = acos(cc), dr;
            int k = (int)floor(mi * tt / M_PI);
            double want = (k % 2 ? -1 : 1) * cos(mi * tt) - 2 * k;
            CHECK_CLOSE(tl_margin_psi(&d, cc, mi), want, 1e-12);
            CHECK_CLOSE(tl_margin_psi_real(&dr, cc, mi), want, 1e-12);
            CHECK_CLOSE(d, dr, 1e-9);
        }
    }
    /* real m: ψ continuous and decreasing in θ */
    double prev = 2;
    for (int j = 0; j <= 2000; j++) {
        double v = tl_margin_psi_real(&d, cos(M_PI * j / 2000), 2.5);
        CHECK(v < prev + 1e-12);
        prev = v;
    }
}

static void test_affinity_fd(void) {
    const char *specs[] = {"affinity:sigma=4,lambda=0.3", "affinity:sigma=6,lambda=0.5,centres=3"};
    for (int s = 0; s < 2; s++) {
        rig r;
        CHECK(rig_init(&r, specs[s], 6, 3, 4, 21) == 0);
        for (size_t j = 0; j < r.m.nparams; j++) r.m.params[j] *= 0.8f;
        /* Redraw until no hinge is within 0.02 of its kink and no two centres of a class tie. */
        tl_rng g;
        tl_rng_seed(&g, 17, TL_RNG_DATA);
        int M = s ? 3 : 1;
        for (int tries = 0; tries < 2000; tries++) {
            objective(&r, 0);
            int ok = 1;
            double lambda = s ? 0.5 : 0.3, sigma = s ? 6 : 4;
            for (int i = 0; i < r.N; i++) {
                const float *z = r.logits + (size_t)i * r.C;
                for (int j = 0; j < r.C; j++) {
                    if (j != r.y[i]) ok &= fabs(lambda + z[j] - z[r.y[i]]) > 0.02;
                    double best = -1, second = -1;
                    for (int k = 0; k < M; k++) {
                        const float *v = r.m.params + ((size_t)j * M + k) * r.D, *x = r.feat + (size_t)i * r.D;
                        double dd = 0;
                        for (int q = 0; q < r.D; q++) dd += ((double)x[q] - v[q]) * ((double)x[q] - v[q]);
                        double sim = exp(-dd / sigma);
                        if (sim > best) { second = best; best = sim; } else if (sim > second) second = sim;
                    }
                    if (M > 1) ok &= best - second > 0.02;
                }
            }
            if (ok) break;
            for (size_t j = 0; j < (size_t)r.N * r.D; j++) r.feat[j] = (float)tl_rng_normal(&g);
        }
        double err = fd_check(&r, 8, 24, 9);
        CHECK_MSG(err <= 1e-3, "%s: finite-difference relative error %.3g", specs[s], err);
        rig_free(&r);
    }
}

/* Affinity's regulariser is the variance of the pairwise squared centre distances: zero for centres
 * on a regular simplex, and the hinge is zero once every class is λ more similar than the others. */
static void test_affinity_values(void) {
    rig r;
    CHECK(rig_init(&r, "affinity:sigma=1,lambda=0.5", 3, 3, 3, 1) == 0);
    float *V = r.m.params;
    memset(V, 0, 9 * sizeof *V);
    V[0] = 1; V[4] = 1; V[8] = 1;   /* e_1, e_2, e_3: all pairwise squared distances 2 */
    float g[9] = {0};
    CHECK_CLOSE(r.m.head.ops->regularizer(&r.m.head, NULL, g, NULL, NULL, V), 0, 1e-12);
    for (int j = 0; j < 9; j++) CHECK(g[j] == 0);
    for (int i = 0; i < 3; i++) { for (int j = 0; j < 3; j++) r.feat[i * 3 + j] = V[i * 3 + j]; r.y[i] = i; }
    r.m.head.ops->forward(&r.m.head, r.logits, r.feat, r.y, V);
    CHECK_CLOSE(r.logits[0], 1, 1e-7);
    CHECK_CLOSE(r.logits[1], exp(-2), 1e-7);
    /* 1 − e^{−2} = 0.865 > λ: no hinge active */
    CHECK_CLOSE(r.m.head.ops->loss(&r.m.head, r.dlogits, r.logits, r.y), 0, 1e-12);
    rig_free(&r);
}

/* Margin heads give the plain cosine logits at inference (labels NULL). */
static void test_inference_logits(void) {
    const char *specs[] = {"cosface:s=7", "arcface:s=7", "combined:s=7"};
    for (int s = 0; s < 3; s++) {
        rig a, b;
        CHECK(rig_init(&a, specs[s], 4, 5, 3, 2) == 0 && rig_init(&b, "cosine:s=7", 4, 5, 3, 2) == 0);
        a.m.head.ops->forward(&a.m.head, a.logits, a.feat, NULL, a.m.params);
        b.m.head.ops->forward(&b.m.head, b.logits, b.feat, NULL, b.m.params);
        for (int k = 0; k < 12; k++) CHECK_CLOSE(a.logits[k], b.logits[k], 1e-5);
        rig_free(&a); rig_free(&b);
    }
}

static void test_bad_specs(void) {
    const char *bad[] = {"cosface:s=0", "arcface:m=4", "arcface:rule=soft", "combined:m1=0", "affinity:sigma=0",
                         "affinity:centres=0", "arcface:q=1"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_model m = {0};
        m.N = 2; m.cfg.feat_dim = 3; m.cfg.num_classes = 2;
        tl_error err;
        CHECK_MSG(tl_head_create(&m.head, bad[k], &m, &err) == -1, "%s accepted", bad[k]);
        CHECK(strstr(err.msg, "--head") != NULL);
        free(m.tensors);
    }
}

int main(void) {
    RUN_TEST(test_cosface_fd);
    RUN_TEST(test_arcface_fd);
    RUN_TEST(test_combined_fd);
    RUN_TEST(test_sphere_fd);
    RUN_TEST(test_sphere_annealing);
    RUN_TEST(test_uniform_adaptive_fd);
    RUN_TEST(test_uniformface_buffer);
    RUN_TEST(test_adaptiveface_projection);
    RUN_TEST(test_uncertainty_fd);
    RUN_TEST(test_margin_branches);
    RUN_TEST(test_affinity_fd);
    RUN_TEST(test_affinity_values);
    RUN_TEST(test_inference_logits);
    RUN_TEST(test_bad_specs);
    TEST_MAIN_END();
}
