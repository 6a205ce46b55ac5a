/* Evaluation of a model on one split: the metrics (after an inference rule), the open-set metrics of
 * an --open data set, the report's run information from a run's options, and the report folder
 * (report.json, report.md, per_class_accuracy.png, confusion.png). */
#ifndef TL_RUN_EVALUATE_H
#define TL_RUN_EVALUATE_H
#include "eval/metrics.h"
#include "eval/openset.h"
#include "eval/posthoc.h"
#include "eval/report.h"
#include "models/model.h"
#include "run/bundle.h"

/* Predictions of m on d: logits and probs [n, C] (each may be NULL) and pred [n] (required), after the
 * inference rule (NULL: none; bound to m first, then applied to the logits before softmax and argmax). */
int tl_rule_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const tl_posthoc *rule,
                    float *logits, float *probs, int *pred, tl_error *err);
/* The metrics of m on d into *out (caller frees with tl_metrics_free) with training counts
 * train_count [C]; rule (NULL: none) is bound to m and applied to the logits before argmax and
 * softmax. When b holds held-out classes (b->open.n > 0) the open-set metrics of d (its known test
 * images) and b->unknown go into *open (its arrays point into b), the threshold chosen on b->val. */
int tl_eval_compute(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                    const tl_data_bundle *b, const tl_posthoc *rule, tl_metrics *out, tl_openset_report *open,
                    tl_error *err);
/* The report's "run" section: seed, threads and every config.json option of o, the rule's text (NULL:
 * none) as "posthoc", the times (NAN: unknown) and the open-set report (NULL: none). Strings are
 * borrowed from o, rule_text and open. */
int tl_eval_info(tl_report_info *info, const tl_opts *o, const char *rule_text, double train_seconds,
                 double images_per_second, const tl_openset_report *open, tl_error *err);
/* Writes report.json, report.md and the plots of m into the existing folder dir. */
int tl_eval_write_dir(const char *dir, const tl_metrics *m, const char *const *names, const tl_report_info *info,
                      tl_error *err);

/* Evaluates m on d (the test set), writes report.json/report.md and the plots into dir, and
 * leaves the metrics in *out (caller frees with tl_metrics_free). rule: an inference rule applied
 * to the logits before argmax and softmax (recorded as "posthoc" in the report), or NULL. */
int tl_evaluate_to_dir(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                       const char *dir, const tl_opts *o, const tl_posthoc *rule, double train_seconds,
                       double images_per_second, tl_metrics *out, tl_error *err);

/* As tl_evaluate_to_dir, plus, when b holds held-out classes (b->open.n > 0), the open-set metrics
 * of d (its known test images) and b->unknown with the head's known-ness score, the threshold chosen
 * on b->val (none when empty); they go into the report and *open_out (may be NULL; its arrays point
 * into b). init_note: what --init loaded (the report's run key "init_loaded"), or NULL. */
int tl_evaluate_open_to_dir(tl_model *m, const tl_data_bundle *b, const tl_dataset *d, const float *mean,
                            const float *std, const char *dir, const tl_opts *o, const tl_posthoc *rule,
                            const char *init_note, double train_seconds, double images_per_second, tl_metrics *out,
                            tl_openset_report *open_out, tl_error *err);

#endif
