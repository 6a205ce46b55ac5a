#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "eval/posthoc.h"
#include "eval/metrics.h"
#include "heads/sla.h"
#include "losses/loss.h"
#include "losses/softmax.h"
#include "spec/spec.h"
#include "stage2/stage2.h"
#include "train/trainer.h"

/* ---- logit-adjust (docs/methods.md §3.7) ---- */
static int la_create(tl_posthoc *p, tl_spec *spec, tl_error *err) {
    const char *tau;
    if (tl_spec_str(spec, "tau", "1", &tau, err)) return -1;
    if (!strcmp(tau, "auto")) {
        p->tau_auto = 1;
        p->tau = NAN;
    } else {
        char *end;
        p->tau = strtod(tau, &end);
        if (*end || !isfinite(p->tau)) return tl_spec_fail(err, spec, "tau=%s is not a number or auto", tau);
        if (tl_spec_range(spec, "tau", p->tau, 0, err)) return -1;
    }
    for (int c = 0; c < p->C; c++)
        if (p->count[c] <= 0) return tl_spec_fail(err, spec, "class %d has no training images (log 0)", c);
    if (!p->tau_auto) tl_posthoc_set_tau(p, p->tau);
    else snprintf(p->text, sizeof p->text, "logit-adjust:tau=auto");
    return 0;
}

/* ---- tde (docs/methods.md §9.3) ---- */
/* alpha: a number in the --posthoc range, auto (chosen on validation, tl_posthoc_choose_alpha), or
 * absent (the head's own). */
static int tde_create(tl_posthoc *p, tl_spec *spec, tl_error *err) {
    const char *a;
    if (tl_spec_str(spec, "alpha", "", &a, err)) return -1;
    p->alpha = NAN;
    if (!strcmp(a, "auto")) p->alpha_auto = 1;
    else if (*a) {
        char *end;
        p->alpha = strtod(a, &end);
        if (*end || !isfinite(p->alpha)) return tl_spec_fail(err, spec, "alpha=%s is not a number or auto", a);
        if (tl_spec_range(spec, "alpha", p->alpha, 0, err)) return -1;
    }
    if (p->alpha_auto) snprintf(p->text, sizeof p->text, "tde:alpha=auto");
    else if (isnan(p->alpha)) snprintf(p->text, sizeof p->text, "tde (the head's alpha)");
    else snprintf(p->text, sizeof p->text, "tde:alpha=%g", p->alpha);
    return 0;
}

static int tde_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err) {
    if (m->head.ops != &tl_head_causal) return tl_fail(err, "--posthoc tde: the run's head is not causal (it is %s)", m->cfg.head);
    return isnan(p->alpha) ? 0 : tl_causal_set_alpha(&m->head, p->alpha, err);
}

/* ---- tau-norm (docs/methods.md §8.3) ---- */
static int tau_norm_create(tl_posthoc *p, tl_spec *spec, tl_error *err) {
    if (tl_spec_double(spec, "tau", 1, &p->tau, err)) return -1;
    snprintf(p->text, sizeof p->text, "tau-norm:tau=%g", p->tau);
    return 0;
}

static int tau_norm_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err) {
    return tl_tau_norm_apply(m, p->tau, err) ? tl_fail_prefix(err, "--posthoc") : 0;
}

/* ---- sla (docs/methods.md §11.2-11.3) ---- */
static const char *const sla_infer[] = {"agg", "single", "sd"};   /* TL_SLA_* order */

static int sla_create(tl_posthoc *p, tl_spec *spec, tl_error *err) {
    if (tl_spec_choice(spec, "infer", sla_infer, 3, TL_SLA_AGG, &p->infer, err)) return -1;
    snprintf(p->text, sizeof p->text, "sla:infer=%s", sla_infer[p->infer]);
    return 0;
}

static int sla_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err) {
    return tl_sla_set_inference(&m->head, p->infer, err) ? tl_fail_prefix(err, "--posthoc %s", p->text) : 0;
}

static const tl_posthoc_ops rules[] = {
    {"logit-adjust", "tau=1", "subtract tau·log(training prior) from the logits; tau=auto picks tau in 0, 0.1, ..., 2 by validation balanced accuracy (needs --val)",
     la_create, NULL},
    {"tde", "alpha=", "causal heads: total-direct-effect inference with strength alpha (default: the head's own; 0 gives the training logits); alpha=auto picks alpha in 0, 0.1, ..., 3 by validation balanced accuracy (needs --val)",
     tde_create, tde_bind},
    {"tau-norm", "tau=1", "linear heads: weights w_c/|w_c|^tau, bias dropped", tau_norm_create, tau_norm_bind},
    {"sla", "infer=agg", "--ssl sla runs: infer=agg averages the class logits over the 4 rotations, single takes the unrotated image's own, sd the distilled head of an sd=1 run",
     sla_create, sla_bind},
};
#define NRULES ((int)(sizeof rules / sizeof *rules))

const tl_posthoc_ops *const *tl_posthoc_table(int *n) {
    static const tl_posthoc_ops *const table[NRULES] = {&rules[0], &rules[1], &rules[2], &rules[3]};
    *n = NRULES;
    return table;
}

int tl_posthoc_create(tl_posthoc *p, const char *spec_text, const int64_t *count, int C, tl_error *err) {
    int n;
    const tl_posthoc_ops *const *table = tl_posthoc_table(&n);
    memset(p, 0, sizeof *p);
    tl_spec spec;
    int k = tl_spec_parse_ops(&spec, spec_text, "--posthoc", (const void *const *)table, n, err);
    if (k < 0) return -1;
    p->ops = table[k];
    p->C = C;
    p->count = count;
    p->adjust = calloc((size_t)C, sizeof *p->adjust);
    p->scratch = malloc(2 * (size_t)C * sizeof *p->scratch);
    if (!p->adjust || !p->scratch) { tl_posthoc_free(p); return tl_fail(err, "out of memory"); }
    if (p->ops->create(p, &spec, err) || tl_spec_check_unused(&spec, err)) { tl_posthoc_free(p); return -1; }
    return 0;
}

void tl_posthoc_set_tau(tl_posthoc *p, double tau) {
    p->tau = tau;
    tl_logit_adjustment(p->adjust, p->count, p->C, tau);
    snprintf(p->text, sizeof p->text, "logit-adjust:tau=%g%s", tau, p->tau_auto ? " (auto, on validation)" : "");
}

int tl_posthoc_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err) {
    return p->ops->bind ? p->ops->bind(p, m, err) : 0;
}

void tl_posthoc_apply(const tl_posthoc *p, float *logits, int n) {
    for (size_t i = 0; i < (size_t)n; i++)
        for (int c = 0; c < p->C; c++) logits[i * p->C + c] = (float)((double)logits[i * p->C + c] - p->adjust[c]);
}

/* Balanced accuracy of argmax(z - a) (classes absent from y left out). */
static double balanced(const float *z, const double *a, const int *y, int n, int C, int64_t *hit, int64_t *cnt) {
    memset(hit, 0, (size_t)C * sizeof *hit);
    memset(cnt, 0, (size_t)C * sizeof *cnt);
    for (int i = 0; i < n; i++) {
        cnt[y[i]]++;
        hit[y[i]] += tl_argmax(z + (size_t)i * C, a, C) == y[i];
    }
    double b = tl_balanced_accuracy(hit, 1, cnt, C);
    return isnan(b) ? 0 : b;
}

double tl_posthoc_choose_tau(tl_posthoc *p, const float *logits, const int *y, int n, double *best_bal) {
    double best = -1, best_tau = 0;
    for (int k = 0; k <= 20; k++) {
        double tau = k / 10.0;
        tl_logit_adjustment(p->adjust, p->count, p->C, tau);
        double b = balanced(logits, p->adjust, y, n, p->C, p->scratch, p->scratch + p->C);
        p->sweep_value[k] = tau;
        p->sweep_bal[k] = b;
        if (b > best) { best = b; best_tau = tau; }
    }
    p->nsweep = 21;
    if (!isnan(p->tau)) tl_logit_adjustment(p->adjust, p->count, p->C, p->tau);
    *best_bal = best;
    return best_tau;
}

int tl_posthoc_choose_alpha(tl_posthoc *p, struct tl_model *m, const tl_dataset *val, const float *mean,
                            const float *std, double *best_bal, tl_error *err) {
    if (m->head.ops != &tl_head_causal) return tl_fail(err, "--posthoc tde: the run's head is not causal (it is %s)", m->cfg.head);
    float *z = malloc((size_t)val->n * p->C * sizeof *z + 1);
    int *pred = malloc((size_t)val->n * sizeof *pred + 1);
    if (!z || !pred) { free(z); free(pred); return tl_fail(err, "out of memory"); }
    /* α enters the logits non-linearly through float rounding, so each value is predicted as eval will. */
    double best = -1, best_alpha = 0;
    int rc = 0;
    for (int k = 0; k < TL_POSTHOC_SWEEP && !rc; k++) {
        double alpha = k / 10.0;
        rc = tl_causal_set_alpha(&m->head, alpha, err) || tl_predict(m, val, mean, std, z, NULL, pred, err);
        if (rc) break;
        double b = balanced(z, p->adjust, val->y, val->n, p->C, p->scratch, p->scratch + p->C);   /* adjust = 0 */
        p->sweep_value[k] = alpha;
        p->sweep_bal[k] = b;
        if (b > best) { best = b; best_alpha = alpha; }
    }
    free(z);
    free(pred);
    if (rc) return -1;
    p->nsweep = TL_POSTHOC_SWEEP;
    p->alpha = best_alpha;
    snprintf(p->text, sizeof p->text, "tde:alpha=%g (auto, on validation)", best_alpha);
    *best_bal = best;
    return 0;
}

void tl_posthoc_sweep_text(const tl_posthoc *p, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    if (!p->nsweep) return;
    len += (size_t)snprintf(buf, cap, "%s", p->alpha_auto ? "alpha" : "tau");
    for (int k = 0; k < p->nsweep && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, " %g:%.4f", p->sweep_value[k], p->sweep_bal[k]);
}

void tl_posthoc_free(tl_posthoc *p) {
    free(p->adjust);
    free(p->scratch);
    memset(p, 0, sizeof *p);
}
