/* SLA (src/heads/sla.c, src/nn/rot90.c; docs/methods.md §11): rot90 against hand-computed rotations and its
 * 4-fold identity, the row order of the expansion, the aggregate and its adjoint, finite-difference
 * checks of the joint loss, the SD loss and the whole sla head (features and parameters, with the
 * aggregate held constant in the SD term as the method detaches it), the three inference outputs, and
 * a whole model: the backbone sees the 4 rotations of each image in rows i·4 + t, and bad specs fail
 * naming --ssl.
 *
 * The kernels are float32 with double accumulation, so the finite-difference checks follow docs/methods.md
 * §0.5's float32 protocol: central differences of the double-precision objective with h = 1e-3, the
 * step actually taken after rounding to float, relative tolerance 1e-3. The float64 comparison is the
 * PyTorch parity test (tests/parity/test_sla.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "fd.h"
#include "core/rng.h"
#include "heads/sla.h"
#include "models/model.h"
#include "nn/nn.h"

#define M TL_SLA_M

static void fill(float *x, size_t n, tl_rng *g, double s) {
    for (size_t j = 0; j < n; j++) x[j] = (float)(s * tl_rng_normal(g));
}

static void test_rot90_hand(void) {
    /* two channels: the 3x3 plane 1..9 and the same + 10 */
    float x[18], y[18];
    for (int j = 0; j < 9; j++) { x[j] = (float)(j + 1); x[9 + j] = (float)(j + 11); }
    /* torch.rot90(torch.arange(1, 10).view(3, 3), t) */
    static const float want[4][9] = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 6, 9, 2, 5, 8, 1, 4, 7},
                                     {9, 8, 7, 6, 5, 4, 3, 2, 1}, {7, 4, 1, 8, 5, 2, 9, 6, 3}};
    for (int t = -1; t < 6; t++) {
        int k = ((t % 4) + 4) % 4;
        tl_rot90_forward(y, x, 1, 2, 3, t);
        for (int j = 0; j < 9; j++) {
            CHECK_MSG(y[j] == want[k][j], "t=%d, element %d: %g != %g", t, j, y[j], want[k][j]);
            CHECK_MSG(y[9 + j] == want[k][j] + 10, "t=%d, channel 1, element %d", t, j);
        }
    }
}

/* rot90 applied four times is the identity; rot90(·, t) = rot90(·, 1) applied t times. */
static void test_rot90_fourfold(void) {
    enum { N = 2, C = 3, H = 5, n = N * C * H * H };
    float x[n], a[n], b[n], r[n];
    tl_rng g;
    tl_rng_seed(&g, 1, TL_RNG_DATA);
    fill(x, n, &g, 1);
    memcpy(a, x, sizeof a);
    for (int t = 1; t <= 4; t++) {
        tl_rot90_forward(b, a, N, C, H, 1);
        memcpy(a, b, sizeof a);
        tl_rot90_forward(r, x, N, C, H, t);
        CHECK_MSG(!memcmp(a, r, sizeof a), "rot90 once %d times != rot90(%d)", t, t);
    }
    CHECK(!memcmp(a, x, sizeof a));
}

static void test_expand_rows(void) {
    enum { N = 3, C = 2, H = 4, img = C * H * H };
    float x[N * img], rows[N * M * img], r[img];
    tl_rng g;
    tl_rng_seed(&g, 2, TL_RNG_DATA);
    fill(x, sizeof x / sizeof *x, &g, 1);
    tl_sla_expand(rows, x, N, C, H);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < M; t++) {
            tl_rot90_forward(r, x + i * img, 1, C, H, t);
            CHECK_MSG(!memcmp(rows + (i * M + t) * img, r, sizeof r), "row %d is not rot90(image %d, %d)", i * M + t, i, t);
        }
}

/* J[t][k] = 10t + k for one image, C = 2: the aggregate is (1/4) Σ_t (10t + 4c + t) = 16.5 + 4c, the
 * single rotation-0 logits 4c; the backward is the adjoint of the forward. */
static void test_aggregate(void) {
    enum { N = 3, C = 5, K = C * M };
    float J1[M * 8], z[N * C];
    for (int t = 0; t < M; t++)
        for (int k = 0; k < 8; k++) J1[t * 8 + k] = (float)(10 * t + k);
    tl_sla_aggregate(z, J1, 1, 2, -1);
    CHECK(z[0] == 16.5f && z[1] == 20.5f);
    tl_sla_aggregate(z, J1, 1, 2, 0);
    CHECK(z[0] == 0 && z[1] == 4);
    tl_sla_aggregate(z, J1, 1, 2, 3);
    CHECK(z[0] == 33 && z[1] == 37);
    float J[N * M * K], dJ[N * M * K], dz[N * C];
    tl_rng g;
    tl_rng_seed(&g, 3, TL_RNG_DATA);
    fill(J, sizeof J / sizeof *J, &g, 1);
    fill(dz, N * C, &g, 1);
    for (int t = -1; t < M; t++) {
        tl_sla_aggregate(z, J, N, C, t);
        memset(dJ, 0, sizeof dJ);
        tl_sla_aggregate_backward(dJ, dz, N, C, t);
        double a = 0, b = 0;
        for (int j = 0; j < N * C; j++) a += (double)z[j] * dz[j];
        for (int j = 0; j < N * M * K; j++) b += (double)J[j] * dJ[j];
        CHECK_CLOSE(a, b, 1e-6);
    }
}

/* Largest relative error of a float kernel's gradient g over coordinates of x, by central
 * differences of f (double) with h = 1e-3 and the rounded step. */
static double fd_coords(double (*f)(const float *x, void *ctx), void *ctx, float *x, const float *g, int n) {
    double worst = 0, h = 1e-3;
    for (int j = 0; j < n; j++) {
        float s = x[j];
        x[j] = (float)(s + h);
        double lp = f(x, ctx);
        float up = x[j];
        x[j] = (float)(s - h);
        double lm = f(x, ctx);
        float dn = x[j];
        x[j] = s;
        double fd = (lp - lm) / ((double)up - dn);
        worst = fmax(worst, fabs(fd - g[j]) / fmax(fabs(fd) + fabs(g[j]), 1e-4));
    }
    return worst;
}

typedef struct { const int *y; int N, C; double scale, T; const float *zbar; } loss_ctx;

static double joint_f(const float *J, void *p) {
    loss_ctx *c = p;
    return tl_sla_joint_loss(NULL, J, c->y, c->N, c->C, c->scale);
}

static void test_joint_loss_fd(void) {
    enum { N = 3, C = 4, K = C * M };
    float J[N * M * K], dJ[N * M * K];
    int y[N] = {2, 0, 3};
    tl_rng g;
    tl_rng_seed(&g, 4, TL_RNG_DATA);
    fill(J, sizeof J / sizeof *J, &g, 1.5);
    for (int large = 0; large < 2; large++) {
        loss_ctx c = {y, N, C, large ? M : 1, 1, NULL};
        double L = tl_sla_joint_loss(dJ, J, y, N, C, c.scale);
        CHECK_CLOSE(L, joint_f(J, &c), 1e-12);
        double err = fd_coords(joint_f, &c, J, dJ, N * M * K);
        CHECK_MSG(err < 1e-3, "large_loss=%d: finite-difference relative error %.3g", large, err);
    }
    /* scale M multiplies loss and gradient */
    float d1[N * M * K];
    double L1 = tl_sla_joint_loss(d1, J, y, N, C, 1), L4 = tl_sla_joint_loss(dJ, J, y, N, C, M);
    CHECK_CLOSE(L4, M * L1, 1e-12);
    for (int j = 0; j < N * M * K; j++) CHECK_CLOSE(dJ[j], M * d1[j], 1e-6);
}

static double sd_f(const float *h, void *p) {
    loss_ctx *c = p;
    return tl_sla_sd_loss(NULL, h, c->zbar, c->y, c->N, c->C, c->T);
}

static void test_sd_loss_fd(void) {
    enum { N = 4, C = 5 };
    float h[N * C], zbar[N * C], dh[N * C];
    int y[N] = {1, 4, 0, 1};
    tl_rng g;
    tl_rng_seed(&g, 5, TL_RNG_DATA);
    fill(h, N * C, &g, 2);
    fill(zbar, N * C, &g, 2);
    for (int k = 0; k < 3; k++) {
        double T = (double[]){1, 2.5, 0.5}[k];
        loss_ctx c = {y, N, C, 1, T, zbar};
        double L = tl_sla_sd_loss(dh, h, zbar, y, N, C, T);
        CHECK_CLOSE(L, sd_f(h, &c), 1e-12);
        double err = fd_coords(sd_f, &c, h, dh, N * C);
        CHECK_MSG(err < 1e-3, "T=%g: finite-difference relative error %.3g", T, err);
    }
    /* h = zbar: the KL term vanishes, the loss is the CE of h */
    float d2[N * C];
    double ce = tl_sla_sd_loss(d2, zbar, zbar, y, N, C, 2);
    double want = 0;
    for (int i = 0; i < N; i++) {
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < C; j++) mx = fmax(mx, zbar[i * C + j]);
        for (int j = 0; j < C; j++) s += exp(zbar[i * C + j] - mx);
        want += mx + log(s) - zbar[i * C + y[i]];
    }
    CHECK_CLOSE(ce, want / N, 1e-9);
}

/* ---- the head, on a model shell (no backbone): N images of 4x4, features [N·M, D] ---- */

typedef struct {
    tl_model m;
    int N, D, C;
    float *feat, *dfeat, *dfs, *logits, *dlogits, *gs, *zfix;
    int *y;
} rig;

static int rig_init(rig *r, const char *spec, int N, int D, int C, uint64_t seed, tl_error *err) {
    memset(r, 0, sizeof *r);
    r->N = N; r->D = D; r->C = C;
    tl_model *m = &r->m;
    m->N = N;
    m->cfg.feat_dim = D;
    m->cfg.num_classes = C;
    m->cfg.in_c = 1; m->cfg.in_h = m->cfg.in_w = 4;
    strcpy(m->cfg.arch, "cnn");
    m->net.nthreads = 1;
    if (tl_head_create(&m->head, spec, m, err)) { free(m->tensors); return -1; }
    size_t nf = (size_t)N * M * D;
    m->params = calloc(m->nparams, sizeof(float));
    m->grads = calloc(m->nparams, sizeof(float));
    r->gs = calloc(m->nparams, sizeof(float));
    r->feat = calloc(nf, sizeof(float));
    r->dfeat = calloc(nf, sizeof(float));
    r->dfs = calloc(nf, sizeof(float));
    r->logits = calloc((size_t)N * C, sizeof(float));
    r->dlogits = calloc((size_t)N * C, sizeof(float));
    r->zfix = calloc((size_t)N * C, sizeof(float));
    r->y = calloc((size_t)N, sizeof(int));
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    fill(m->params, m->nparams, &g, 0.5);
    fill(r->feat, nf, &g, 1);
    for (int i = 0; i < N; i++) r->y[i] = (int)tl_rng_below(&g, (uint64_t)C);
    return 0;
}

static void rig_free(rig *r) {
    tl_head_destroy(&r->m.head);
    free(r->m.tensors); free(r->m.params); free(r->m.grads); free(r->gs);
    free(r->feat); free(r->dfeat); free(r->dfs); free(r->logits); free(r->dlogits); free(r->zfix); free(r->y);
}

/* The training objective as the trainer computes it (the head's loss, its regulariser, backward),
 * gradients into r->dfeat and m->grads. With zfix, the SD term's target is that fixed aggregate
 * instead of the current one: the function whose gradient the detached target gives. */
static double objective(rig *r, int want_grad, const float *zfix) {
    tl_head *h = &r->m.head;
    size_t nf = (size_t)r->N * M * r->D;
    float *g = want_grad ? r->m.grads : r->gs, *df = want_grad ? r->dfeat : r->dfs;
    memset(g, 0, r->m.nparams * sizeof *g);
    memset(df, 0, nf * sizeof *df);
    h->ops->forward(h, r->logits, r->feat, r->y, r->m.params);
    double L = zfix ? tl_sla_sd_loss(r->dlogits, r->logits, zfix, r->y, r->N, r->C, 1.0)
                    : h->ops->loss(h, r->dlogits, r->logits, r->y);
    L += h->ops->regularizer(h, df, g, r->feat, r->y, r->m.params);
    if (want_grad) h->ops->backward(h, df, g, r->dlogits, r->feat, r->y, r->m.params);
    return L;
}

/* Central differences along random directions and single coordinates of (features, parameters). */
static double fd_head(rig *r, const float *zfix, int ndir, int ncoord) {
    size_t nf = (size_t)r->N * M * r->D, np = r->m.nparams, n = nf + np;
    objective(r, 1, NULL);
    /* h = 3e-3: the float32 loss's rounding noise over 2h dominates at 1e-3 on some CPUs (an
     * AVX-512 machine measured 1.7e-3 there, 1.4e-4 at 3e-3; the error fell as h grew, so it is
     * rounding, not the gradient: central differences' own error is O(h^2)). */
    double *g = malloc(n * sizeof *g), *v = malloc(n * sizeof *v), worst = 0, h = 3e-3, zmax = 0;
    for (int j = 0; j < r->N * r->C; j++) zmax = fmax(zmax, fabs(r->logits[j]));
    float *saved = malloc(n * sizeof *saved);
    for (size_t j = 0; j < nf; j++) { g[j] = r->dfeat[j]; saved[j] = r->feat[j]; }
    for (size_t j = 0; j < np; j++) { g[nf + j] = r->m.grads[j]; saved[nf + j] = r->m.params[j]; }
    tl_rng rng;
    tl_rng_seed(&rng, 17, TL_RNG_DATA);
    for (int k = 0; k < ndir + ncoord; k++) {
        fd_direction(v, n, k, ndir, &rng);
        double L[2];
        for (int s = 0; s < 2; s++) {
            double e = s ? -h : h;
            for (size_t j = 0; j < nf; j++) r->feat[j] = (float)(saved[j] + e * v[j]);
            for (size_t j = 0; j < np; j++) r->m.params[j] = (float)(saved[nf + j] + e * v[nf + j]);
            L[s] = objective(r, 0, zfix);
        }
        double gv = 0;
        for (size_t j = 0; j < n; j++) gv += g[j] * ((double)(float)(saved[j] + h * v[j]) - (float)(saved[j] - h * v[j]));
        /* the floor of tests/unit/test_heads.c: float32 logits carry rounding noise ≈ 6e-8·|z| each */
        worst = fmax(worst, fabs(L[0] - L[1] - gv) / fmax(fabs(L[0] - L[1]) + fabs(gv), 0.025 * fmax(4, zmax) * 2 * h));
    }
    for (size_t j = 0; j < nf; j++) r->feat[j] = saved[j];
    for (size_t j = 0; j < np; j++) r->m.params[j] = saved[nf + j];
    free(g); free(v); free(saved);
    return worst;
}

static void test_head_fd(void) {
    const char *specs[] = {"sla", "sla:large_loss=1", "sla:training_agg=1", "sla:sd=1", "sla:sd=1,training_agg=1,large_loss=1"};
    for (int s = 0; s < 5; s++) {
        rig r;
        tl_error err;
        CHECK_MSG(rig_init(&r, specs[s], 3, 6, 4, 7 + s, &err) == 0, "%s: %s", specs[s], err.msg);
        if (!r.m.head.ops) continue;
        CHECK(r.m.head.views == M);
        const float *zfix = NULL;
        if (strstr(specs[s], "sd=1")) {
            /* the aggregate at the base point, held fixed in the SD term */
            CHECK(tl_sla_set_inference(&r.m.head, TL_SLA_AGG, &err) == 0);
            r.m.head.ops->forward(&r.m.head, r.zfix, r.feat, NULL, r.m.params);
            CHECK(tl_sla_set_inference(&r.m.head, TL_SLA_SD, &err) == 0);
            zfix = r.zfix;
            CHECK_CLOSE(objective(&r, 1, NULL), objective(&r, 0, zfix), 1e-9);
        }
        double e = fd_head(&r, zfix, 8, 24);
        CHECK_MSG(e < 1e-3, "%s: finite-difference relative error %.3g", specs[s], e);
        rig_free(&r);
    }
}

/* The class logits: aggregated, single and distilled, against the joint logits computed here. */
static void test_inference(void) {
    rig r;
    tl_error err;
    CHECK(rig_init(&r, "sla:sd=1", 2, 3, 3, 21, &err) == 0);
    tl_head *h = &r.m.head;
    int N = r.N, D = r.D, C = r.C, K = C * M;
    const tl_tensor_info *jw = tl_model_find(&r.m, "head.joint.weight"), *jb = tl_model_find(&r.m, "head.joint.bias");
    const tl_tensor_info *hw = tl_model_find(&r.m, "head.sd.weight"), *hb = tl_model_find(&r.m, "head.sd.bias");
    CHECK(jw && jb && hw && hb && jw->shape[0] == K && jw->shape[1] == D && hw->shape[0] == C && hb->shape[0] == C);
    if (!jw || !jb || !hw || !hb) { rig_free(&r); return; }
    const float *P = r.m.params;
    double J[2 * M][12], H[2][3];
    for (int row = 0; row < N * M; row++)
        for (int k = 0; k < K; k++) {
            double s = P[jb->off + k];
            for (int j = 0; j < D; j++) s += (double)P[jw->off + k * D + j] * r.feat[row * D + j];
            J[row][k] = s;
        }
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double s = P[hb->off + c];
            for (int j = 0; j < D; j++) s += (double)P[hw->off + c * D + j] * r.feat[i * M * D + j];
            H[i][c] = s;
        }
    for (int md = 0; md < 3; md++) {
        CHECK(tl_sla_set_inference(h, md, &err) == 0);
        h->ops->forward(h, r.logits, r.feat, NULL, r.m.params);
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++) {
                double agg = 0;
                for (int t = 0; t < M; t++) agg += J[i * M + t][c * M + t] / M;
                double want = md == TL_SLA_AGG ? agg : md == TL_SLA_SINGLE ? J[i * M][c * M] : H[i][c];
                CHECK_CLOSE(r.logits[i * C + c], want, 1e-5);
            }
    }
    /* training forwards give h whatever the inference mode */
    CHECK(tl_sla_set_inference(h, TL_SLA_AGG, &err) == 0);
    h->ops->forward(h, r.logits, r.feat, r.y, r.m.params);
    CHECK_CLOSE(r.logits[1], H[0][1], 1e-5);
    rig_free(&r);
    CHECK(rig_init(&r, "sla", 2, 3, 3, 21, &err) == 0);
    CHECK(tl_sla_set_inference(&r.m.head, TL_SLA_SD, &err) == -1 && strstr(err.msg, "sd=1"));
    rig_free(&r);
}

/* A cnn with the sla head: 4 backbone rows per image, the input is the image buffer, row i·4 + t holds
 * the features of rot90(image i, t) (evaluation mode: rows are independent). */
static void test_model_rows(void) {
    tl_model_cfg cfg;
    tl_error err;
    tl_model m;
    CHECK(tl_model_cfg_default(&cfg, "cnn", 2, 8, 8, 3, &err) == 0);
    cfg.feat_dim = 6;
    strcpy(cfg.head, "sla:sd=1");
    if (tl_model_init(&m, &cfg, 3, 1, 5, &err)) { CHECK_MSG(0, "%s", err.msg); return; }
    CHECK(m.views == M && m.net.N == 3 * M && tl_model_input(&m) == m.images);
    size_t img = 2 * 8 * 8, D = 6;
    tl_rng g;
    tl_rng_seed(&g, 9, TL_RNG_DATA);
    float *a = malloc(3 * img * sizeof *a), *f = malloc(3 * M * D * sizeof *f);
    fill(a, 3 * img, &g, 1);
    memcpy(tl_model_input(&m), a, 3 * img * sizeof *a);
    CHECK(tl_model_forward(&m, 0, NULL, NULL, NULL) == 0);
    memcpy(f, tl_model_features(&m), 3 * M * D * sizeof *f);
    for (int t = 1; t < M; t++) {
        tl_rot90_forward(tl_model_input(&m) + img, a + img, 1, 2, 8, t);   /* image 1 rotated by t */
        CHECK(tl_model_forward(&m, 0, NULL, NULL, NULL) == 0);
        for (size_t j = 0; j < D; j++) CHECK_CLOSE(tl_model_features(&m)[(1 * M) * D + j], f[(1 * M + t) * D + j], 1e-5);
    }
    free(a); free(f);
    tl_model_free(&m);
}

static void test_bad_specs(void) {
    struct { const char *spec; int h, w; const char *want; } bad[] = {
        {"sla", 8, 6, "square"}, {"sla", 1, 1, "square"}, {"sla:sd=2", 8, 8, "sd"}, {"sla:T=0", 8, 8, "T=0"},
        {"sla:bogus=1", 8, 8, "unknown key 'bogus' (valid: sd, T, large_loss, training_agg)"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_model_cfg cfg;
        tl_model m;
        tl_error err;
        CHECK(tl_model_cfg_default(&cfg, "mlp", 1, bad[k].h, bad[k].w, 3, &err) == 0);
        strcpy(cfg.head, bad[k].spec);
        CHECK_MSG(tl_model_init(&m, &cfg, 4, 1, 0, &err) == -1, "%s on %dx%d accepted", bad[k].spec, bad[k].h, bad[k].w);
        CHECK_MSG(strstr(err.msg, "--ssl sla") && strstr(err.msg, bad[k].want), "%s", err.msg);
    }
}

int main(void) {
    RUN_TEST(test_rot90_hand);
    RUN_TEST(test_rot90_fourfold);
    RUN_TEST(test_expand_rows);
    RUN_TEST(test_aggregate);
    RUN_TEST(test_joint_loss_fd);
    RUN_TEST(test_sd_loss_fd);
    RUN_TEST(test_head_fd);
    RUN_TEST(test_inference);
    RUN_TEST(test_model_rows);
    RUN_TEST(test_bad_specs);
    TEST_MAIN_END();
}
