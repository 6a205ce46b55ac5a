/* Inference rules (src/eval/posthoc.c): logit adjustment subtracts log(π^τ + 1e-12) (docs/methods.md
 * §3.7), tau=auto finds the τ that undoes a known prior shift on validation logits, bad specs. */
#include <math.h>
#include <string.h>
#include "check.h"
#include "eval/posthoc.h"

#define NC 5
static const int64_t counts[NC] = {400, 150, 60, 20, 7};

static void test_logit_adjust(void) {
    tl_posthoc p;
    tl_error err;
    CHECK(tl_posthoc_create(&p, "logit-adjust:tau=0.5", counts, NC, &err) == 0);
    float z[2 * NC] = {1, 2, 3, 4, 5, -1, 0, 1, 0, -1};
    float z0[2 * NC];
    memcpy(z0, z, sizeof z);
    tl_posthoc_apply(&p, z, 2);
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < NC; c++)
            CHECK_CLOSE(z[i * NC + c], z0[i * NC + c] - log(pow(counts[c] / 637.0, 0.5) + 1e-12), 1e-6);
    CHECK(strcmp(p.text, "logit-adjust:tau=0.5") == 0);
    tl_posthoc_free(&p);
    CHECK(tl_posthoc_create(&p, "logit-adjust", counts, NC, &err) == 0);   /* default τ = 1 */
    CHECK(p.tau == 1 && !p.tau_auto);
    tl_posthoc_free(&p);
}

/* Validation logits z_ic = 0.05·1[c = y_i] + 0.7·log π_c: only τ = 0.7 classifies every row. */
static void test_choose_tau(void) {
    enum { per = 4, n = per * NC };
    float z[n * NC];
    int y[n];
    for (int i = 0; i < n; i++) {
        y[i] = i % NC;
        for (int c = 0; c < NC; c++) z[i * NC + c] = (float)(0.05 * (c == y[i]) + 0.7 * log(counts[c] / 637.0));
    }
    tl_posthoc p;
    tl_error err;
    CHECK(tl_posthoc_create(&p, "logit-adjust:tau=auto", counts, NC, &err) == 0);
    CHECK(p.tau_auto && isnan(p.tau));
    double bal;
    double tau = tl_posthoc_choose_tau(&p, z, y, n, &bal);
    CHECK_CLOSE(tau, 0.7, 1e-12);
    CHECK(bal == 1.0);
    /* The whole sweep is kept for the report. */
    CHECK(p.nsweep == 21 && p.sweep_value[7] == 0.7 && p.sweep_bal[7] == 1.0 && p.sweep_bal[0] < 1.0);
    char sweep[1024];
    tl_posthoc_sweep_text(&p, sweep, sizeof sweep);
    CHECK_MSG(!strncmp(sweep, "tau 0:", 6) && strstr(sweep, " 0.7:1.0000 "), "%s", sweep);
    tl_posthoc_set_tau(&p, tau);
    CHECK(strcmp(p.text, "logit-adjust:tau=0.7 (auto, on validation)") == 0);
    tl_posthoc_apply(&p, z, n);
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < NC; c++) if (z[i * NC + c] > z[i * NC + best]) best = c;
        CHECK(best == y[i]);
    }
    tl_posthoc_free(&p);
}

/* tde: alpha=auto is left for tl_posthoc_choose_alpha; a number is taken as it is; none keeps the head's. */
static void test_tde_spec(void) {
    tl_posthoc p;
    tl_error err;
    CHECK(tl_posthoc_create(&p, "tde:alpha=auto", counts, NC, &err) == 0);
    CHECK(!strcmp(p.ops->name, "tde") && p.alpha_auto && isnan(p.alpha) && !strcmp(p.text, "tde:alpha=auto"));
    tl_posthoc_free(&p);
    CHECK(tl_posthoc_create(&p, "tde:alpha=1.5", counts, NC, &err) == 0);
    CHECK(!p.alpha_auto && p.alpha == 1.5 && !strcmp(p.text, "tde:alpha=1.5"));
    tl_posthoc_free(&p);
    CHECK(tl_posthoc_create(&p, "tde", counts, NC, &err) == 0);
    CHECK(isnan(p.alpha) && !strcmp(p.text, "tde (the head's alpha)"));
    tl_posthoc_free(&p);
}

static void test_errors(void) {
    static const int64_t holes[NC] = {4, 0, 3, 2, 1};
    static const struct { const char *spec; const int64_t *count; const char *msg; } bad[] = {
        {"knn", counts, "valid: logit-adjust, tde, tau-norm"},
        {"logit-adjust:tau=x", counts, "tau=x is not a number or auto"},
        {"logit-adjust:alpha=1", counts, "unknown key 'alpha'"},
        {"logit-adjust", holes, "class 1 has no training images"},
        {"tde:alpha=x", counts, "alpha=x is not a number or auto"},
        {"tde:alpha=11", counts, "alpha=11 must be <= 10"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_posthoc p;
        tl_error err = {{0}};
        int rc = tl_posthoc_create(&p, bad[k].spec, bad[k].count, NC, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].msg) && !strncmp(err.msg, "--posthoc", 9), "%s: '%s'", bad[k].spec, err.msg);
    }
}

int main(void) {
    RUN_TEST(test_logit_adjust);
    RUN_TEST(test_choose_tau);
    RUN_TEST(test_tde_spec);
    RUN_TEST(test_errors);
    TEST_MAIN_END();
}
