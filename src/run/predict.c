/* Prediction of the public API: a run's model on a split of a tl_data or on the caller's rows, with an
 * optional inference rule, into the caller's buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/predict.h"
#include "core/error.h"
#include "core/log.h"
#include "run/evaluate.h"
#include "train/trainer.h"

int tl_run_data_input(tl_run *r, tl_data *d, tl_error *err) {
    const tl_model_cfg *c = &r->model.cfg;
    if (!d->input_set && tl_bundle_input(&d->b, &r->cfg.o, err)) return -1;
    if (d->b.input.c != c->in_c || d->b.input.h != c->in_h || d->b.input.w != c->in_w ||
        d->b.train.num_classes > c->num_classes || d->b.test.num_classes > c->num_classes)
        return tl_fail(err, "--data: its shape or classes do not match the run's model");
    return 0;
}

int tl_run_rule(tl_posthoc *rule, tl_run *r, const char *spec, const int64_t *count, const tl_dataset *val,
                tl_error *err) {
    memset(rule, 0, sizeof *rule);
    if (!count) return tl_fail_prefix(err, "--posthoc %s", spec);
    if (tl_posthoc_create(rule, spec, count, r->model.cfg.num_classes, err)) return -1;
    if (!rule->tau_auto && !rule->alpha_auto) return 0;
    /* τ and α from a balanced validation set, never from the test set. */
    if (!val || val->n == 0) {
        const char *key = rule->tau_auto ? "tau" : "alpha";
        tl_posthoc_free(rule);
        return tl_fail(err, "--posthoc %s: %s=auto needs the run's validation set (train it with --val N)", spec, key);
    }
    double bal;
    if (rule->alpha_auto) {
        /* The sweep sets the causal head's α in turn: on a copy, the run's model stays as trained. */
        tl_model copy = {0};
        int rc = tl_model_clone(&copy, &r->model, r->model.N, r->threads, err) ||
                 tl_posthoc_choose_alpha(rule, &copy, val, r->mean, r->std, &bal, err);
        tl_model_free(&copy);
        if (rc) { tl_posthoc_free(rule); return -1; }
        tl_log(TL_LOG_INFO, "posthoc: chose alpha = %g (validation balanced accuracy %.2f%%)", rule->alpha, 100 * bal);
        return 0;
    }
    int C = r->model.cfg.num_classes;
    float *z = malloc((size_t)val->n * C * sizeof *z);
    int *pred = malloc((size_t)val->n * sizeof *pred);
    int rc = z && pred ? 0 : tl_fail(err, "out of memory");
    if (!rc) rc = tl_predict(&r->model, val, r->mean, r->std, z, NULL, pred, err);
    if (!rc) {
        tl_posthoc_set_tau(rule, tl_posthoc_choose_tau(rule, z, val->y, val->n, &bal));
        tl_log(TL_LOG_INFO, "posthoc: chose tau = %g (validation balanced accuracy %.2f%%)", rule->tau, 100 * bal);
    }
    free(z);
    free(pred);
    if (rc) tl_posthoc_free(rule);
    return rc;
}

int tl_model_clone(tl_model *dst, const tl_model *src, int N, int nthreads, tl_error *err) {
    if (tl_model_init_inference(dst, &src->cfg, N, nthreads, err)) return -1;
    memcpy(dst->params, src->params, src->nparams * sizeof *src->params);
    if (src->nstate) memcpy(dst->state, src->state, src->nstate * sizeof *src->state);
    return 0;
}

int tl_run_model_for(tl_run *r, const tl_posthoc *rule, tl_model *copy, tl_model **m, tl_error *err) {
    memset(copy, 0, sizeof *copy);
    *m = &r->model;
    if (!rule || !rule->ops->bind) return 0;
    /* tde, tau-norm and sla change the model they are bound to: the run's own stays as trained. */
    if (tl_model_clone(copy, &r->model, r->model.N, r->threads, err)) return -1;
    *m = copy;
    return 0;
}

/* Predicts d with the rule spec (NULL: none); val for tau=auto, count the training counts. */
static int predict(tl_run *r, const tl_dataset *d, const char *spec, const int64_t *count, const tl_dataset *val,
                   float *logits, float *probs, int *labels, tl_error *err) {
    int *pred = labels ? labels : malloc((size_t)(d->n + 1) * sizeof *pred);
    if (!pred) return tl_fail(err, "out of memory");
    tl_posthoc rule = {0};
    tl_model copy = {0}, *m;
    int rc = spec && tl_run_rule(&rule, r, spec, count, val, err) ? -1 : 0;
    if (!rc) rc = tl_run_model_for(r, spec ? &rule : NULL, &copy, &m, err);
    if (!rc) rc = tl_rule_predict(m, d, r->mean, r->std, spec ? &rule : NULL, logits, probs, pred, err);
    tl_model_free(&copy);
    tl_posthoc_free(&rule);
    if (pred != labels) free(pred);
    return rc;
}

static const tl_dataset *split_set(const tl_data *d, int split) {
    const tl_dataset *sets[4] = {&d->b.train, &d->b.val, &d->b.test, &d->b.unknown};
    return split >= 0 && split <= TL_SPLIT_UNKNOWN ? sets[split] : NULL;
}

int tl_run_predict(tl_run *r, tl_data *d, int split, const char *rule, float *logits, float *probs, int *labels,
                   tl_error *err) {
    const tl_dataset *s = split_set(d, split);
    if (!s) return tl_fail(err, "tl_run_predict: split %d is not one of TL_SPLIT_*", split);
    if (tl_run_data_input(r, d, err)) return -1;
    return predict(r, s, rule, rule ? tl_run_counts(r, d, err) : NULL, &d->b.val, logits, probs, labels, err);
}

int tl_run_features(tl_run *r, tl_data *d, int split, float *out, tl_error *err) {
    const tl_dataset *s = split_set(d, split);
    if (!s) return tl_fail(err, "tl_run_features: split %d is not one of TL_SPLIT_*", split);
    if (tl_run_data_input(r, d, err)) return -1;
    return tl_eval_features(&r->model, s, NULL, s->n, r->mean, r->std, out, err);
}

/* The caller's rows as a data set of the model's input shape (eval transform from the run's options). */
static int rows_set(tl_dataset *s, tl_input *in, tl_run *r, const float *x, const uint8_t *px, int n, tl_error *err) {
    const tl_model_cfg *c = &r->model.cfg;
    memset(s, 0, sizeof *s);
    if (n < 0 || (n > 0 && !x && !px)) return tl_fail(err, "tl_run_predict: %d rows and no array", n);
    if (x) {
        if (tl_dataset_alloc(s, n, c->in_c, c->in_h, c->in_w, c->num_classes, "tl_run_predict_features", err)) return -1;
        if (n) memcpy(s->x, x, (size_t)n * c->in_c * c->in_h * c->in_w * sizeof *s->x);
        return tl_input_for_predict(in, s, &r->cfg.o, c->in_c, c->in_h, c->in_w, err);
    }
    uint8_t *block;
    tl_images *im = tl_images_memory(n, c->in_h, c->in_w, c->in_c, &block);
    if (!im) return tl_fail(err, "tl_run_predict_pixels: out of memory for %d images", n);
    if (n) memcpy(block, px, (size_t)n * c->in_h * c->in_w * c->in_c);
    int rc = tl_dataset_alloc_images(s, im, n, c->num_classes, "tl_run_predict_pixels", err);
    tl_images_unref(im);
    if (!rc) rc = tl_input_for_predict(in, s, &r->cfg.o, c->in_c, c->in_h, c->in_w, err);
    return rc;
}

static int predict_rows(tl_run *r, const float *x, const uint8_t *px, int n, const char *rule, float *logits,
                        float *probs, int *labels, tl_error *err) {
    tl_dataset s;
    tl_input in;
    int rc = rows_set(&s, &in, r, x, px, n, err);
    if (!rc && n) rc = predict(r, &s, rule, rule ? tl_run_counts(r, NULL, err) : NULL, NULL, logits, probs, labels, err);
    tl_dataset_free(&s);
    return rc;
}

int tl_run_predict_features(tl_run *r, const float *x, int n, const char *rule, float *logits, float *probs,
                            int *labels, tl_error *err) {
    return predict_rows(r, x, NULL, n, rule, logits, probs, labels, err);
}

int tl_run_predict_pixels(tl_run *r, const uint8_t *px, int n, const char *rule, float *logits, float *probs,
                          int *labels, tl_error *err) {
    const char *channels = tl_opt(&r->cfg.o, "channels");
    if (!channels || !*channels)
        return tl_fail(err, "tl_run_predict_pixels: the run's model takes feature rows; use tl_run_predict_features");
    return predict_rows(r, NULL, px ? px : (const uint8_t *)"", n, rule, logits, probs, labels, err);
}
