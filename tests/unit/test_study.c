/* tailor study's pure logic (src/study): grid files and their errors, the DRW epoch, ranking on the
 * validation split only (a case where validation and test disagree on purpose), --constraint,
 * the verdict, and successive halving on hand-made cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "study/grid.h"
#include "study/rank.h"

static tl_study_grid g;

static void test_builtin_grids(void) {
    tl_error err = {{0}};
    static const char *const need[] = {"ce", "class", "sqrt", "progressive", "balanced-softmax", "ldam-drw", "cb-focal", "sla",
                                       "causal", "causal+tde", "ce+crt", "ce+lws", "ce+tau-norm", "ce+ncm", "ce+la", "sla+crt",
                                       "ldam-drw+la", "class+crt"};
    CHECK(tl_study_grid_load(&g, "standard", &err) == 0);
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        int found = -1;
        for (int k = 0; k < g.n; k++) if (!strcmp(g.c[k].name, need[i])) found = k;
        CHECK_MSG(found >= 0, "standard lacks %s", need[i]);
    }
    /* Every derived candidate works on a stage-1 model, never retraining it. */
    for (int k = 0; k < g.n; k++)
        CHECK(g.c[k].kind == TL_STUDY_TRAIN ? g.c[k].parent == -1 : g.c[g.c[k].parent].kind == TL_STUDY_TRAIN);
    int n_standard = g.n;
    /* Without the SLA model and its three stage-2/post-hoc candidates; parents still point right. */
    CHECK(tl_study_grid_drop(&g, "--ssl") == 4 && g.n == n_standard - 4);
    for (int k = 0; k < g.n; k++) {
        CHECK(strncmp(g.c[k].name, "sla", 3) != 0);
        if (g.c[k].parent >= 0) {
            size_t len = strlen(g.c[g.c[k].parent].name);
            CHECK(!strncmp(g.c[k].name, g.c[g.c[k].parent].name, len) && g.c[k].name[len] == '+');
        }
    }
    tl_study_grid_free(&g);
    CHECK(tl_study_grid_load(&g, "quick", &err) == 0 && g.n == 5);
    tl_study_grid_free(&g);
    CHECK(tl_study_grid_load(&g, "full", &err) == 0 && g.n > n_standard);
    tl_study_grid_free(&g);
}

static void test_grid_file(void) {
    tl_error err = {{0}};
    const char *text = "# a comment\n\n"
                       "ce = train --loss ce   # trailing comment\n"
                       "ldam = train --loss ldam:weights=effective,drw=$DRW --head cosine:s=30\n"
                       "ce+crt = retrain ce --method crt --epochs-is-not-owned-here\n"
                       "ce+la = eval ce --posthoc logit-adjust:tau=auto\n";
    CHECK(tl_study_grid_parse(&g, text, "--grid g.txt", &err) == 0);
    CHECK(g.n == 4);
    CHECK(!strcmp(g.c[0].name, "ce") && g.c[0].kind == TL_STUDY_TRAIN && g.c[0].argc == 2 && g.c[0].line == 3);
    CHECK(g.c[2].kind == TL_STUDY_RETRAIN && g.c[2].parent == 0 && !strcmp(g.c[2].argv[0], "--method"));
    CHECK(g.c[3].kind == TL_STUDY_POSTHOC && g.c[3].parent == 0 && g.c[3].argc == 2);
    char *a[8];
    int n = tl_study_args(&g.c[1], 12, a, 8);
    CHECK(n == 4 && !strcmp(a[1], "ldam:weights=effective,drw=10"));
    for (int i = 0; i < n; i++) free(a[i]);
    char cmd[256];
    tl_study_command_text(&g, 3, 12, cmd, sizeof cmd);
    CHECK_MSG(!strcmp(cmd, "eval --run <ce> --posthoc logit-adjust:tau=auto"), "%s", cmd);
    /* Written back in the file syntax, the grid parses to the same candidates. */
    FILE *f = tmpfile();
    tl_study_grid_write(f, &g);
    char back[2048] = "";
    rewind(f);
    size_t got = fread(back, 1, sizeof back - 1, f);
    fclose(f);
    back[got] = 0;
    CHECK_MSG(strstr(back, "ce+crt = retrain ce --method crt --epochs-is-not-owned-here\n") &&
              strstr(back, "ldam = train --loss ldam:weights=effective,drw=$DRW --head cosine:s=30\n"), "%s", back);
    tl_study_grid g2;
    CHECK(tl_study_grid_parse(&g2, back, "back", &err) == 0 && g2.n == g.n);
    tl_study_grid_free(&g2);
    tl_study_grid_free(&g);
    /* DRW at epoch 160 of 200, scaled and rounded half up, always before the last epoch. */
    CHECK(tl_study_drw_epoch(200) == 160 && tl_study_drw_epoch(12) == 10 && tl_study_drw_epoch(15) == 12);
    CHECK(tl_study_drw_epoch(3) == 2 && tl_study_drw_epoch(2) == 1);
}

static void test_grid_errors(void) {
    static const struct { const char *text, *msg; } bad[] = {
        {"ce = fit --loss ce\n", "line 1: unknown command 'fit' (valid: train, retrain, eval)"},
        {"ce = train\nx = retrain cb --method crt\n", "line 2: unknown candidate 'cb'"},
        {"x = retrain ce --method crt\nce = train\n", "line 1: unknown candidate 'ce'"},
        {"ce = train\nce = train --sampler class\n", "line 2: candidate 'ce' is defined twice"},
        {"ce = train --epochs 30\n", "--epochs is set by the study"},
        {"ce = train --val=100\n", "--val=100 is set by the study"},
        {"ce = train\nx = retrain ce --sampler class\n", "retrain needs --method"},
        {"ce = train\nx = eval ce --posthoc tde --batch 8\n", "eval PARENT --posthoc RULE` and nothing else"},
        {"ce = train\nx = eval ce\n", "nothing else"},
        {"ce = train\nx = retrain x+crt\n", "unknown candidate 'x+crt'"},
        {"ce = train\nla = eval la --posthoc tde\n", "unknown candidate 'la'"},
        {"ce = train\nx = retrain ce --method crt\ny = eval x --posthoc tde\n", "'x' is not a train candidate"},
        {"c/e = train\n", "only letters, digits"},
        {"train --loss ce\n", "line 1: expected NAME = train|retrain|eval"},
        {"ce = train loss=ce\n", "'loss=ce' is not an option"},
        {"# nothing\n\n", "no candidate"},
        {"a b = train\n", "one candidate name"},
        {"x =\n", "has no command"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        tl_error err = {{0}};
        int rc = tl_study_grid_parse(&g, bad[k].text, "--grid g.txt", &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].msg) && !strncmp(err.msg, "--grid g.txt", 12) && !strchr(err.msg, '\n'),
                  "%s: '%s'", bad[k].text, err.msg);
        CHECK(g.n == 0);
    }
    tl_error err = {{0}};
    CHECK(tl_study_grid_load(&g, "/nonexistent/grid.txt", &err) == -1 && strstr(err.msg, "not a built-in grid (quick, standard, full)"));
    CHECK(tl_study_grid_load(&g, "standrad", &err) == -1 && strstr(err.msg, "--grid standrad"));
}

static const char *const names[] = {"a", "b", "c", "d"};

/* Result of candidate cand with per-seed validation and test balanced accuracy (other measures 0.5). */
static void fill(tl_study_result *r, int cand, int n, const double *val, const double *test) {
    memset(r, 0, sizeof *r);
    r->cand = cand;
    r->epochs = 12;
    r->nseeds = n;
    for (int s = 0; s < n; s++) {
        r->seed[s] = s;
        for (int m = 0; m < TL_NMEASURES; m++) r->val[s][m] = r->test[s][m] = 0.5;
        r->val[s][TL_MEASURE_BAL] = val[s];
        r->test[s][TL_MEASURE_BAL] = test[s];
    }
    r->have_test = 1;
}

/* Validation and test disagree on purpose: the ranking follows validation, and the test numbers,
 * there beside them, change nothing. */
static void test_selection_follows_validation(void) {
    tl_study_result r[3];
    int order[3];
    tl_study_constraints none;
    tl_error err;
    CHECK(tl_study_constraints_parse(&none, "", &err) == 0 && none.n == 0);
    fill(&r[0], 0, 2, (double[]){0.70, 0.72}, (double[]){0.95, 0.96});   /* best on test */
    fill(&r[1], 1, 2, (double[]){0.90, 0.88}, (double[]){0.60, 0.61});   /* best on validation */
    fill(&r[2], 2, 2, (double[]){0.80, 0.80}, (double[]){0.80, 0.80});
    tl_study_rank(r, 3, TL_MEASURE_BAL, &none, names, order);
    CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0);
    CHECK_CLOSE(r[1].val_mean[TL_MEASURE_BAL], 0.89, 1e-12);
    CHECK_CLOSE(r[1].val_std[TL_MEASURE_BAL], sqrt(2) * 0.01, 1e-9);
    CHECK(r[1].best_seed == 0 && r[0].best_seed == 1);
    /* Swapping every test number leaves the order as it was. */
    for (int i = 0; i < 3; i++)
        for (int s = 0; s < 2; s++) r[i].test[s][TL_MEASURE_BAL] = 1 - r[i].test[s][TL_MEASURE_BAL];
    int again[3];
    tl_study_rank(r, 3, TL_MEASURE_BAL, &none, names, again);
    CHECK(!memcmp(order, again, sizeof order));
    /* Ties go by name; an undefined metric ranks last. */
    fill(&r[0], 3, 1, (double[]){0.80}, (double[]){0});
    fill(&r[1], 0, 1, (double[]){NAN}, (double[]){0});
    tl_study_rank(r, 3, TL_MEASURE_BAL, &none, names, order);
    CHECK(order[0] == 2 && order[1] == 0 && order[2] == 1);
    CHECK(isnan(r[0].val_std[TL_MEASURE_BAL]));
}

static void test_constraints(void) {
    tl_study_constraints c;
    tl_error err = {{0}};
    CHECK(tl_study_constraints_parse(&c, "head>=0.9,tail>0.25", &err) == 0 && c.n == 2);
    CHECK(c.measure[0] == TL_MEASURE_HEAD && c.op[0] == 0 && c.value[0] == 0.9 && c.op[1] == 2);
    tl_study_result r[2];
    int order[2];
    fill(&r[0], 0, 1, (double[]){0.9}, (double[]){0.9});
    fill(&r[1], 1, 1, (double[]){0.8}, (double[]){0.8});
    r[0].val[0][TL_MEASURE_HEAD] = 0.85;   /* the better one fails head >= 0.9 */
    r[1].val[0][TL_MEASURE_HEAD] = 0.95;
    tl_study_rank(r, 2, TL_MEASURE_BAL, &c, names, order);
    CHECK(order[0] == 1 && r[1].feasible && !r[0].feasible);
    r[1].val[0][TL_MEASURE_TAIL] = NAN;    /* undefined meets no limit */
    tl_study_rank(r, 2, TL_MEASURE_BAL, &c, names, order);
    CHECK(!r[1].feasible);
    char v[512];
    tl_study_verdict(r, order, 2, TL_MEASURE_BAL, names, v, sizeof v);
    CHECK(strstr(v, "No candidate meets the constraints"));
    static const struct { const char *text, *msg; } bad[] = {
        {"head=0.9", "expected MEASURE>=VALUE"}, {"hed>=0.9", "unknown measure 'hed' (valid: balanced_accuracy"},
        {"head>=90", "a fraction in [0, 1]"}, {"head>=", "a fraction"}, {"head>=x", "a fraction"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        int rc = tl_study_constraints_parse(&c, bad[k].text, &err);
        CHECK_MSG(rc == -1 && strstr(err.msg, bad[k].msg) && !strncmp(err.msg, "--constraint", 12), "%s: '%s'", bad[k].text, err.msg);
    }
    CHECK(tl_study_measure_find("worst_class", "--metric", &err) == TL_MEASURE_WORST);
    CHECK(tl_study_measure_find("f1", "--metric", &err) == -1 && strstr(err.msg, "--metric: unknown measure 'f1'"));
}

static void test_verdict(void) {
    tl_study_result r[2];
    int order[2];
    tl_study_constraints none = {0};
    char v[1024];
    fill(&r[0], 0, 3, (double[]){0.90, 0.91, 0.89}, (double[]){0, 0, 0});
    fill(&r[1], 1, 3, (double[]){0.85, 0.86, 0.84}, (double[]){0, 0, 0});
    tl_study_rank(r, 2, TL_MEASURE_BAL, &none, names, order);
    tl_study_verdict(r, order, 2, TL_MEASURE_BAL, names, v, sizeof v);
    CHECK_MSG(strstr(v, "The winner is a: validation balanced_accuracy 90.00 ± 1.00 over 3 seeds") &&
              strstr(v, "The runner-up is b") && strstr(v, "The gap, 5.00 points, exceeds the larger seed spread (1.00)"), "%s", v);
    fill(&r[1], 1, 3, (double[]){0.895, 0.90, 0.885}, (double[]){0, 0, 0});
    tl_study_rank(r, 2, TL_MEASURE_BAL, &none, names, order);
    tl_study_verdict(r, order, 2, TL_MEASURE_BAL, names, v, sizeof v);
    CHECK_MSG(strstr(v, "is within the larger seed spread"), "%s", v);
    fill(&r[0], 0, 1, (double[]){0.9}, (double[]){0});
    fill(&r[1], 1, 1, (double[]){0.8}, (double[]){0});
    tl_study_rank(r, 2, TL_MEASURE_BAL, &none, names, order);
    tl_study_verdict(r, order, 2, TL_MEASURE_BAL, names, v, sizeof v);
    CHECK_MSG(strstr(v, "with one seed there is no seed spread"), "%s", v);
}

/* Successive halving: the better half (rounded up) goes on, ties by index, undefined scores last;
 * the rung epochs double up to the full run. */
static void test_halving(void) {
    int keep[8];
    int n = tl_study_halve((double[]){0.5, 0.9, NAN, 0.7, 0.9}, 5, keep);
    CHECK(n == 3 && keep[0] == 1 && keep[1] == 3 && keep[2] == 4);
    n = tl_study_halve((double[]){0.2, 0.1}, 2, keep);
    CHECK(n == 1 && keep[0] == 0);
    n = tl_study_halve((double[]){NAN, NAN, 0.3}, 3, keep);
    CHECK(n == 2 && keep[0] == 0 && keep[1] == 2);
    n = tl_study_halve((double[]){0.4}, 1, keep);
    CHECK(n == 1 && keep[0] == 0);
    /* 9 models, 9 -> 5 -> 3 -> 2 -> 1 would need 5 rungs; 12 epochs allow 3 (3, 6, 12). */
    int e[32];
    int R = tl_study_rungs(9, 12, e, 32);
    CHECK(R == 3 && e[0] == 3 && e[1] == 6 && e[2] == 12);
    R = tl_study_rungs(9, 200, e, 32);
    CHECK(R == 5 && e[0] == 13 && e[1] == 25 && e[2] == 50 && e[3] == 100 && e[4] == 200);
    R = tl_study_rungs(1, 12, e, 32);
    CHECK(R == 1 && e[0] == 12);
    R = tl_study_rungs(4, 3, e, 32);
    CHECK(R == 1 && e[0] == 3);
    /* A whole hand-made halving: 8 models with fixed validation scores keep the top 4, 2, 1. */
    double score[8] = {0.61, 0.75, 0.70, 0.52, 0.80, 0.66, 0.79, 0.40};
    int alive[8] = {0, 1, 2, 3, 4, 5, 6, 7}, na = 8;
    while (na > 1) {
        double s[8];
        for (int i = 0; i < na; i++) s[i] = score[alive[i]];
        int k = tl_study_halve(s, na, keep);
        for (int i = 0; i < k; i++) keep[i] = alive[keep[i]];
        memcpy(alive, keep, (size_t)k * sizeof *keep);
        if (k == 4) CHECK(alive[0] == 1 && alive[1] == 2 && alive[2] == 4 && alive[3] == 6);
        if (k == 2) CHECK(alive[0] == 4 && alive[1] == 6);
        na = k;
    }
    CHECK(alive[0] == 4);
}

static void test_measures(void) {
    tl_metrics m;
    tl_error err;
    int64_t train[3] = {500, 50, 5};
    int y[6] = {0, 0, 1, 1, 2, 2}, p[6] = {0, 0, 1, 0, 0, 0};
    CHECK(tl_metrics_init(&m, 3, &err) == 0);
    CHECK(tl_metrics_compute(&m, y, p, NULL, train, 6, &err) == 0);
    double out[TL_NMEASURES];
    tl_study_measures(&m, out);
    CHECK_CLOSE(out[TL_MEASURE_BAL], 0.5, 1e-12);
    CHECK(out[TL_MEASURE_WORST] == 0 && out[TL_MEASURE_MANY] == 1 && out[TL_MEASURE_MEDIUM] == 0.5 && out[TL_MEASURE_FEW] == 0);
    tl_metrics_free(&m);
}

int main(void) {
    RUN_TEST(test_builtin_grids);
    RUN_TEST(test_grid_file);
    RUN_TEST(test_grid_errors);
    RUN_TEST(test_selection_follows_validation);
    RUN_TEST(test_constraints);
    RUN_TEST(test_verdict);
    RUN_TEST(test_halving);
    RUN_TEST(test_measures);
    TEST_MAIN_END();
}
