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

int tl_posthoc_create(tl_posthoc *p, const char *spec_text, const int64_t *count, int C, tl_error *err) {
    static const char *const names[] = {"logit-adjust", "tde", "tau-norm", "sla"};
    static const char *const infer[] = {"agg", "single", "sd"};   /* TL_SLA_* order */
    memset(p, 0, sizeof *p);
    tl_spec spec;
    const char *tau;
    if (tl_spec_parse(&spec, spec_text, "--posthoc", err)) return -1;
    int k = tl_spec_lookup(&spec, names, sizeof *names, 4, err);
    if (k < 0) return -1;
    p->kind = k;
    p->C = C;
    p->count = count;
    if (k != TL_POSTHOC_LOGIT_ADJUST) {
        /* Rules that change the model: nothing is subtracted from the logits. */
        if (k == TL_POSTHOC_TDE ? tl_spec_double(&spec, "alpha", NAN, &p->alpha, err)
            : k == TL_POSTHOC_SLA ? tl_spec_choice(&spec, "infer", infer, 3, TL_SLA_AGG, &p->infer, err)
                                  : tl_spec_double(&spec, "tau", 1, &p->tau, err))
            return -1;
        if (tl_spec_check_unused(&spec, err)) return -1;
        p->adjust = calloc((size_t)C, sizeof *p->adjust);
        p->scratch = malloc(2 * (size_t)C * sizeof *p->scratch);
        if (!p->adjust || !p->scratch) { tl_posthoc_free(p); return tl_fail(err, "out of memory"); }
        if (k == TL_POSTHOC_TDE && isnan(p->alpha)) snprintf(p->text, sizeof p->text, "tde (the head's alpha)");
        else if (k == TL_POSTHOC_TDE) snprintf(p->text, sizeof p->text, "tde:alpha=%g", p->alpha);
        else if (k == TL_POSTHOC_SLA) snprintf(p->text, sizeof p->text, "sla:infer=%s", infer[p->infer]);
        else snprintf(p->text, sizeof p->text, "tau-norm:tau=%g", p->tau);
        return 0;
    }
    if (tl_spec_str(&spec, "tau", "1", &tau, err) || tl_spec_check_unused(&spec, err)) return -1;
    if (!strcmp(tau, "auto")) {
        p->tau_auto = 1;
        p->tau = NAN;
    } else {
        char *end;
        p->tau = strtod(tau, &end);
        if (*end || !isfinite(p->tau)) return tl_spec_fail(err, &spec, "tau=%s is not a number or auto", tau);
        if (tl_spec_range(&spec, "tau", p->tau, 0, err)) return -1;
    }
    for (int c = 0; c < C; c++)
        if (count[c] <= 0) return tl_spec_fail(err, &spec, "class %d has no training images (log 0)", c);
    p->adjust = malloc((size_t)C * sizeof *p->adjust);
    p->scratch = malloc(2 * (size_t)C * sizeof *p->scratch);
    if (!p->adjust || !p->scratch) { tl_posthoc_free(p); return tl_fail(err, "out of memory"); }
    if (!p->tau_auto) tl_posthoc_set_tau(p, p->tau);
    else snprintf(p->text, sizeof p->text, "logit-adjust:tau=auto");
    return 0;
}

void tl_posthoc_set_tau(tl_posthoc *p, double tau) {
    p->tau = tau;
    tl_logit_adjustment(p->adjust, p->count, p->C, tau);
    snprintf(p->text, sizeof p->text, "logit-adjust:tau=%g%s", tau, p->tau_auto ? " (auto, on validation)" : "");
}

int tl_posthoc_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err) {
    if (p->kind == TL_POSTHOC_TDE) {
        if (m->head.ops != &tl_head_causal) return tl_fail(err, "--posthoc tde: the run's head is not causal (it is %s)", m->cfg.head);
        return isnan(p->alpha) ? 0 : tl_causal_set_alpha(&m->head, p->alpha, err);
    }
    if (p->kind == TL_POSTHOC_TAU_NORM && tl_tau_norm_apply(m, p->tau, err)) return tl_fail_prefix(err, "--posthoc");
    if (p->kind == TL_POSTHOC_SLA && tl_sla_set_inference(&m->head, p->infer, err)) return tl_fail_prefix(err, "--posthoc %s", p->text);
    return 0;
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
        if (b > best) { best = b; best_tau = tau; }
    }
    if (!isnan(p->tau)) tl_logit_adjustment(p->adjust, p->count, p->C, p->tau);
    *best_bal = best;
    return best_tau;
}

void tl_posthoc_free(tl_posthoc *p) {
    free(p->adjust);
    free(p->scratch);
    memset(p, 0, sizeof *p);
}
