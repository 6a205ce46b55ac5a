/* Open-set recognition (docs/methods.md §13.4, §14.3, §14.4): known-ness scores of a model and the metrics
 * of a test set made of known-class samples and samples of held-out (unknown) classes.
 *
 * Score s: higher = more likely a known class (the head's unknown score; the maximum softmax
 * probability by default). Threshold-free: AUROC with the known samples as positives, AUPR-In (AP,
 * known positive, score s) and AUPR-Out (AP, unknown positive, score −s), all tie-aware (eval/auc.h).
 * At a threshold θ chosen on the known validation samples [tailor]: a test sample is accepted when
 * s >= θ and then gets its closed-set prediction, else it is predicted "unknown"; accuracy and macro F1
 * are those of this (K+1)-way prediction over all test samples, "unknown" being class K. */
#ifndef TL_EVAL_OPENSET_H
#define TL_EVAL_OPENSET_H
#include <stdint.h>
#include "data/dataset.h"
#include "models/model.h"
#include "tailor.h"

#define TL_OPENSET_ACCEPT 0.95   /* share of known validation samples accepted at the threshold */

typedef struct {
    int64_t known, unknown;          /* test samples */
    double auroc, aupr_in, aupr_out;
    double threshold;                /* θ; NAN when there was no validation set */
    double accuracy_at_threshold;    /* (K+1)-way accuracy over all test samples; NAN without θ */
    double macro_f1_at_threshold;    /* (K+1)-way macro F1 (sklearn semantics); NAN without θ */
    double known_accepted;           /* share of known test samples with s >= θ; NAN without θ */
    double unknown_rejected;         /* share of unknown test samples with s < θ; NAN without θ */
} tl_openset;

/* What report.json's "open_set" object holds (eval/report.c); the arrays are borrowed. */
typedef struct {
    tl_openset metrics;
    int nunknown, nknown;
    const int *unknown_classes;     /* [nunknown] original labels of the held-out classes */
    const int *known_classes;       /* [nknown] original label of known class k = 0..K−1 */
    const char *const *names;       /* original class names, or NULL */
} tl_openset_report;

/* θ = the ceil(accept·n)-th largest of score[n], so that at least a share `accept` of the samples has
 * s >= θ (more with ties at θ). n >= 1, 0 < accept <= 1. */
double tl_openset_threshold(const float *score, int64_t n, double accept);

/* Fills r from nk known test samples (labels and closed-set predictions in 0..K−1, scores) and nu
 * unknown ones (closed-set predictions, scores), at threshold θ (NAN: the threshold fields are NAN).
 * Returns 0, or -1 when nk or nu is 0, a score is NaN, a label or prediction is out of range, or
 * memory runs out. */
int tl_openset_compute(tl_openset *r, const int *labels, const int *pred, const float *score, int64_t nk,
                       const int *unknown_pred, const float *unknown_score, int64_t nu, int K, double threshold,
                       tl_error *err);

/* Closed-set predictions pred[d->n] (may be NULL) and known-ness scores score[d->n] of m over d in
 * evaluation mode (images normalised with mean/std, no augmentation), as tl_predict, with the score of
 * tl_head_unknown_score. Returns 0 or -1. */
int tl_openset_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, float *score, int *pred,
                       tl_error *err);

#endif
