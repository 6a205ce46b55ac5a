/* M2m (src/transfer/m2m.c, docs/methods.md §12): the input gradient of the objective against central
 * differences along random directions (a cnn f and an mlp g, two channels, each net with its own
 * normalisation) and its value against a hand computation; the acceptance probability; the slot and
 * seed statistics of the plan on a tiny fixed batch (and a batch whose slots are all dropped); the
 * clamp to [0, 1] of the random start and the step; and the --synth m2m hook end to end on a saved
 * teacher: no change before `start`, rejected slots keep their rows bit for bit, accepted ones are
 * replaced by images in [0, 1] near their seed, reproducibility from the rng, the files of finish, and
 * bad specs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "losses/softmax.h"
#include "models/model.h"
#include "models/model_io.h"
#include "train/hook.h"
#include "transfer/m2m.h"

static char tmpdir[] = "/tmp/tl_test_m2m_XXXXXX";

/* A model with random weights whose BN running statistics have seen two random training batches. */
static int make_model(tl_model *m, const char *arch, int c, int hw, int C, int N, uint64_t seed) {
    tl_model_cfg cfg;
    tl_error err = {{0}};
    if (tl_model_cfg_default(&cfg, arch, c, hw, hw, C, &err)) return -1;
    cfg.feat_dim = 8;
    if (!strcmp(arch, "mlp")) { cfg.nhidden = 2; cfg.hidden[0] = 16; cfg.hidden[1] = 8; }
    if (tl_model_init(m, &cfg, N, 1, seed, &err)) { fprintf(stderr, "  %s\n", err.msg); return -1; }
    tl_rng r;
    tl_rng_seed(&r, seed + 100, TL_RNG_DATA);
    int y[64];
    size_t n = (size_t)N * c * hw * hw;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < n; i++) tl_model_input(m)[i] = (float)(0.5 + tl_rng_normal(&r));
        for (int i = 0; i < N; i++) y[i] = i % C;
        if (tl_model_forward(m, 1, y, NULL, NULL)) return -1;
    }
    return 0;
}

/* ---- the objective and its input gradient ---- */

enum { GN = 6, GC = 2, GHW = 8, GK = 4, GS = 4 };
#define GD (GC * GHW * GHW)

/* tl_m2m_objective's value, which must not fail. */
static double objective(float *G, const tl_m2m_net *g, const tl_m2m_net *f, const float *p, const int *k, const int *k0,
                        int S, double lambda, float scale) {
    double L = NAN;
    tl_error err = {0};
    CHECK_MSG(tl_m2m_objective(&L, G, g, f, p, k, k0, S, lambda, scale, &err) == 0, "%s", err.msg);
    return L;
}

/* One configuration: f and g of the given architectures, λ. */
static void objective_case(const char *farch, const char *garch, double lambda) {
    tl_model f, g;
    if (make_model(&f, farch, GC, GHW, GK, GN, 1) || make_model(&g, garch, GC, GHW, GK, GN, 2)) { CHECK(0); return; }
    const float mean_f[GC] = {60, 120}, std_f[GC] = {80, 50}, mean_g[GC] = {100, 90}, std_g[GC] = {70, 60};
    tl_m2m_net nf = {&f, mean_f, std_f}, ng = {&g, mean_g, std_g};
    tl_rng r;
    tl_rng_seed(&r, 5, TL_RNG_DATA);
    static float p[GN * GD], G[GN * GD], q[GN * GD];
    int k[GN], k0[GN];
    for (int i = 0; i < GN * GD; i++) p[i] = (float)(0.1 + 0.8 * tl_rng_uniform(&r));
    for (int j = 0; j < GN; j++) { k[j] = (int)tl_rng_below(&r, GK); k0[j] = (int)tl_rng_below(&r, GK); }
    double L = objective(G, &ng, &nf, p, k, k0, GS, lambda, 255.0f);

    /* the value, by hand from each net's evaluation-mode logits */
    double ce = 0, lf = 0;
    tl_model *ms[2] = {&g, &f};
    const float *mean[2] = {mean_g, mean_f}, *sd[2] = {std_g, std_f};
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < GN * GD; i++) {
            int ch = (i / (GHW * GHW)) % GC;
            tl_model_input(ms[t])[i] = (255.0f * p[i] - mean[t][ch]) / sd[t][ch];
        }
        CHECK(tl_model_forward(ms[t], 0, NULL, NULL, NULL) == 0);
        for (int j = 0; j < GS; j++) {
            const float *z = ms[t]->logits + j * GK;
            if (t == 0) ce += tl_logsumexp(z, GK) - z[k[j]];
            else lf += z[k0[j]];
        }
    }
    CHECK_CLOSE(L, ce / GS + lambda * lf / GS, 1e-5);
    CHECK_CLOSE(objective(NULL, &ng, &nf, p, k, k0, GS, lambda, 255.0f), L, 1e-6);

    /* padding rows: no gradient, and no influence on the value */
    int zero = 1;
    for (int i = GS * GD; i < GN * GD; i++) zero &= G[i] == 0;
    CHECK(zero);
    memcpy(q, p, sizeof p);
    for (int i = GS * GD; i < GN * GD; i++) q[i] = 1 - q[i];
    CHECK(objective(NULL, &ng, &nf, q, k, k0, GS, lambda, 255.0f) == L);

    /* Central differences along random directions of the slot rows. The ReLU kinks of both nets give
     * the difference quotient an O(h) bias (measured: 20% at h = 1e-2, 0.2% at 1.5e-4) and float32
     * rounding an O(1e-7/h) noise, so h = 1.5e-4 with 1% + 5e-4; the PyTorch parity test
     * (tests/parity/test_m2m.py) pins the gradient to float32 precision. */
    const double h = 1.5e-4;
    for (int t = 0; t < 6; t++) {
        double u[GS * GD], an = 0, Ls[2];
        for (int i = 0; i < GS * GD; i++) { u[i] = tl_rng_normal(&r); an += u[i] * G[i]; }
        for (int s = 0; s < 2; s++) {
            memcpy(q, p, sizeof p);
            for (int i = 0; i < GS * GD; i++) q[i] = (float)(p[i] + (s ? -h : h) * u[i]);
            Ls[s] = objective(NULL, &ng, &nf, q, k, k0, GS, lambda, 255.0f);
        }
        double fd = (Ls[0] - Ls[1]) / (2 * h);
        CHECK_MSG(fabs(fd - an) <= 1e-2 * fmax(fabs(fd), fabs(an)) + 5e-4, "f %s, g %s, direction %d: fd %.9g analytic %.9g",
                  farch, garch, t, fd, an);
    }
    tl_model_free(&f);
    tl_model_free(&g);
}

static void test_objective_gradient(void) {
    objective_case("cnn", "mlp", 0.7);
    objective_case("mlp", "cnn", 3);
}

/* ---- acceptance and the plan ---- */

static void test_accept_prob(void) {
    CHECK_CLOSE(tl_m2m_accept_prob(100, 10, 0.9), 1 - pow(0.9, 90), 1e-15);
    CHECK(tl_m2m_accept_prob(10, 10, 0.9) == 0);
    CHECK(tl_m2m_accept_prob(3, 10, 0.9) == 0);
    CHECK(tl_m2m_accept_prob(5000, 50, 0.999) > 0.99);
    CHECK(tl_m2m_accept_prob(2, 1, 0) == 1);
}

/* counts {100, 10, 1}, batch labels {0, 0, 1, 2}: row 2 is a slot with probability 0.9 and takes
 * rows 0/1 as seed 1/2 each; row 3 is a slot with probability 0.99 and takes row 0, 1 or 2 with
 * probability ∝ (1 − 0.9^99, 1 − 0.9^99, 1 − 0.9^9); rows 0 and 1 are never slots. */
static void test_plan_statistics(void) {
    const int64_t count[3] = {100, 10, 1};
    const int y[4] = {0, 0, 1, 2};
    const double beta = 0.9;
    double a0 = 1 - pow(beta, 99), a2 = 1 - pow(beta, 9);
    double want3[3] = {a0 / (2 * a0 + a2), a0 / (2 * a0 + a2), a2 / (2 * a0 + a2)};
    tl_rng r;
    tl_rng_seed(&r, 9, TL_RNG_HOOK);
    const int T = 40000;
    double slot[4] = {0}, seed2[4] = {0}, seed3[4] = {0};
    int accept_ok = 1, nslots_ok = 1;
    for (int t = 0; t < T; t++) {
        int row[4], seed[4], ns;
        double acc[4];
        int S = tl_m2m_plan(row, seed, acc, &ns, y, 4, count, 3, beta, &r);
        nslots_ok &= S == ns;   /* no slot of this batch can be dropped */
        for (int s = 0; s < S; s++) {
            slot[row[s]]++;
            (row[s] == 2 ? seed2 : seed3)[seed[s]]++;
            accept_ok &= acc[s] == tl_m2m_accept_prob(count[y[seed[s]]], count[y[row[s]]], beta);
        }
    }
    CHECK(accept_ok);
    CHECK(nslots_ok);
    CHECK(slot[0] == 0 && slot[1] == 0);
    /* 5 standard deviations of a binomial proportion */
    double sd2 = sqrt(0.9 * 0.1 / T), sd3 = sqrt(0.99 * 0.01 / T);
    CHECK_MSG(fabs(slot[2] / T - 0.9) < 5 * sd2, "row 2 slot rate %g", slot[2] / T);
    CHECK_MSG(fabs(slot[3] / T - 0.99) < 5 * sd3, "row 3 slot rate %g", slot[3] / T);
    CHECK(seed2[2] == 0 && seed2[3] == 0 && seed3[3] == 0);
    double half = seed2[0] / (seed2[0] + seed2[1]);
    CHECK_MSG(fabs(half - 0.5) < 5 * sqrt(0.25 / slot[2]), "row 2 seed split %g", half);
    for (int j = 0; j < 3; j++) {
        double got = seed3[j] / slot[3];
        CHECK_MSG(fabs(got - want3[j]) < 5 * sqrt(want3[j] * (1 - want3[j]) / slot[3]), "row 3 seed %d: %g vs %g", j,
                  got, want3[j]);
    }
    /* every row of the minority class: slots, but no candidate has P_accept > 0, so all are dropped */
    const int ally[4] = {2, 2, 2, 2};
    int row[4], seed[4], ns, drops = 0, seen = 0;
    double acc[4];
    for (int t = 0; t < 100; t++) {
        drops += tl_m2m_plan(row, seed, acc, &ns, ally, 4, count, 3, beta, &r) == 0;
        seen += ns;
    }
    CHECK(drops == 100);
    CHECK(seen > 300);
}

/* ---- clamping ---- */

static void test_clamp(void) {
    enum { D = 400 };
    float x0[D], p[D], G[D], before[D];
    tl_rng r;
    tl_rng_seed(&r, 3, TL_RNG_DATA);
    for (int i = 0; i < D; i++) x0[i] = i % 3 == 0 ? 0.0f : i % 3 == 1 ? 1.0f : (float)tl_rng_uniform(&r);
    tl_m2m_random_start(p, x0, D, &r);
    double d2 = 0;
    int in = 1;
    for (int i = 0; i < D; i++) { in &= p[i] >= 0 && p[i] <= 1; d2 += (double)(p[i] - x0[i]) * (p[i] - x0[i]); }
    CHECK(in);
    CHECK(sqrt(d2) <= 0.5 + 1e-6);
    /* a large step in a random direction stays in [0, 1] and moves by at most eta */
    for (int i = 0; i < D; i++) G[i] = (float)tl_rng_normal(&r);
    memcpy(before, p, sizeof p);
    tl_m2m_step(p, G, 1, D, 3.0);
    in = 1;
    d2 = 0;
    for (int i = 0; i < D; i++) { in &= p[i] >= 0 && p[i] <= 1; d2 += (double)(p[i] - before[i]) * (p[i] - before[i]); }
    CHECK(in);
    CHECK(sqrt(d2) <= 3.0 + 1e-5);
    /* in the interior a step moves by exactly eta along −G/‖G‖ */
    for (int i = 0; i < D; i++) p[i] = before[i] = 0.5f;
    tl_m2m_step(p, G, 1, D, 0.01);
    double gn = 0;
    for (int i = 0; i < D; i++) gn += (double)G[i] * G[i];
    gn = sqrt(gn);
    int along = 1;
    for (int i = 0; i < D; i++) along &= fabs((p[i] - 0.5) + 0.01 * G[i] / gn) < 1e-7;
    CHECK(along);
}

/* ---- the hook ---- */

enum { HN = 8, HC = 4, HHW = 8, HD = HHW * HHW, NTR = 40 };
static const int64_t hcount[HC] = {24, 10, 4, 2};

typedef struct {
    tl_dataset d;
    tl_model f;
    float mean[1], std[1];
    tl_hook_env env;
    float x[HN * HD];   /* the normalised first HN rows */
    int y[HN];
} rig;

static int rig_init(rig *g) {
    memset(g, 0, sizeof *g);
    tl_error err = {{0}};
    uint8_t *block;
    tl_images *im = tl_images_memory(NTR, HHW, HHW, 1, &block);
    int bad = !im || tl_dataset_alloc_images(&g->d, im, NTR, HC, "test", &err);
    tl_images_unref(im);
    if (bad) return -1;
    /* the first batch mixes every class: 0 0 0 1 1 2 3 0; the rest fill the counts */
    const int first[HN] = {0, 0, 0, 1, 1, 2, 3, 0};
    int64_t left[HC];
    memcpy(left, hcount, sizeof left);
    for (int i = 0; i < HN; i++) left[g->d.y[i] = first[i]]--;
    for (int i = HN, c = 0; i < NTR; i++) {
        while (left[c] == 0) c++;
        g->d.y[i] = c;
        left[c]--;
    }
    tl_rng r;
    tl_rng_seed(&r, 4, TL_RNG_DATA);
    for (int i = 0; i < NTR * HD; i++) block[i] = (uint8_t)tl_rng_below(&r, 256);
    if (tl_norm_stats(g->mean, g->std, &g->d, &err)) return -1;
    for (int i = 0; i < HN * HD; i++) g->x[i] = ((float)block[i] - g->mean[0]) / g->std[0];
    memcpy(g->y, g->d.y, sizeof g->y);
    /* the teacher: another cnn with its own normalisation */
    tl_model t;
    char path[256];
    float tm = 110, ts = 70;
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    if (make_model(&t, "cnn", 1, HHW, HC, HN, 21)) return -1;
    int rc = tl_model_save(&t, 2, &tm, &ts, path, &err);
    tl_model_free(&t);
    if (rc || make_model(&g->f, "cnn", 1, HHW, HC, HN, 22)) return -1;
    g->env = (tl_hook_env){&g->f, &g->d, hcount, g->mean, g->std, tmpdir, 2, 1, 0};
    return 0;
}

static void rig_free(rig *g) {
    tl_model_free(&g->f);
    tl_dataset_free(&g->d);
}

static int hook(tl_hook *k, rig *g, const char *spec) {
    tl_error err = {{0}};
    int rc = tl_hook_create(k, "--synth", spec, &g->env, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", spec, err.msg);
    return rc;
}

/* Runs the hook's batch on the rig's first rows in f's input buffer, as the trainer does. */
static void run_batch(tl_hook *k, rig *g, int *y, int epoch, uint64_t seed) {
    tl_rng r;
    tl_rng_seed(&r, seed, TL_RNG_HOOK);
    memcpy(tl_model_input(&g->f), g->x, sizeof g->x);
    memcpy(y, g->y, sizeof g->y);
    tl_error err = {{0}};
    CHECK(k->ops->batch(k, &g->f, tl_model_input(&g->f), y, epoch, &r, &err) == 0);
}

static void test_hook_before_start(void) {
    rig g;
    tl_hook k;
    if (rig_init(&g) || hook(&k, &g, "m2m:start=1")) { CHECK(0); rig_free(&g); return; }
    CHECK(k.ops->sampler(&k, 0) == NULL);
    CHECK(k.ops->sampler(&k, 1) != NULL);
    CHECK(k.capacity == NTR);
    int y[HN];
    run_batch(&k, &g, y, 0, 1);
    CHECK(!memcmp(tl_model_input(&g.f), g.x, sizeof g.x));
    CHECK(!memcmp(y, g.y, sizeof y));
    tl_hook_destroy(&k);
    rig_free(&g);
}

static void test_hook_rejected_keeps_rows(void) {
    rig g;
    tl_hook k;
    /* γ = 1: g is never that sure, so every slot is rejected */
    if (rig_init(&g) || hook(&k, &g, "m2m:start=0,gamma=1,steps=3")) { CHECK(0); rig_free(&g); return; }
    tl_rng r;
    tl_rng_seed(&r, 7, TL_RNG_HOOK);
    int row[HN], seed[HN], ns, y[HN];
    double acc[HN];
    CHECK(tl_m2m_plan(row, seed, acc, &ns, g.y, HN, hcount, HC, 0.999, &r) > 0);
    run_batch(&k, &g, y, 0, 7);
    CHECK(!memcmp(tl_model_input(&g.f), g.x, sizeof g.x));
    CHECK(!memcmp(y, g.y, sizeof y));
    tl_hook_destroy(&k);
    rig_free(&g);
}

static void test_hook_accepted_rows(void) {
    rig g;
    tl_hook k;
    /* β = 0 (P_accept = 1 for every larger seed class) and γ = 0: every kept slot is accepted */
    if (rig_init(&g) || hook(&k, &g, "m2m:start=0,gamma=0,beta=0,steps=4,eta=0.2")) { CHECK(0); rig_free(&g); return; }
    tl_rng r;
    tl_rng_seed(&r, 11, TL_RNG_HOOK);
    int row[HN], seed[HN], ns, y[HN], slot[HN] = {0};
    double acc[HN];
    int S = tl_m2m_plan(row, seed, acc, &ns, g.y, HN, hcount, HC, 0, &r);
    CHECK(S > 0);
    run_batch(&k, &g, y, 0, 11);
    const float *x = tl_model_input(&g.f);
    CHECK(!memcmp(y, g.y, sizeof y));
    for (int s = 0; s < S; s++) {
        slot[row[s]] = 1;
        const float *a = x + row[s] * HD, *x0 = g.x + seed[s] * HD;
        double d2 = 0;
        int in = 1;
        for (int i = 0; i < HD; i++) {
            double pa = (a[i] * g.std[0] + g.mean[0]) / 255, p0 = (x0[i] * g.std[0] + g.mean[0]) / 255;
            in &= pa >= -1e-5 && pa <= 1 + 1e-5;
            d2 += (pa - p0) * (pa - p0);
        }
        CHECK(in);
        CHECK_MSG(sqrt(d2) <= 0.5 + 4 * 0.2 + 1e-3, "row %d moved %g from its seed", row[s], sqrt(d2));
        CHECK(memcmp(a, g.x + row[s] * HD, HD * sizeof *a) != 0);
    }
    for (int i = 0; i < HN; i++)
        if (!slot[i]) CHECK(!memcmp(x + i * HD, g.x + i * HD, HD * sizeof *x));
    /* the same stream gives the same batch */
    float first[HN * HD];
    memcpy(first, x, sizeof first);
    run_batch(&k, &g, y, 0, 11);
    CHECK(!memcmp(first, tl_model_input(&g.f), sizeof first));
    /* finish writes the counts and the figure */
    tl_error err = {{0}};
    char path[256];
    CHECK(k.ops->finish(&k, tmpdir, &err) == 0);
    snprintf(path, sizeof path, "%s/m2m.json", tmpdir);
    FILE *fp = fopen(path, "r");
    char text[512] = {0};
    if (fp) { CHECK(fread(text, 1, sizeof text - 1, fp) > 0); fclose(fp); }
    CHECK(strstr(text, "\"epoch\": 0") && strstr(text, "\"accepted\": "));
    remove(path);
    snprintf(path, sizeof path, "%s/m2m_samples.png", tmpdir);
    CHECK(access(path, F_OK) == 0);
    remove(path);
    tl_hook_destroy(&k);
    rig_free(&g);
}

static void expect_error(rig *g, const char *spec, const char *teacher, const char *want) {
    tl_hook k;
    tl_error err = {{0}};
    g->env.teacher = teacher;
    CHECK_MSG(tl_hook_create(&k, "--synth", spec, &g->env, &err) != 0, "%s was accepted", spec);
    CHECK_MSG(strstr(err.msg, want) != NULL, "%s: '%s' lacks '%s'", spec, err.msg, want);
    g->env.teacher = tmpdir;
}

static void test_hook_bad_specs(void) {
    rig g;
    if (rig_init(&g)) { CHECK(0); rig_free(&g); return; }
    expect_error(&g, "m2m", NULL, "needs --teacher");
    expect_error(&g, "m2m:foo=1", tmpdir, "unknown key 'foo'");
    expect_error(&g, "m2m:beta=1", tmpdir, "beta=1");
    expect_error(&g, "m2m:gamma=2", tmpdir, "gamma=2");
    expect_error(&g, "m2m:steps=-1", tmpdir, "steps");
    expect_error(&g, "m2x", tmpdir, "valid: m2m");
    expect_error(&g, "m2m", "/nonexistent-teacher", "--teacher");
    /* tabular rows have no pixel range */
    tl_dataset rows;
    tl_error err;
    CHECK(tl_dataset_alloc(&rows, NTR, HD, 1, 1, HC, "rows", &err) == 0);
    memcpy(rows.y, g.d.y, sizeof(int) * NTR);
    g.env.train = &rows;
    expect_error(&g, "m2m", tmpdir, "needs image data");
    g.env.train = &g.d;
    tl_dataset_free(&rows);
    rig_free(&g);
}

int main(void) {
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    RUN_TEST(test_objective_gradient);
    RUN_TEST(test_accept_prob);
    RUN_TEST(test_plan_statistics);
    RUN_TEST(test_clamp);
    RUN_TEST(test_hook_before_start);
    RUN_TEST(test_hook_rejected_keeps_rows);
    RUN_TEST(test_hook_accepted_rows);
    RUN_TEST(test_hook_bad_specs);
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    remove(path);
    rmdir(tmpdir);
    TEST_MAIN_END();
}
