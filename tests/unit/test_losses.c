/* Losses (src/losses): central finite differences of every loss w.r.t. its logits (weights on and
 * off, DRW before and after its epoch), the golden class weights of docs/methods.md §3.1 and LDAM margins
 * of §3.6, identities between losses, the data-parallel normaliser (batch_weight), and the errors of
 * bad specs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/rng.h"
#include "losses/loss.h"
#include "models/model.h"

#define NB 6
#define NC 5

static const int64_t counts5[NC] = {400, 150, 60, 20, 7};
static const int64_t cifar10_lt[10] = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};

static void random_batch(float *z, int *y, double scale, uint64_t seed) {
    tl_rng r;
    tl_rng_seed(&r, seed, TL_RNG_DATA);
    for (int i = 0; i < NB * NC; i++) z[i] = (float)(scale * (2 * tl_rng_uniform(&r) - 1));
    for (int i = 0; i < NB; i++) y[i] = i < 3 ? 0 : (int)tl_rng_below(&r, NC);   /* imbalanced labels */
}

/* Central differences on each logit (float inputs; the step is the exact float difference), against
 * the loss's dlogits: |fd - g| <= 2e-5·max(1, |g|). */
static void fd_check(const char *spec, int cosine, int epoch) {
    tl_error err;
    tl_head head = {.C = NC, .scale = cosine ? 30 : 1, .normalized = cosine};
    tl_loss l;
    int ok = tl_loss_create(&l, spec, NC, counts5, &head, &err) == 0;
    CHECK_MSG(ok, "%s: %s", spec, err.msg);
    if (!ok) return;
    tl_loss_epoch(&l, epoch);
    float z[NB * NC], g[NB * NC], scratch[NB * NC];
    int y[NB];
    random_batch(z, y, cosine ? 30 : 3, 5);
    tl_loss_compute(&l, g, z, y, NB);
    double worst = 0;
    for (int k = 0; k < NB * NC; k++) {
        float z0 = z[k], zp = z0 + 1e-3f, zm = z0 - 1e-3f;
        z[k] = zp;
        double fp = tl_loss_compute(&l, scratch, z, y, NB);
        z[k] = zm;
        double fm = tl_loss_compute(&l, scratch, z, y, NB);
        z[k] = z0;
        double fd = (fp - fm) / ((double)zp - zm), e = fabs(fd - g[k]) / fmax(1, fabs(g[k]));
        if (e > worst) worst = e;
    }
    CHECK_MSG(worst <= 2e-5, "%s (epoch %d): worst gradient error %.3g", spec, epoch, worst);
    tl_loss_destroy(&l);
}

static void test_finite_differences(void) {
    static const char *const linear[] = {
        "ce", "ce:weights=inverse", "ce:weights=sqrt-inverse", "ce:weights=effective,beta=0.99",
        "sigmoid", "sigmoid:weights=effective", "sigmoid:gamma=2", "sigmoid:gamma=0.5,weights=inverse",
        "focal", "focal:gamma=2,weights=inverse", "focal:gamma=0.5", "focal:gamma=1,variant=ldam,weights=effective",
        "logit-adjust", "logit-adjust:tau=0.5,weights=inverse", "balanced-softmax", "balanced-softmax:weights=effective",
    };
    for (size_t i = 0; i < sizeof linear / sizeof *linear; i++) fd_check(linear[i], 0, 0);
    fd_check("ldam", 1, 0);
    fd_check("ldam:max_m=0.3,weights=effective,drw=2", 1, 1);
    fd_check("ldam:max_m=0.3,weights=effective,drw=2", 1, 2);
    fd_check("ce:weights=inverse,drw=3", 0, 3);
}

/* docs/methods.md §3.1 golden values, CIFAR-10-LT IF = 100, rounded to 4 decimals. */
static void test_golden_class_weights(void) {
    static const struct { int kind; double beta; double w[10]; } g[] = {
        {TL_WEIGHTS_INVERSE, 0, {0.0402, 0.0671, 0.1120, 0.1868, 0.3119, 0.5199, 0.8672, 1.4474, 2.4239, 4.0236}},
        {TL_WEIGHTS_SQRT_INVERSE, 0, {0.2445, 0.3158, 0.4080, 0.5269, 0.6808, 0.8789, 1.1352, 1.4666, 1.8979, 2.4453}},
        {TL_WEIGHTS_EFFECTIVE, 0.9999, {0.0506, 0.0769, 0.1211, 0.1950, 0.3188, 0.5246, 0.8683, 1.4426, 2.4092, 3.9927}},
        {TL_WEIGHTS_EFFECTIVE, 0.999, {0.1812, 0.1894, 0.2157, 0.2729, 0.3785, 0.5606, 0.8688, 1.3862, 2.2584, 3.6883}},
        {TL_WEIGHTS_EFFECTIVE, 0.99, {0.7838, 0.7838, 0.7838, 0.7838, 0.7850, 0.8002, 0.8682, 1.0414, 1.3854, 1.9844}},
    };
    for (size_t k = 0; k < sizeof g / sizeof *g; k++) {
        double w[10], sum = 0;
        tl_class_weights(w, cifar10_lt, 10, g[k].kind, g[k].beta);
        for (int c = 0; c < 10; c++) { CHECK_CLOSE(w[c], g[k].w[c], 5.01e-5); sum += w[c]; }
        CHECK_CLOSE(sum, 10.0, 1e-12);
    }
}

/* docs/methods.md §3.6: Δ for CIFAR-10-LT IF = 100, max_m = 0.5. */
static void test_golden_ldam_margins(void) {
    static const double want[10] = {0.1581, 0.1797, 0.2042, 0.2321, 0.2638, 0.2998, 0.3407, 0.3872, 0.4405, 0.5000};
    double d[10];
    tl_ldam_margins(d, cifar10_lt, 10, 0.5);
    for (int c = 0; c < 10; c++) CHECK_CLOSE(d[c], want[c], 5.01e-5);
}

static double run(const char *spec, int cosine, int epoch, const float *z, const int *y, float *g) {
    tl_error err;
    tl_head head = {.C = NC, .scale = cosine ? 30 : 1, .normalized = cosine};
    tl_loss l;
    if (tl_loss_create(&l, spec, NC, counts5, &head, &err)) { fprintf(stderr, "%s\n", err.msg); return NAN; }
    tl_loss_epoch(&l, epoch);
    double v = tl_loss_compute(&l, g, z, y, NB);
    tl_loss_destroy(&l);
    return v;
}

/* Focal with γ = 0 is CE; focal's LDAM variant without weights is the standard focal; logit-adjust
 * with τ = 1 is balanced softmax up to the 1e-12; sigmoid with γ = 0 twice is the same; ce before a
 * DRW epoch is plain ce and after it weighted ce; LDAM with max_m = 0 is ce on the cosine logits. */
static void test_identities(void) {
    float z[NB * NC], g1[NB * NC], g2[NB * NC];
    int y[NB];
    random_batch(z, y, 3, 9);
    CHECK_CLOSE(run("focal:gamma=0", 0, 0, z, y, g1), run("ce", 0, 0, z, y, g2), 1e-12);
    for (int k = 0; k < NB * NC; k++) CHECK_CLOSE(g1[k], g2[k], 1e-6);
    CHECK_CLOSE(run("focal:gamma=2,variant=ldam", 0, 0, z, y, g1), run("focal:gamma=2", 0, 0, z, y, g2), 1e-12);
    for (int k = 0; k < NB * NC; k++) CHECK_CLOSE(g1[k], g2[k], 1e-6);
    CHECK_CLOSE(run("logit-adjust", 0, 0, z, y, g1), run("balanced-softmax", 0, 0, z, y, g2), 1e-9);
    CHECK_CLOSE(run("ce:weights=inverse,drw=4", 0, 3, z, y, g1), run("ce", 0, 0, z, y, g2), 1e-12);
    CHECK_CLOSE(run("ce:weights=inverse,drw=4", 0, 4, z, y, g1), run("ce:weights=inverse", 0, 0, z, y, g2), 1e-12);
    CHECK_CLOSE(run("ldam:max_m=0", 1, 0, z, y, g1), run("ce", 0, 0, z, y, g2), 1e-12);
    /* Sigmoid γ = 0 by hand: Σ_ij softplus(z) - t z over N. */
    double want = 0;
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NC; j++) {
            double u = z[i * NC + j];
            want += fmax(u, 0) + log1p(exp(-fabs(u))) - (j == y[i]) * u;
        }
    CHECK_CLOSE(run("sigmoid", 0, 0, z, y, g1), want / NB, 1e-12);
}

/* Focal's guard: a row with p = 1 to double precision has a zero gradient, never NaN. */
static void test_focal_guard(void) {
    float z[NB * NC] = {0}, g[NB * NC];
    int y[NB] = {0, 1, 2, 3, 4, 0};
    for (int i = 0; i < NB; i++) z[i * NC + y[i]] = 80;
    for (int k = 0; k < 2; k++) {
        double v = run(k ? "focal:gamma=0.5" : "focal:gamma=0.5,variant=ldam", 0, 0, z, y, g);
        CHECK(isfinite(v));
        for (int j = 0; j < NB * NC; j++) CHECK(g[j] == 0);
    }
}

/* What a loss asks of the model (tl_loss_init_model): the sigmoid losses start a linear head's bias
 * at -log(C-1); the others leave the model as it was initialised. */
static void test_sigmoid_bias_init(void) {
    tl_error err;
    const char *specs[] = {"sigmoid:gamma=1", "ce"};
    for (int k = 0; k < 2; k++) {
        tl_model_cfg cfg;
        tl_model m, fresh;
        tl_loss l;
        CHECK(tl_model_cfg_default(&cfg, "mlp", 1, 2, 2, NC, &err) == 0);
        CHECK(tl_model_init(&m, &cfg, 4, 1, 7, &err) == 0 && tl_model_init(&fresh, &cfg, 4, 1, 7, &err) == 0);
        CHECK(tl_loss_create(&l, specs[k], NC, counts5, &m.head, &err) == 0);
        tl_loss_init_model(&l, &m);
        const tl_tensor_info *b = tl_model_find(&m, "head.bias");
        CHECK(b && b->numel == NC);
        for (size_t j = 0; b && j < b->numel; j++)
            CHECK(m.params[b->off + j] == (k == 0 ? (float)-log(NC - 1.0) : fresh.params[b->off + j]));
        for (size_t j = 0; j < m.nparams; j++)   /* nothing but the bias changes */
            if (!b || j < b->off || j >= b->off + b->numel) CHECK(m.params[j] == fresh.params[j]);
        tl_loss_destroy(&l);
        tl_model_free(&m);
        tl_model_free(&fresh);
    }
}

/* The head a loss trains with when --head is left at linear (tl_loss_default_head). */
static void test_default_head(void) {
    tl_error err;
    char head[128];
    CHECK(tl_loss_default_head("ldam", "linear", head, sizeof head, &err) == 0 && !strcmp(head, "cosine:s=30"));
    CHECK(tl_loss_default_head("ldam:s=16,max_m=0.4", "linear", head, sizeof head, &err) == 0 && !strcmp(head, "cosine:s=16"));
    CHECK(tl_loss_default_head("ldam", "cosine:s=8", head, sizeof head, &err) == 0 && !strcmp(head, "cosine:s=8"));
    CHECK(tl_loss_default_head("focal:gamma=2", "linear", head, sizeof head, &err) == 0 && !strcmp(head, "linear"));
    CHECK(tl_loss_default_head("ldam:s=1e9", "linear", head, sizeof head, &err) == -1 && strstr(err.msg, "s=1e+09 must be <= 1000"));
    CHECK(tl_loss_default_head("hinge", "linear", head, sizeof head, &err) == -1 &&
          strstr(err.msg, "--loss: unknown name 'hinge' (valid: ce, sigmoid, focal, ldam, logit-adjust, balanced-softmax)"));
    CHECK(tl_loss_default_head("ldam", "linear", head, 8, &err) == -1 && strstr(err.msg, "too long"));
}

/* Data-parallel training (loss.h batch_weight): two halves of a batch, each told the whole batch's
 * weight sum over 2 (as the trainer does for 2 processes), average to the whole batch's loss, and
 * their dlogits halved are the whole batch's rows; for every loss, weights on and off. */
static void test_batch_weight_halves(void) {
    static const char *specs[] = {"ce", "ce:weights=inverse", "logit-adjust:weights=effective", "balanced-softmax:weights=sqrt-inverse",
                                  "focal:gamma=2,weights=inverse", "sigmoid:gamma=1,weights=effective", "ldam:weights=inverse"};
    float z[NB * NC], g[NB * NC], gh[NB * NC];
    int y[NB];
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        int cosine = !strncmp(specs[k], "ldam", 4);
        random_batch(z, y, cosine ? 30 : 3, 9);
        tl_error err;
        tl_head head = {.C = NC, .scale = cosine ? 30 : 1, .normalized = cosine};
        tl_loss l;
        if (tl_loss_create(&l, specs[k], NC, counts5, &head, &err)) { CHECK_MSG(0, "%s: %s", specs[k], err.msg); continue; }
        double whole = tl_loss_compute(&l, g, z, y, NB), wsum = 0;
        for (int i = 0; i < NB; i++) wsum += l.weights_on ? l.w[y[i]] : 1;
        l.batch_weight = l.weights_on ? wsum / 2 : 0;
        double halves = 0;
        for (int h = 0; h < 2; h++) halves += tl_loss_compute(&l, gh + h * (NB / 2) * NC, z + h * (NB / 2) * NC, y + h * (NB / 2), NB / 2) / 2;
        double worst = 0;
        for (int i = 0; i < NB * NC; i++) worst = fmax(worst, fabs(gh[i] / 2 - g[i]));
        CHECK_MSG(fabs(halves - whole) <= 1e-12 * fmax(1, fabs(whole)) && worst <= 1e-7, "%s: loss %.17g vs %.17g, dlogits %.3g",
                  specs[k], halves, whole, worst);
        tl_loss_destroy(&l);
    }
}

static void test_errors(void) {
    static const int64_t holes[NC] = {10, 5, 0, 3, 2};
    static const struct { const char *spec; int cosine; const int64_t *count; const char *msg; } bad[] = {
        {"ldam", 0, counts5, "needs a normalised head"},
        {"ldam:s=20", 1, counts5, "differs from the head's scale"},
        {"ldam", 1, holes, "class 2 has no training images"},
        {"balanced-softmax", 0, holes, "class 2 has no training images"},
        {"focal:gamma=-1", 0, counts5, "gamma=-1 must be >= 0"},
        {"focal:variant=x", 0, counts5, "not one of standard, ldam"},
        {"sigmoid:gamma=-0.5", 0, counts5, "must be >= 0"},
        {"logit-adjust:tau=x", 0, counts5, "not a number"},
        {"ce:weights=inverse", 0, holes, "class 2 has no training images"},
        {"hinge", 0, counts5, "valid: ce, sigmoid, focal, ldam, logit-adjust, balanced-softmax"},
        {"ldam:margin=1", 1, counts5, "unknown key 'margin'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_error err = {{0}};
        tl_head head = {.C = NC, .scale = bad[k].cosine ? 30 : 1, .normalized = bad[k].cosine};
        tl_loss l;
        int rc = tl_loss_create(&l, bad[k].spec, NC, bad[k].count, &head, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].msg), "%s: rc %d, '%s'", bad[k].spec, rc, err.msg);
        CHECK_MSG(strncmp(err.msg, "--loss", 6) == 0, "%s: '%s'", bad[k].spec, err.msg);
    }
}

int main(void) {
    RUN_TEST(test_finite_differences);
    RUN_TEST(test_golden_class_weights);
    RUN_TEST(test_golden_ldam_margins);
    RUN_TEST(test_identities);
    RUN_TEST(test_focal_guard);
    RUN_TEST(test_sigmoid_bias_init);
    RUN_TEST(test_default_head);
    RUN_TEST(test_batch_weight_halves);
    RUN_TEST(test_errors);
    TEST_MAIN_END();
}
