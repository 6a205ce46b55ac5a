/* Stage 2 (src/stage2) and the causal head (src/heads/causal.c): finite-difference checks of the
 * causal, ncm and lws heads (float32 protocol of docs/methods.md §0.5: central differences of the
 * double objective along random directions, h = 1e-3, rtol 1e-3; the float64 comparison is
 * tests/parity/test_stage2.py), the moving average and TDE logits against direct formulas, NCM
 * centroids and τ-normalisation on hand-computed cases, the τ sweep's tie rule, and cRT / LWS end
 * to end on synthetic long-tailed features (they re-balance, and the same seed gives the same bits). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "core/rng.h"
#include "eval/posthoc.h"
#include "stage2/stage2.h"

typedef struct {
    tl_model m;
    int N, D, C;
    float *feat, *dfeat, *dlogits;
    int *y;
} rig;

static int rig_init(rig *r, const char *head, int N, int D, int C, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->N = N; r->D = D; r->C = C;
    tl_error err;
    if (tl_stage2_feature_model(&r->m, D, C, head, N, 1, seed, &err)) { fprintf(stderr, "  %s: %s\n", head, err.msg); return -1; }
    r->feat = calloc((size_t)N * D, sizeof(float));
    r->dfeat = calloc((size_t)N * D, sizeof(float));
    r->dlogits = calloc((size_t)N * C, sizeof(float));
    r->y = calloc((size_t)N, sizeof(int));
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    for (size_t j = 0; j < r->m.nparams; j++) r->m.params[j] = (float)tl_rng_normal(&g);
    for (size_t j = 0; j < r->m.nstate; j++) r->m.state[j] = (float)tl_rng_normal(&g);
    for (size_t j = 0; j < (size_t)N * D; j++) r->feat[j] = (float)tl_rng_normal(&g);
    for (int i = 0; i < N; i++) r->y[i] = (int)tl_rng_below(&g, (uint64_t)C);
    return 0;
}

static void rig_free(rig *r) {
    tl_model_free(&r->m);
    free(r->feat); free(r->dfeat); free(r->dlogits); free(r->y);
}

/* Mean CE of the head's logits (training forward), in double; with grad, fills dfeat and grads. */
static double objective(rig *r, int grad) {
    tl_head *h = &r->m.head;
    h->ops->forward(h, r->m.logits, r->feat, r->y, r->m.params);
    double L = 0;
    for (int i = 0; i < r->N; i++) {
        const float *z = r->m.logits + (size_t)i * r->C;
        double mx = z[0], s = 0;
        for (int j = 1; j < r->C; j++) mx = fmax(mx, z[j]);
        for (int j = 0; j < r->C; j++) s += exp(z[j] - mx);
        double lse = mx + log(s);
        L += lse - z[r->y[i]];
        for (int j = 0; j < r->C; j++) r->dlogits[(size_t)i * r->C + j] = (float)((exp(z[j] - lse) - (j == r->y[i])) / r->N);
    }
    if (grad) {
        memset(r->dfeat, 0, (size_t)r->N * r->D * sizeof(float));
        memset(r->m.grads, 0, r->m.nparams * sizeof(float));
        h->ops->backward(h, r->dfeat, r->m.grads, r->dlogits, r->feat, r->y, r->m.params);
    }
    return L / r->N;
}

/* Directional derivative along random unit-variance directions of (features, parameters); the
 * absolute floor 1e-4 is the float32 rounding noise of the loss (~1e-7) divided by 2h. */
static void fd_check(rig *r, const char *what) {
    objective(r, 1);
    size_t nf = (size_t)r->N * r->D, np = r->m.nparams;
    float *df = malloc(nf * sizeof *df), *dp = malloc((np + 1) * sizeof *dp);
    float *f0 = malloc(nf * sizeof *f0), *p0 = malloc((np + 1) * sizeof *p0);
    memcpy(df, r->dfeat, nf * sizeof *df);
    memcpy(dp, r->m.grads, np * sizeof *dp);
    memcpy(f0, r->feat, nf * sizeof *f0);
    memcpy(p0, r->m.params, np * sizeof *p0);
    tl_rng g;
    tl_rng_seed(&g, 7, TL_RNG_DATA);
    double *u = malloc((nf + np) * sizeof *u);
    for (int t = 0; t < 6; t++) {
        double an = 0, h = 1e-3;
        for (size_t j = 0; j < nf + np; j++) u[j] = tl_rng_normal(&g);
        for (size_t j = 0; j < nf; j++) an += u[j] * df[j];
        for (size_t j = 0; j < np; j++) an += u[nf + j] * dp[j];
        double L[2];
        for (int s = 0; s < 2; s++) {
            double sg = s ? -h : h;
            for (size_t j = 0; j < nf; j++) r->feat[j] = (float)(f0[j] + sg * u[j]);
            for (size_t j = 0; j < np; j++) r->m.params[j] = (float)(p0[j] + sg * u[nf + j]);
            L[s] = objective(r, 0);
        }
        double fd = (L[0] - L[1]) / (2 * h);
        CHECK_MSG(fabs(fd - an) <= 1e-3 * fmax(fabs(fd), fabs(an)) + 1e-4, "%s: direction %d: fd %.9g analytic %.9g", what, t, fd, an);
    }
    memcpy(r->feat, f0, nf * sizeof *f0);
    memcpy(r->m.params, p0, np * sizeof *p0);
    free(df); free(dp); free(f0); free(p0); free(u);
}

static void test_causal_fd(void) {
    rig r;
    if (rig_init(&r, "causal:heads=2,tau=16,gamma=0.03125", 6, 8, 5, 1)) { CHECK(0); return; }
    fd_check(&r, "causal K=2");
    rig_free(&r);
    if (rig_init(&r, "causal:heads=4,tau=3,gamma=0.5", 5, 8, 3, 2)) { CHECK(0); return; }
    fd_check(&r, "causal K=4");
    rig_free(&r);
}

/* x̄ ← μ x̄ + mean_i x_i after each training forward; TDE logits (inference) match §9.3 in double. */
static void test_causal_tde(void) {
    rig r;
    if (rig_init(&r, "causal:heads=2,tau=16,gamma=0.03125,alpha=1.5,mu=0.9", 4, 6, 3, 3)) { CHECK(0); return; }
    tl_head *h = &r.m.head;
    const tl_tensor_info *ci = tl_model_find(&r.m, "head.embed_mean");
    float *cbar = r.m.state + ci->off;
    memset(cbar, 0, 6 * sizeof(float));
    double want[6] = {0};
    for (int rep = 0; rep < 2; rep++) {
        h->ops->forward(h, r.m.logits, r.feat, r.y, r.m.params);
        for (int j = 0; j < 6; j++) {
            double m = 0;
            for (int i = 0; i < 4; i++) m += r.feat[i * 6 + j];
            want[j] = 0.9 * want[j] + m / 4;
        }
        for (int j = 0; j < 6; j++) r.feat[j] += 0.5f;   /* a different batch the second time */
    }
    for (int j = 0; j < 6; j++) CHECK_CLOSE(cbar[j], want[j], 1e-6);
    h->ops->forward(h, r.m.logits, r.feat, NULL, r.m.params);
    const float *W = r.m.params + tl_model_find(&r.m, "head.weight")->off;
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) {
            double z = 0;
            for (int k = 0; k < 2; k++) {
                const float *x = r.feat + i * 6 + 3 * k, *w = W + c * 6 + 3 * k, *cb = cbar + 3 * k;
                double xn = 0, wn = 0, cn = 0, xc = 0, wc = 0, xw = 0;
                for (int j = 0; j < 3; j++) {
                    xn += (double)x[j] * x[j]; wn += (double)w[j] * w[j]; cn += (double)cb[j] * cb[j];
                    xc += (double)x[j] * cb[j]; wc += (double)w[j] * cb[j]; xw += (double)x[j] * w[j];
                }
                xn = sqrt(xn); wn = sqrt(wn) + 0.03125; cn = sqrt(cn);
                double cosk = xc / (xn * cn);
                z += 8 * (xw / (xn * wn) - 1.5 * cosk * wc / (wn * cn));
            }
            CHECK_CLOSE(r.m.logits[i * 3 + c], z, 1e-5);
        }
    tl_error err;
    CHECK(tl_causal_set_alpha(h, 0, &err) == 0);
    float tde0[12];
    h->ops->forward(h, tde0, r.feat, NULL, r.m.params);
    float train[12];
    h->ops->forward(h, train, r.feat, r.y, r.m.params);
    for (int j = 0; j < 12; j++) CHECK(tde0[j] == train[j]);   /* α = 0: the plain logits */
    rig_free(&r);
    tl_model lin;
    if (tl_stage2_feature_model(&lin, 4, 3, "linear", 2, 1, 0, &err)) { CHECK(0); return; }
    CHECK(tl_causal_set_alpha(&lin.head, 1, &err) == -1);
    tl_model_free(&lin);
    CHECK(tl_stage2_feature_model(&lin, 5, 3, "causal:heads=2", 2, 1, 0, &err) == -1);   /* 2 does not divide 5 */
}

static void test_ncm_lws_fd(void) {
    rig r;
    const char *heads[] = {"ncm:metric=l2", "ncm:metric=cosine", "lws"};
    for (int k = 0; k < 3; k++) {
        if (rig_init(&r, heads[k], 6, 5, 4, 10 + k)) { CHECK(0); continue; }
        fd_check(&r, heads[k]);
        rig_free(&r);
    }
}

/* Two classes in 2-D: hand-computed f̄, cl2n centroids and scores. */
static void test_ncm_fit(void) {
    const float feat[] = {2, 0, 4, 0, 0, 2};
    const int y[] = {0, 0, 1};
    float fbar[2], cent[4], s[6];
    tl_error err;
    CHECK(tl_ncm_fit(fbar, cent, feat, y, 3, 2, 2, &err) == 0);
    CHECK_CLOSE(fbar[0], 2, 1e-7);
    CHECK_CLOSE(fbar[1], 2.0 / 3, 1e-7);
    /* g of row 0 = (0, -2/3)/(2/3) = (0, -1); row 1 = (2, -2/3)/‖·‖; row 2 = (-2, 4/3)/‖·‖ */
    double n1 = sqrt(4 + 4.0 / 9), n2 = sqrt(4 + 16.0 / 9);
    CHECK_CLOSE(cent[0], (0 + 2 / n1) / 2, 1e-6);
    CHECK_CLOSE(cent[1], (-1 - 2.0 / 3 / n1) / 2, 1e-6);
    CHECK_CLOSE(cent[2], -2 / n2, 1e-6);
    CHECK_CLOSE(cent[3], 4.0 / 3 / n2, 1e-6);
    tl_ncm_scores(s, feat, fbar, cent, 3, 2, 2, TL_NCM_L2);
    double d00 = pow(0 - cent[0], 2) + pow(-1 - cent[1], 2);
    CHECK_CLOSE(s[0], -d00, 1e-6);
    tl_ncm_scores(s, feat, fbar, cent, 3, 2, 2, TL_NCM_COSINE);
    CHECK_CLOSE(s[1], (0 * cent[2] - 1 * cent[3]) / sqrt(cent[2] * cent[2] + cent[3] * cent[3]), 1e-6);
    const int y2[] = {0, 0, 0};
    CHECK(tl_ncm_fit(fbar, cent, feat, y2, 3, 2, 2, &err) == -1 && strstr(err.msg, "class 1"));
}

static void test_tau_norm(void) {
    const float w[] = {3, 4, 0, 0, 1, 0};
    float o[6];
    tl_tau_norm_weights(o, w, 3, 2, 0);
    for (int j = 0; j < 6; j++) CHECK(o[j] == w[j]);
    tl_tau_norm_weights(o, w, 3, 2, 1);
    CHECK_CLOSE(o[0], 0.6, 1e-7); CHECK_CLOSE(o[1], 0.8, 1e-7);
    CHECK(o[2] == 0 && o[3] == 0);                       /* a zero row stays zero */
    CHECK_CLOSE(o[4], 1, 1e-7);
    tl_tau_norm_weights(o, w, 3, 2, 2);
    CHECK_CLOSE(o[0], 3.0 / 25, 1e-7);
    /* Sweep: class 0 has a large norm; feature (1, 1) goes to class 0 until τ is large enough,
     * while the validation label says class 1; every τ where it flips ties, the smallest wins. */
    const float w2[] = {4, 0, 0, 1};
    const float x[] = {1, 1.2f, 1, -1};
    const int y[] = {1, 0};
    tl_stage2_point sw[21];
    double tau = tl_tau_norm_sweep(sw, w2, x, y, 2, 2, 2);
    /* logits (4^(1−τ), 1.2): class 1 wins once 4^(1−τ) < 1.2, i.e. τ > 1 − log(1.2)/log(4) ≈ 0.868 */
    CHECK_CLOSE(tau, 0.9, 1e-12);
    CHECK_CLOSE(sw[8].val_balanced_accuracy, 0.5, 1e-12);
    CHECK_CLOSE(sw[9].val_balanced_accuracy, 1, 1e-12);
    CHECK_CLOSE(sw[20].val_balanced_accuracy, 1, 1e-12);
}

/* Long-tailed Gaussian blobs in D = 4 (class c: n = 400/3^c, mean 1.2·e_c), a balanced validation set. */
static void blobs(tl_dataset *d, int balanced, uint64_t seed) {
    int counts[4] = {400, 133, 44, 15}, n = 0;
    for (int c = 0; c < 4; c++) n += balanced ? 100 : counts[c];
    tl_error err;
    tl_dataset_alloc(d, n, 4, 1, 1, 4, "blobs", &err);
    tl_rng g;
    tl_rng_seed(&g, seed, TL_RNG_DATA);
    int i = 0;
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < (balanced ? 100 : counts[c]); k++, i++) {
            d->y[i] = c;
            for (int j = 0; j < 4; j++) d->x[i * 4 + j] = (float)(tl_rng_normal(&g) + (j == c ? 1.2 : 0));
        }
}

static double balanced_acc(tl_model *m, const tl_dataset *d) {
    int *pred = malloc((size_t)d->n * sizeof *pred);
    float mean[4] = {0}, std[4] = {1, 1, 1, 1};
    tl_error err;
    tl_predict(m, d, mean, std, NULL, NULL, pred, &err);
    double hit[4] = {0}, cnt[4] = {0}, s = 0;
    for (int i = 0; i < d->n; i++) { cnt[d->y[i]]++; hit[d->y[i]] += pred[i] == d->y[i]; }
    for (int c = 0; c < 4; c++) s += hit[c] / cnt[c] / 4;
    free(pred);
    return s;
}

static void test_crt_lws_end_to_end(void) {
    tl_dataset tr, va;
    blobs(&tr, 0, 1);
    blobs(&va, 1, 2);
    int64_t count[4] = {400, 133, 44, 15};
    tl_error err;
    tl_model src;
    char ckpt[64];
    snprintf(ckpt, sizeof ckpt, "/tmp/tl_test_stage2_%ld.safetensors", (long)getpid());
    tl_stage2_cfg cfg;
    tl_stage2_cfg_default(&cfg);
    cfg.ckpt_path = ckpt;
    cfg.batch = 64;
    /* Stage 1: a linear head trained with instance sampling, which favours class 0. */
    if (tl_stage2_feature_model(&src, 4, 4, "linear", 64, 1, 0, &err)) { CHECK(0); return; }
    tl_stage2_cfg s1 = cfg;
    snprintf(s1.sampler, sizeof s1.sampler, "instance");
    CHECK(tl_stage2_train_head(&src, &tr, &va, count, &s1, 10, &err) == 0);
    double b1 = balanced_acc(&src, &va);
    const char *methods[] = {"crt", "lws", "tau", "ncm"};
    double bal[4];
    float first[20];
    for (int k = 0; k < 4; k++) {
        tl_stage2 s;
        tl_model out, again;
        CHECK(tl_stage2_create(&s, methods[k], &src, &err) == 0);
        if (tl_stage2_run(&s, &out, &src, &tr, &va, count, &cfg, 64, &err)) { fprintf(stderr, "  %s\n", err.msg); CHECK(0); continue; }
        bal[k] = balanced_acc(&out, &va);
        CHECK_MSG(bal[k] > b1 - 0.02, "%s: balanced accuracy %.3f vs stage 1 %.3f", methods[k], bal[k], b1);
        if (k < 2) {
            /* Same seed, same bits. */
            memcpy(first, out.params + tl_model_find(&out, "head.weight")->off, sizeof first);
            CHECK(tl_stage2_run(&s, &again, &src, &tr, &va, count, &cfg, 64, &err) == 0);
            CHECK(!memcmp(first, again.params + tl_model_find(&again, "head.weight")->off, sizeof first));
            tl_model_free(&again);
        }
        tl_model_free(&out);
    }
    CHECK_MSG(bal[0] > b1 + 0.02, "crt %.3f should beat instance-sampled stage 1 %.3f", bal[0], b1);
    tl_stage2 s;
    CHECK(tl_stage2_create(&s, "tau:tau=-1", &src, &err) == -1);
    CHECK(tl_stage2_create(&s, "knn", &src, &err) == -1 && strstr(err.msg, "crt, ncm, tau, lws"));
    CHECK(tl_stage2_create(&s, "ncm:metric=dot", &src, &err) == -1);
    tl_dataset none = {0};
    tl_model out;
    CHECK(tl_stage2_create(&s, "tau", &src, &err) == 0);
    CHECK(tl_stage2_run(&s, &out, &src, &tr, &none, count, &cfg, 64, &err) == -1 && strstr(err.msg, "--val"));
    tl_model cos;
    CHECK(tl_stage2_feature_model(&cos, 4, 4, "cosine", 8, 1, 0, &err) == 0);
    CHECK(tl_stage2_create(&s, "lws", &cos, &err) == -1 && strstr(err.msg, "linear"));
    tl_model_free(&cos);
    tl_model_free(&src);
    tl_dataset_free(&tr);
    tl_dataset_free(&va);
    unlink(ckpt);
}

/* The inference rules tde and tau-norm of tailor eval --posthoc. */
static void test_posthoc_rules(void) {
    tl_error err;
    tl_posthoc p;
    int64_t count[3] = {5, 3, 0};
    tl_model lin, cau;
    if (tl_stage2_feature_model(&lin, 4, 3, "linear", 2, 1, 5, &err) ||
        tl_stage2_feature_model(&cau, 4, 3, "causal:heads=2,alpha=2", 2, 1, 5, &err)) { CHECK(0); return; }
    const tl_tensor_info *w = tl_model_find(&lin, "head.weight"), *b = tl_model_find(&lin, "head.bias");
    float want[12];
    tl_tau_norm_weights(want, lin.params + w->off, 3, 4, 0.5);
    CHECK(tl_posthoc_create(&p, "tau-norm:tau=0.5", count, 3, &err) == 0);   /* a class without images is fine */
    CHECK(tl_posthoc_bind(&p, &lin, &err) == 0);
    CHECK(!memcmp(want, lin.params + w->off, sizeof want));
    CHECK(lin.params[b->off] == 0 && lin.params[b->off + 2] == 0);
    CHECK(tl_posthoc_bind(&p, &cau, &err) == -1 && strstr(err.msg, "linear"));
    tl_posthoc_free(&p);
    CHECK(tl_posthoc_create(&p, "tde:alpha=0", count, 3, &err) == 0);
    CHECK(tl_posthoc_bind(&p, &lin, &err) == -1 && strstr(err.msg, "causal"));
    /* α = 0 after binding: inference logits equal the training ones. */
    float *cbar = cau.state + tl_model_find(&cau, "head.embed_mean")->off, x[8] = {1, 2, -1, 0.5f, 0, 1, 1, -2}, z0[6], z1[6];
    for (int j = 0; j < 4; j++) cbar[j] = (float)(j + 1);
    CHECK(tl_posthoc_bind(&p, &cau, &err) == 0);
    cau.head.ops->forward(&cau.head, z0, x, NULL, cau.params);
    int y[2] = {0, 1};
    cau.head.ops->forward(&cau.head, z1, x, y, cau.params);
    for (int j = 0; j < 6; j++) CHECK(z0[j] == z1[j]);
    tl_posthoc_free(&p);
    CHECK(tl_posthoc_create(&p, "tde:beta=1", count, 3, &err) == -1 && strstr(err.msg, "alpha"));
    CHECK(tl_posthoc_create(&p, "tau-norm:tau=auto", count, 3, &err) == -1);
    CHECK(tl_posthoc_create(&p, "knn", count, 3, &err) == -1 && strstr(err.msg, "tde, tau-norm"));
    tl_model_free(&lin);
    tl_model_free(&cau);
}

int main(void) {
    RUN_TEST(test_causal_fd);
    RUN_TEST(test_causal_tde);
    RUN_TEST(test_ncm_lws_fd);
    RUN_TEST(test_ncm_fit);
    RUN_TEST(test_tau_norm);
    RUN_TEST(test_crt_lws_end_to_end);
    RUN_TEST(test_posthoc_rules);
    TEST_MAIN_END();
}
