/* Samplers (src/samplers): class frequencies over many epochs against the intended distribution (a
 * chi-square test at a fixed seed), progressive sampling at its first, middle and last epoch, the
 * class-aware sampler's balance, exact over/under-sampling counts, SMOTE points on segments between
 * same-class k-nearest neighbours, and bad specs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "samplers/sampler.h"

#define NC 5
static const int64_t counts[NC] = {400, 150, 60, 20, 7};
#define NTR 637
/* Chi-square critical value for 4 degrees of freedom at p = 0.001. */
#define CHI2_4_001 18.467

static int labels[NTR];

static void make_labels(void) {
    int k = 0;
    for (int c = 0; c < NC; c++)
        for (int i = 0; i < counts[c]; i++) labels[k++] = c;
    /* Interleave so class lists are not contiguous ranges of indices. */
    tl_rng r;
    tl_rng_seed(&r, 3, TL_RNG_DATA);
    tl_rng_shuffle(&r, labels, NTR);
}

static int create(tl_sampler *s, const char *spec, int epochs) {
    tl_error err;
    int rc = tl_sampler_create(s, spec, labels, NTR, NC, counts, epochs, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", spec, err.msg);
    return rc;
}

/* Class frequencies of `epochs_drawn` draws of epoch `epoch` (different rng each time) against the
 * class distribution p: chi-square below the 0.001 critical value. */
static double chi_square(tl_sampler *s, int epoch, const double *p, int epochs_drawn) {
    int *order = malloc((size_t)s->capacity * sizeof *order);
    double seen[NC] = {0}, total = 0;
    for (int t = 0; t < epochs_drawn; t++) {
        tl_rng r;
        tl_rng_seed(&r, 1000 + (uint64_t)t, TL_RNG_SAMPLER);
        int m = s->ops->epoch(s, order, epoch, &r);
        for (int i = 0; i < m; i++) seen[labels[order[i]]]++;
        total += m;
    }
    free(order);
    double chi = 0;
    for (int c = 0; c < NC; c++) chi += (seen[c] - p[c] * total) * (seen[c] - p[c] * total) / (p[c] * total);
    return chi;
}

static void power_dist(double *p, double q) {
    double sum = 0;
    for (int c = 0; c < NC; c++) sum += p[c] = pow((double)counts[c], q);
    for (int c = 0; c < NC; c++) p[c] /= sum;
}

static void test_instance_is_permutation(void) {
    tl_sampler s;
    CHECK(create(&s, "instance", 3) == 0);
    int order[NTR], seen[NTR] = {0};
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_SAMPLER);
    CHECK(s.ops->epoch(&s, order, 0, &r) == NTR);
    for (int i = 0; i < NTR; i++) seen[order[i]]++;
    for (int i = 0; i < NTR; i++) CHECK(seen[i] == 1);
    tl_sampler_destroy(&s);
}

static void test_weighted_frequencies(void) {
    static const struct { const char *spec; double q; } cases[] = {
        {"class", 0}, {"sqrt", 0.5}, {"power:q=0.3", 0.3}, {"power:q=1", 1}, {"power:q=0", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tl_sampler s;
        double p[NC];
        if (create(&s, cases[k].spec, 1)) { CHECK(0); continue; }
        power_dist(p, cases[k].q);
        double chi = chi_square(&s, 0, p, 60);
        CHECK_MSG(chi < CHI2_4_001, "%s: chi-square %.2f", cases[k].spec, chi);
        tl_sampler_destroy(&s);
    }
    /* The test has power: class-balanced draws are far from the instance distribution. */
    tl_sampler s;
    double p[NC];
    CHECK(create(&s, "class", 1) == 0);
    power_dist(p, 1);
    CHECK(chi_square(&s, 0, p, 5) > 1000);
    tl_sampler_destroy(&s);
}

/* λ_e = e/(T-1): T = 11 gives λ = 0, 0.5, 1 at epochs 0, 5, 10. */
static void test_progressive_epochs(void) {
    tl_sampler s;
    CHECK(create(&s, "progressive", 11) == 0);
    for (int e = 0; e <= 10; e += 5) {
        double lam = e / 10.0, p[NC];
        for (int c = 0; c < NC; c++) p[c] = ((1 - lam) * counts[c] + lam * NTR / (double)NC) / NTR;
        double chi = chi_square(&s, e, p, 60);
        CHECK_MSG(chi < CHI2_4_001, "epoch %d: chi-square %.2f", e, chi);
    }
    tl_sampler_destroy(&s);
    CHECK(create(&s, "progressive", 1) == 0);   /* T = 1: class-balanced */
    double p[NC];
    power_dist(p, 0);
    CHECK(chi_square(&s, 0, p, 60) < CHI2_4_001);
    tl_sampler_destroy(&s);
}

/* Class-aware: class visits are balanced to within one group of per_class, and a class's items do
 * not repeat before all of them were used. */
static void test_class_aware(void) {
    tl_sampler s;
    CHECK(create(&s, "class:mode=aware,per_class=4", 1) == 0);
    int order[NTR];
    tl_rng r;
    tl_rng_seed(&r, 2, TL_RNG_SAMPLER);
    CHECK(s.ops->epoch(&s, order, 0, &r) == NTR);
    int seen[NC] = {0}, lo = NTR, hi = 0;
    for (int i = 0; i < NTR; i++) seen[labels[order[i]]]++;
    for (int c = 0; c < NC; c++) { lo = seen[c] < lo ? seen[c] : lo; hi = seen[c] > hi ? seen[c] : hi; }
    CHECK_MSG(hi - lo <= 4, "class visits %d..%d", lo, hi);
    /* Runs of 4 from one class. */
    for (int i = 0; i + 4 <= NTR; i += 4)
        for (int k = 1; k < 4; k++) CHECK(labels[order[i + k]] == labels[order[i]]);
    /* The 7 items of class 4 all appear in its first 7 draws. */
    int first[NTR] = {0}, got = 0;
    for (int i = 0; i < NTR && got < 7; i++)
        if (labels[order[i]] == 4) { CHECK(first[order[i]] == 0); first[order[i]] = 1; got++; }
    CHECK(got == 7);
    /* Chi-square against 1/C over many epochs. */
    double p[NC];
    power_dist(p, 0);
    CHECK(chi_square(&s, 0, p, 20) < CHI2_4_001);
    tl_sampler_destroy(&s);
}

static void test_over_under_counts(void) {
    static const struct { const char *spec; int over, target; } cases[] = {
        {"oversample", 1, 400}, {"oversample:target=100", 1, 100}, {"undersample", 0, 7}, {"undersample:target=50", 0, 50},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tl_sampler s;
        if (create(&s, cases[k].spec, 1)) { CHECK(0); continue; }
        int *order = malloc((size_t)s.capacity * sizeof *order), want = 0;
        for (int c = 0; c < NC; c++)
            want += cases[k].over ? (counts[c] > cases[k].target ? counts[c] : cases[k].target)
                                  : (counts[c] < cases[k].target ? counts[c] : cases[k].target);
        CHECK(s.capacity == want);
        tl_rng r;
        tl_rng_seed(&r, 4, TL_RNG_SAMPLER);
        CHECK(s.ops->epoch(&s, order, 0, &r) == want);
        int seen[NC] = {0}, uses[NTR] = {0};
        for (int i = 0; i < want; i++) { seen[labels[order[i]]]++; uses[order[i]]++; }
        for (int c = 0; c < NC; c++) {
            int t = cases[k].over ? (counts[c] > cases[k].target ? (int)counts[c] : cases[k].target)
                                  : (counts[c] < cases[k].target ? (int)counts[c] : cases[k].target);
            CHECK_MSG(seen[c] == t, "%s class %d: %d, want %d", cases[k].spec, c, seen[c], t);
        }
        for (int i = 0; i < NTR; i++) {
            if (cases[k].over) CHECK(uses[i] >= 1);           /* every original is kept */
            else CHECK(uses[i] <= 1);                          /* without replacement */
        }
        free(order);
        tl_sampler_destroy(&s);
    }
}

/* Rows of class c with n_c rows in 3-D; returns whether b is among a's k nearest same-class rows
 * (fewer than k rows strictly closer). */
static int among_nearest(const float *x, const int *y, int n, int d, int a, int b, int k) {
    double db = 0;
    for (int j = 0; j < d; j++) db += ((double)x[b * d + j] - x[a * d + j]) * ((double)x[b * d + j] - x[a * d + j]);
    int closer = 0;
    for (int i = 0; i < n; i++) {
        if (i == a || y[i] != y[a]) continue;
        double di = 0;
        for (int j = 0; j < d; j++) di += ((double)x[i * d + j] - x[a * d + j]) * ((double)x[i * d + j] - x[a * d + j]);
        closer += di < db;
    }
    return closer < k;
}

static void test_smote_segments(void) {
    enum { n = 60, d = 3, C = 3, K = 3 };
    static float x[n * d];
    static int y[n];
    int64_t cnt[C] = {0}, target[C] = {40, 40, 40};
    tl_rng r;
    tl_rng_seed(&r, 8, TL_RNG_DATA);
    for (int i = 0; i < n; i++) {
        y[i] = i < 40 ? 0 : i < 52 ? 1 : 2;   /* 40, 12, 8 */
        cnt[y[i]]++;
        for (int j = 0; j < d; j++) x[i * d + j] = (float)(5 * y[i] + tl_rng_normal(&r));
    }
    int64_t m = tl_smote_count(cnt, target, C);
    CHECK(m == 28 + 32);
    float *out = malloc((size_t)m * d * sizeof *out);
    int *oy = malloc((size_t)m * sizeof *oy), *an = malloc((size_t)m * sizeof *an), *nb = malloc((size_t)m * sizeof *nb);
    tl_error err;
    tl_rng_seed(&r, 9, TL_RNG_SYNTH);
    CHECK(tl_smote(out, oy, an, nb, x, y, n, d, C, target, K, 0, 0, 0, &r, &err) == 0);
    int per[C] = {0};
    for (int64_t t = 0; t < m; t++) {
        int a = an[t], b = nb[t];
        per[oy[t]]++;
        CHECK(y[a] == oy[t] && y[b] == oy[t] && a != b);
        CHECK(among_nearest(x, y, n, d, a, b, K));
        /* new = a + u (b - a) with one u in [0, 1] for every coordinate. */
        double u = -1;
        for (int j = 0; j < d; j++) {
            double ab = (double)x[b * d + j] - x[a * d + j], an_ = (double)out[t * d + j] - x[a * d + j];
            if (fabs(ab) > 1e-3) {
                double uj = an_ / ab;
                if (u < 0) u = uj;
                CHECK_MSG(fabs(uj - u) < 1e-4, "row %lld: not collinear (%g vs %g)", (long long)t, uj, u);
            }
        }
        CHECK(u >= -1e-6 && u <= 1 + 1e-6);
    }
    CHECK(per[0] == 0 && per[1] == 28 && per[2] == 32);
    /* Rounded (integer pixels): integers in [lo, hi], within half a unit of the segment's box. */
    for (int i = 0; i < n * d; i++) x[i] = fminf(fmaxf(roundf(x[i] * 20 + 100), 0), 255);
    tl_rng_seed(&r, 9, TL_RNG_SYNTH);
    CHECK(tl_smote(out, oy, an, nb, x, y, n, d, C, target, K, 1, 0, 255, &r, &err) == 0);
    for (int64_t t = 0; t < m; t++)
        for (int j = 0; j < d; j++) {
            float v = out[t * d + j], lo = fminf(x[an[t] * d + j], x[nb[t] * d + j]), hi = fmaxf(x[an[t] * d + j], x[nb[t] * d + j]);
            CHECK(v == roundf(v) && v >= lo && v <= hi);
        }
    free(out); free(oy); free(an); free(nb);
}

/* The GEMM-picked candidates of smote.c give exactly the neighbour of the exact scan, ties to the
 * lower row: with k = 1 a row's neighbour is determined, so every synthetic row's neighbour must be
 * the reference's. Points on a coarse grid (many exact ties between different rows, and duplicates)
 * whose first coordinate is near 2^20 and the others multiples of 0.1f, so that |a|² + |b|² - 2a·b
 * rounds and cancels: without the margin of class_neighbours some ties go to the wrong row. */
static void test_smote_exact_neighbours(void) {
    enum { n = 200, d = 4, C = 2 };
    static float x[n * d];
    static int y[n];
    int64_t target[C] = {100, 1000};
    tl_rng r;
    tl_rng_seed(&r, 21, TL_RNG_DATA);
    for (int i = 0; i < n; i++) {
        y[i] = i < 100 ? 0 : 1;
        for (int j = 0; j < d; j++)
            x[i * d + j] = j ? 0.1f * (float)tl_rng_below(&r, 5) : (float)(1048576 + (int)tl_rng_below(&r, 5));
    }
    int64_t m = target[1] - (n - 100);
    float *out = malloc((size_t)m * d * sizeof *out);
    int *oy = malloc((size_t)m * sizeof *oy), *an = malloc((size_t)m * sizeof *an), *nb = malloc((size_t)m * sizeof *nb);
    tl_error err;
    tl_rng_seed(&r, 3, TL_RNG_SYNTH);
    CHECK(tl_smote(out, oy, an, nb, x, y, n, d, C, target, 1, 0, 0, 0, &r, &err) == 0);
    int bad = 0;
    for (int64_t t = 0; t < m; t++) {
        int a = an[t], best = -1;
        double bd = 0;
        for (int b = 100; b < n; b++) {
            if (b == a) continue;
            double s2 = 0;
            for (int j = 0; j < d; j++) { double v = (double)x[b * d + j] - x[a * d + j]; s2 += v * v; }
            if (best < 0 || s2 < bd) { best = b; bd = s2; }
        }
        bad += nb[t] != best;
    }
    CHECK_MSG(bad == 0, "%d of %lld neighbours differ from the exact scan", bad, (long long)m);
    free(out); free(oy); free(an); free(nb);
}

/* The smote sampler appends rows to a data set once (counts the caller keeps stay untouched), then
 * permutes the grown set; a class of one row is duplicated. */
static void test_smote_sampler(void) {
    tl_dataset d;
    tl_error err;
    CHECK(tl_dataset_alloc(&d, 13, 1, 2, 2, 3, "test", &err) == 0);
    int64_t cnt[3] = {8, 4, 1};
    for (int i = 0; i < 13; i++) {
        d.y[i] = i < 8 ? 0 : i < 12 ? 1 : 2;
        for (int j = 0; j < 4; j++) d.x[i * 4 + j] = (float)((i * 37 + j * 11) % 256);
    }
    tl_sampler s;
    CHECK(tl_sampler_create(&s, "smote:k=2", d.y, d.n, 3, cnt, 1, &err) == 0);
    CHECK(s.ops->prepare(&s, &d, 5, &err) == 0);
    tl_sampler_rebind(&s, d.y, d.n, cnt);
    CHECK(d.n == 24 && s.n == 24 && s.capacity >= 24);
    CHECK(cnt[0] == 8 && cnt[1] == 4 && cnt[2] == 1);
    int per[3] = {0};
    for (int i = 0; i < d.n; i++) per[d.y[i]]++;
    CHECK(per[0] == 8 && per[1] == 8 && per[2] == 8);
    for (int i = 13; i < 24; i++)
        if (d.y[i] == 2) for (int j = 0; j < 4; j++) CHECK(d.x[i * 4 + j] == d.x[12 * 4 + j]);
    int order[24], seen[24] = {0};
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_SAMPLER);
    CHECK(s.ops->epoch(&s, order, 0, &r) == 24);
    for (int i = 0; i < 24; i++) seen[order[i]]++;
    for (int i = 0; i < 24; i++) CHECK(seen[i] == 1);
    tl_sampler_destroy(&s);
    tl_dataset_free(&d);
}

/* Same rng, same epoch. */
static void test_deterministic(void) {
    static const char *const specs[] = {"class", "class:mode=aware", "sqrt", "progressive", "oversample", "undersample"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        tl_sampler s;
        if (create(&s, specs[k], 4)) { CHECK(0); continue; }
        int *a = malloc((size_t)s.capacity * sizeof *a), *b = malloc((size_t)s.capacity * sizeof *b);
        tl_rng r1, r2;
        tl_rng_seed(&r1, 77, TL_RNG_SAMPLER);
        tl_rng_seed(&r2, 77, TL_RNG_SAMPLER);
        int m1 = s.ops->epoch(&s, a, 2, &r1), m2 = s.ops->epoch(&s, b, 2, &r2);
        CHECK(m1 == m2 && memcmp(a, b, (size_t)m1 * sizeof *a) == 0);
        free(a); free(b);
        tl_sampler_destroy(&s);
    }
}

static void test_errors(void) {
    static const struct { const char *spec, *msg; } bad[] = {
        {"power:q=2", "q=2 must be in [0, 1]"},
        {"class:per_class=0", "per_class=0 must be >= 1"},
        {"class:per_class=8", "per_class applies to mode=aware only"},
        {"class:mode=fancy", "not one of weighted, aware"},
        {"oversample:target=0", "target=0 must be >= 1"},
        {"smote:k=0", "k=0 must be >= 1"},
        {"smote:space=feature", "applies to `tailor retrain`"},
        {"sqrt:q=1", "unknown key 'q'"},
        {"balanced", "valid: instance, class, sqrt, power, progressive, oversample, undersample, smote"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_error err = {{0}};
        tl_sampler s;
        int rc = tl_sampler_create(&s, bad[k].spec, labels, NTR, NC, counts, 1, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].msg) && !strncmp(err.msg, "--sampler", 9), "%s: rc %d, '%s'",
                  bad[k].spec, rc, err.msg);
    }
}

int main(void) {
    make_labels();
    RUN_TEST(test_instance_is_permutation);
    RUN_TEST(test_weighted_frequencies);
    RUN_TEST(test_progressive_epochs);
    RUN_TEST(test_class_aware);
    RUN_TEST(test_over_under_counts);
    RUN_TEST(test_smote_segments);
    RUN_TEST(test_smote_exact_neighbours);
    RUN_TEST(test_smote_sampler);
    RUN_TEST(test_deterministic);
    RUN_TEST(test_errors);
    TEST_MAIN_END();
}
