#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "study/rank.h"

const char *const tl_measure_names[TL_NMEASURES] = {"balanced_accuracy", "macro_f1", "accuracy", "many", "medium",
                                                    "few", "head", "mid", "tail", "worst_class"};

void tl_study_measures(const tl_metrics *m, double *out) {
    out[TL_MEASURE_BAL] = m->balanced_accuracy;
    out[TL_MEASURE_MACRO_F1] = m->macro_f1;
    out[TL_MEASURE_ACC] = m->accuracy;
    out[TL_MEASURE_MANY] = m->many;
    out[TL_MEASURE_MEDIUM] = m->medium;
    out[TL_MEASURE_FEW] = m->few;
    out[TL_MEASURE_HEAD] = m->head;
    out[TL_MEASURE_MID] = m->mid;
    out[TL_MEASURE_TAIL] = m->tail;
    double worst = NAN;
    for (int c = 0; c < m->C; c++)
        if (!isnan(m->recall[c]) && (isnan(worst) || m->recall[c] < worst)) worst = m->recall[c];
    out[TL_MEASURE_WORST] = worst;
}

int tl_study_measure_find(const char *name, const char *option, tl_error *err) {
    for (int i = 0; i < TL_NMEASURES; i++) if (!strcmp(name, tl_measure_names[i])) return i;
    char valid[256];
    size_t len = 0;
    for (int i = 0; i < TL_NMEASURES; i++) len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", i ? ", " : "", tl_measure_names[i]);
    tl_fail(err, "%s: unknown measure '%s' (valid: %s)", option, name, valid);
    return -1;
}

int tl_study_constraints_parse(tl_study_constraints *c, const char *text, tl_error *err) {
    static const char *const ops[] = {">=", "<=", ">", "<"};
    memset(c, 0, sizeof *c);
    char buf[512];
    if (strlen(text) >= sizeof buf) return tl_fail(err, "--constraint: longer than %zu characters", sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (c->n == TL_STUDY_MAX_CONSTRAINTS) return tl_fail(err, "--constraint: more than %d limits", TL_STUDY_MAX_CONSTRAINTS);
        size_t at = strcspn(item, "<>");
        if (!item[at]) return tl_fail(err, "--constraint %s: expected MEASURE>=VALUE (or <=, >, <), e.g. head>=0.9", item);
        int op = -1;
        for (int k = 0; k < 4 && op < 0; k++) if (!strncmp(item + at, ops[k], strlen(ops[k]))) op = k;
        const char *num = item + at + strlen(ops[op]);
        item[at] = 0;
        int m = tl_study_measure_find(item, "--constraint", err);
        if (m < 0) return -1;
        char *end;
        double v = strtod(num, &end);
        if (!*num || *end || !(v >= 0 && v <= 1))
            return tl_fail(err, "--constraint %s%s%s: the limit must be a fraction in [0, 1]", item, ops[op], num);
        c->measure[c->n] = m;
        c->op[c->n] = op;
        c->value[c->n] = v;
        c->n++;
    }
    return 0;
}

int tl_study_constraints_met(const tl_study_constraints *c, const double *measures) {
    for (int i = 0; i < c->n; i++) {
        double x = measures[c->measure[i]], v = c->value[i];
        int ok = c->op[i] == 0 ? x >= v : c->op[i] == 1 ? x <= v : c->op[i] == 2 ? x > v : x < v;
        if (!ok) return 0;   /* NAN compares false */
    }
    return 1;
}

void tl_study_mean_std(const double *x, int n, double *mean, double *std) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : NAN;
    if (n < 2 || isnan(*mean)) { *std = NAN; return; }
    double q = 0;
    for (int i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(q / (n - 1));
}

/* qsort has no context argument: the ranking's inputs for the comparison. */
typedef struct { const tl_study_result *r; int metric; const char *const *names; } rank_ctx;
static int cmp_rank(const void *a, const void *b, void *p) {
    const rank_ctx *x = p;
    const tl_study_result *ra = &x->r[*(const int *)a], *rb = &x->r[*(const int *)b];
    if (ra->feasible != rb->feasible) return rb->feasible - ra->feasible;
    if (ra->epochs != rb->epochs) return rb->epochs - ra->epochs;   /* went further in successive halving */
    double ma = ra->val_mean[x->metric], mb = rb->val_mean[x->metric];
    if (isnan(ma) != isnan(mb)) return isnan(ma) ? 1 : -1;
    if (!isnan(ma) && ma != mb) return ma > mb ? -1 : 1;
    return strcmp(x->names[ra->cand], x->names[rb->cand]);
}

void tl_study_rank(tl_study_result *r, int n, int metric, const tl_study_constraints *c,
                   const char *const *names, int *order) {
    for (int i = 0; i < n; i++) {
        tl_study_result *x = &r[i];
        for (int m = 0; m < TL_NMEASURES; m++) {
            double v[TL_STUDY_MAX_SEEDS];
            for (int s = 0; s < x->nseeds; s++) v[s] = x->val[s][m];
            tl_study_mean_std(v, x->nseeds, &x->val_mean[m], &x->val_std[m]);
        }
        x->feasible = x->nseeds > 0 && tl_study_constraints_met(c, x->val_mean);
        x->best_seed = 0;
        for (int s = 1; s < x->nseeds; s++)
            if (x->val[s][metric] > x->val[x->best_seed][metric]) x->best_seed = s;
        order[i] = i;
    }
    rank_ctx ctx = {r, metric, names};
    qsort_r(order, (size_t)n, sizeof *order, cmp_rank, &ctx);
}

/* "87.90 ± 0.21 (3 seeds)", or "87.90 (1 seed)". */
static void mean_text(char *buf, size_t cap, const tl_study_result *x, int metric) {
    if (x->nseeds > 1) snprintf(buf, cap, "%.2f ± %.2f over %d seeds", 100 * x->val_mean[metric], 100 * x->val_std[metric], x->nseeds);
    else snprintf(buf, cap, "%.2f, one seed", 100 * x->val_mean[metric]);
}

void tl_study_verdict(const tl_study_result *r, const int *order, int n, int metric, const char *const *names,
                      char *buf, size_t cap) {
    const char *what = tl_measure_names[metric];
    if (n == 0 || !r[order[0]].feasible) {
        snprintf(buf, cap, "No candidate meets the constraints on the validation split, so there is no winner.");
        return;
    }
    const tl_study_result *w = &r[order[0]];
    char a[96], b[96];
    mean_text(a, sizeof a, w, metric);
    size_t len = (size_t)snprintf(buf, cap, "The winner is %s: validation %s %s.", names[w->cand], what, a);
    if (n < 2 || !r[order[1]].feasible) {
        snprintf(buf + len, cap - len, " It is the only candidate that %s.", n < 2 ? "ran" : "meets the constraints");
        return;
    }
    const tl_study_result *u = &r[order[1]];
    mean_text(b, sizeof b, u, metric);
    double diff = 100 * (w->val_mean[metric] - u->val_mean[metric]);
    double spread = 100 * fmax(w->val_std[metric], u->val_std[metric]);
    len += (size_t)snprintf(buf + len, cap - len, " The runner-up is %s: %s.", names[u->cand], b);
    if (isnan(spread))
        snprintf(buf + len, cap - len, " The gap is %.2f points; with one seed there is no seed spread to judge it by "
                                       "(run with --seeds 3 to know whether it is more than chance).", diff);
    else if (diff > spread)
        snprintf(buf + len, cap - len, " The gap, %.2f points, exceeds the larger seed spread (%.2f): the winner is "
                                       "better than the runner-up beyond seed-to-seed noise.", diff, spread);
    else
        snprintf(buf + len, cap - len, " The gap, %.2f points, is within the larger seed spread (%.2f): treat the two "
                                       "as equally good and pick either (the simpler, or the cheaper).", diff, spread);
}

int tl_study_rungs(int groups, int epochs, int *rung_epochs, int cap) {
    int R = 1;
    while ((1 << (R - 1)) < groups) R++;              /* 1 + ceil(log2(groups)) */
    while (R > 1 && (epochs >> (R - 1)) < 2) R--;      /* the first rung keeps >= 2 epochs (room for a DRW switch) */
    if (R > cap) R = cap;
    for (int k = 0; k < R; k++) {
        int j = R - 1 - k;                             /* epochs / 2^j, rounded half up */
        rung_epochs[k] = j ? (epochs + (1 << (j - 1))) >> j : epochs;
        if (rung_epochs[k] < 1) rung_epochs[k] = 1;
    }
    return R;
}

int tl_study_halve(const double *score, int n, int *keep) {
    int k = (n + 1) / 2, m = 0;
    for (int i = 0; i < n; i++) {
        /* i goes on when fewer than k groups rank above it. */
        int above = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            int better = isnan(score[i]) ? (!isnan(score[j]) || j < i)
                                         : (!isnan(score[j]) && (score[j] > score[i] || (score[j] == score[i] && j < i)));
            above += better;
        }
        if (above < k) keep[m++] = i;
    }
    return m;
}
