/* τ-normalised classifier (methods.md §8.3; classifier-balancing tau_norm.py): logits ŵ_c·x with
 * ŵ_c = w_c/‖w_c‖^τ and the bias dropped. τ = 0 keeps the weights, τ = 1 gives unit rows. The
 * result is an ordinary linear head (zero bias), so the retrained model needs no special code. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "stage2/stage2.h"

void tl_tau_norm_weights(float *out, const float *w, int C, int D, double tau) {
    for (int c = 0; c < C; c++) {
        const float *r = w + (size_t)c * D;
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)r[j] * r[j];
        double s = ss > 0 ? pow(sqrt(ss), -tau) : 0;
        for (int j = 0; j < D; j++) out[(size_t)c * D + j] = (float)(r[j] * s);
    }
}

void tl_stage2_row_norms(float *out, const float *w, int C, int D) {
    for (int c = 0; c < C; c++) {
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)w[(size_t)c * D + j] * w[(size_t)c * D + j];
        out[c] = (float)sqrt(ss);
    }
}

/* Accuracy and balanced accuracy of argmax(feat·Wᵀ) (classes absent from y left out). */
static void score(tl_stage2_point *pt, const float *W, const float *feat, const int *y, int n, int D, int C,
                  int64_t *hit, int64_t *cnt) {
    memset(hit, 0, (size_t)C * sizeof *hit);
    memset(cnt, 0, (size_t)C * sizeof *cnt);
    int64_t ok = 0;
    for (int i = 0; i < n; i++) {
        const float *x = feat + (size_t)i * D;
        int best = 0;
        double bz = -INFINITY;
        for (int c = 0; c < C; c++) {
            float z = 0;
            for (int j = 0; j < D; j++) z += x[j] * W[(size_t)c * D + j];
            if (z > bz) { bz = z; best = c; }
        }
        cnt[y[i]]++;
        hit[y[i]] += best == y[i];
        ok += best == y[i];
    }
    double s = 0;
    int present = 0;
    for (int c = 0; c < C; c++) if (cnt[c]) { s += (double)hit[c] / cnt[c]; present++; }
    pt->val_accuracy = n ? (double)ok / n : NAN;
    pt->val_balanced_accuracy = present ? s / present : NAN;
}

double tl_tau_norm_sweep(tl_stage2_point *sweep, const float *w, const float *feat, const int *y, int n, int D, int C) {
    float *W = malloc((size_t)C * D * sizeof *W);
    int64_t *hc = malloc(2 * (size_t)C * sizeof *hc);
    double best_tau = W && hc ? 0 : NAN, best = -1;
    for (int k = 0; k <= 20 && W && hc; k++) {
        double tau = k / 10.0;
        tl_tau_norm_weights(W, w, C, D, tau);
        sweep[k].value = tau;
        score(&sweep[k], W, feat, y, n, D, C, hc, hc + C);
        if (sweep[k].val_balanced_accuracy > best) { best = sweep[k].val_balanced_accuracy; best_tau = tau; }
    }
    free(W);
    free(hc);
    return best_tau;
}

int tl_tau_norm_apply(tl_model *m, double tau, tl_error *err) {
    const tl_tensor_info *w = tl_model_find(m, "head.weight"), *b = tl_model_find(m, "head.bias");
    if (m->head.ops != &tl_head_linear || !w || !b) return tl_fail(err, "tau-norm: needs a model with a linear head");
    int C = m->cfg.num_classes, D = m->cfg.feat_dim;
    tl_tau_norm_weights(m->params + w->off, m->params + w->off, C, D, tau);
    memset(m->params + b->off, 0, (size_t)C * sizeof(float));
    return 0;
}

/* ---- the stage-2 method: tau[:tau=T]; without T, τ is chosen on the validation features ---- */
static int tau_create(tl_stage2 *s, tl_spec *spec, const tl_model *src, tl_error *err) {
    if (src->head.ops != &tl_head_linear)
        return tl_spec_fail(err, spec, "needs a run trained with --head linear (this one has %s)", src->cfg.head);
    if (tl_spec_double(spec, "tau", NAN, &s->tau, err)) return -1;
    snprintf(s->head, sizeof s->head, "linear");
    return 0;
}

static int tau_fit(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                   const int64_t *count, const tl_stage2_cfg *cfg, tl_error *err) {
    (void)train; (void)count; (void)cfg;
    const tl_tensor_info *sw = tl_model_find(src, "head.weight"), *ow = tl_model_find(out, "head.weight");
    const tl_tensor_info *ob = tl_model_find(out, "head.bias");
    int C = out->cfg.num_classes, D = out->cfg.feat_dim;
    if (isnan(s->tau)) {
        if (!val || val->n == 0)
            return tl_fail(err, "--method tau: choosing tau needs the run's validation split (train with --val N) or tau:tau=T");
        s->nsweep = 21;
        s->tau = tl_tau_norm_sweep(s->sweep, src->params + sw->off, val->x, val->y, val->n, D, C);
        if (isnan(s->tau)) return tl_fail(err, "out of memory");
        snprintf(s->text, sizeof s->text, "tau:tau=%g", s->tau);
    }
    tl_tau_norm_weights(out->params + ow->off, src->params + sw->off, C, D, s->tau);
    memset(out->params + ob->off, 0, (size_t)C * sizeof(float));
    return 0;
}

const tl_stage2_ops tl_stage2_tau = {"tau", tau_create, tau_fit, 0};
