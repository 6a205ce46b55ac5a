#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/evaluate.h"
#include "core/error.h"
#include "eval/plot.h"
#include "losses/softmax.h"
#include "train/trainer.h"

/* The open-set metrics of an --open bundle: scores of the known test images d, of b->unknown and
 * (for the threshold) of b->val. */
static int evaluate_open(tl_openset_report *r, tl_model *m, const tl_data_bundle *b, const tl_dataset *d,
                         const float *mean, const float *std, tl_error *err) {
    const tl_dataset *u = &b->unknown, *v = &b->val;
    float *sk = malloc((size_t)d->n * sizeof *sk), *su = malloc((size_t)u->n * sizeof *su);
    float *sv = malloc((size_t)(v->n ? v->n : 1) * sizeof *sv);
    int *pk = malloc((size_t)d->n * sizeof *pk), *pu = malloc((size_t)u->n * sizeof *pu);
    int rc = sk && su && sv && pk && pu ? 0 : tl_fail(err, "out of memory");
    if (!rc) rc = tl_openset_predict(m, d, mean, std, sk, pk, err) || tl_openset_predict(m, u, mean, std, su, pu, err);
    double threshold = NAN;
    if (!rc && v->n > 0) {
        rc = tl_openset_predict(m, v, mean, std, sv, NULL, err);
        threshold = tl_openset_threshold(sv, v->n, TL_OPENSET_ACCEPT);
    }
    if (!rc) rc = tl_openset_compute(&r->metrics, d->y, pk, sk, d->n, pu, su, u->n, m->cfg.num_classes, threshold, err);
    r->nunknown = b->open.n;
    r->unknown_classes = b->open.classes;
    r->nknown = m->cfg.num_classes;
    r->known_classes = b->known_classes;
    r->names = (const char *const *)u->class_names;
    free(sk); free(su); free(sv); free(pk); free(pu);
    return rc ? -1 : 0;
}

int tl_rule_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const tl_posthoc *rule,
                    float *logits, float *probs, int *pred, tl_error *err) {
    if (!rule) return tl_predict(m, d, mean, std, logits, probs, pred, err);
    int C = m->cfg.num_classes;
    float *z = logits ? logits : malloc((size_t)d->n * C * sizeof *z + 1);
    int rc = z ? 0 : tl_fail(err, "out of memory");
    if (!rc) rc = tl_posthoc_bind(rule, m, err);
    if (!rc) rc = tl_predict(m, d, mean, std, z, NULL, pred, err);
    if (!rc) {
        /* Predictions and probabilities of the adjusted logits (docs/methods.md §3.7, §14.2). */
        tl_posthoc_apply(rule, z, d->n);
        if (probs) tl_softmax(probs, z, d->n, C);
        for (int i = 0; i < d->n; i++) pred[i] = tl_argmax(z + (size_t)i * C, NULL, C);
    }
    if (z != logits) free(z);
    return rc;
}

int tl_eval_compute(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                    const tl_data_bundle *b, const tl_posthoc *rule, tl_metrics *out, tl_openset_report *open,
                    tl_error *err) {
    int C = m->cfg.num_classes;
    float *probs = malloc((size_t)d->n * C * sizeof *probs);
    int *pred = malloc((size_t)d->n * sizeof *pred);
    int rc = probs && pred ? 0 : tl_fail(err, "out of memory");
    if (!rc) rc = tl_rule_predict(m, d, mean, std, rule, NULL, probs, pred, err);
    if (!rc) rc = tl_metrics_init(out, C, err);
    if (!rc) rc = tl_metrics_compute(out, d->y, pred, probs, train_count, d->n, err);
    free(probs);
    free(pred);
    if (rc) return -1;
    if (b && b->open.n && evaluate_open(open, m, b, d, mean, std, err)) { tl_metrics_free(out); return -1; }
    return 0;
}

int tl_eval_info(tl_report_info *info, const tl_opts *o, const char *rule_text, double train_seconds,
                 double images_per_second, const tl_openset_report *open, tl_error *err) {
    tl_report_info_init(info);
    info->open_set = open;
    long seed = 0, threads = 1;
    if (tl_opt(o, "seed")) seed = strtol(tl_opt(o, "seed"), NULL, 10);
    if (tl_opt(o, "threads")) threads = strtol(tl_opt(o, "threads"), NULL, 10);
    info->seed = (uint64_t)seed;
    info->threads = (int)threads;
    info->train_seconds = train_seconds;
    info->images_per_second = images_per_second;
    int rc = 0;
    for (int i = 0; i < o->n && rc == 0; i++)
        if (o->defs[i].in_config && strcmp(o->defs[i].name, "seed") && strcmp(o->defs[i].name, "threads"))
            rc = tl_report_info_set(info, o->defs[i].name, o->value[i], err);
    if (!rc && rule_text) rc = tl_report_info_set(info, "posthoc", rule_text, err);
    return rc;
}

int tl_eval_write_dir(const char *dir, const tl_metrics *m, const char *const *names, const tl_report_info *info,
                      tl_error *err) {
    char path[4200];
    if (tl_report_write(dir, m, names, info, err) ||
        tl_path_join(path, sizeof path, dir, "per_class_accuracy.png", err) ||
        tl_plot_per_class(path, m, names, "Per-class test accuracy vs training count", err) ||
        tl_path_join(path, sizeof path, dir, "confusion.png", err) ||
        tl_plot_confusion(path, m, names, "Confusion matrix (row-normalised)", err))
        return -1;
    return 0;
}

/* The report of m on d (after the inference rule, when given); with an --open bundle b (else NULL)
 * the open-set metrics too. */
static int evaluate(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                    const tl_data_bundle *b, const tl_posthoc *rule, const char *init_note, const char *dir,
                    const tl_opts *o, double train_seconds, double images_per_second, tl_metrics *out, tl_openset_report *open_out,
                    tl_error *err) {
    tl_openset_report open;
    tl_report_info info;
    int is_open = b && b->open.n;
    if (tl_eval_compute(m, d, mean, std, train_count, b, rule, out, &open, err)) return -1;
    if (is_open && open_out) *open_out = open;
    if (tl_eval_info(&info, o, rule ? rule->text : NULL, train_seconds, images_per_second, is_open ? &open : NULL, err) ||
        (init_note && tl_report_info_set(&info, "init_loaded", init_note, err)) ||
        tl_eval_write_dir(dir, out, (const char *const *)d->class_names, &info, err)) {
        tl_metrics_free(out);
        return -1;
    }
    return 0;
}

int tl_evaluate_to_dir(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                       const char *dir, const tl_opts *o, const tl_posthoc *rule, double train_seconds,
                       double images_per_second, tl_metrics *out, tl_error *err) {
    return evaluate(m, d, mean, std, train_count, NULL, rule, NULL, dir, o, train_seconds, images_per_second, out, NULL,
                    err);
}

int tl_evaluate_open_to_dir(tl_model *m, const tl_data_bundle *b, const tl_dataset *d, const float *mean,
                            const float *std, const char *dir, const tl_opts *o, const tl_posthoc *rule,
                            const char *init_note, double train_seconds, double images_per_second, tl_metrics *out,
                            tl_openset_report *open_out, tl_error *err) {
    return evaluate(m, d, mean, std, b->train_count, b, rule, init_note, dir, o, train_seconds, images_per_second, out, open_out,
                    err);
}
