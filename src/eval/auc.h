/* Threshold-free ranking metrics for open-set recognition (docs/methods.md §14.3, §14.4), tie-aware.
 * A sample is positive when positive[i] != 0; a higher score means "more positive". For AUPR-Out
 * pass the unknown samples as positives and the negated scores. */
#ifndef TL_EVAL_AUC_H
#define TL_EVAL_AUC_H
#include <stdint.h>
#include "tailor.h"

/* AUROC = (1/(n_A n_B)) Σ_a Σ_b (1[s_a > s_b] + ½ 1[s_a = s_b]), computed from average ranks in
 * O(n log n) (= sklearn roc_auc_score). Writes *out. Returns 0, or -1 when there is no positive or
 * no negative sample, a score is NaN, or memory runs out. */
int tl_auroc(double *out, const float *score, const unsigned char *positive, int64_t n, tl_error *err);

/* Average precision AP = Σ_k (R_k − R_{k−1}) P_k over the distinct score values taken as thresholds
 * in decreasing order (= sklearn average_precision_score, no interpolation). Writes *out. Returns 0,
 * or -1 when there is no positive sample, a score is NaN, or memory runs out. */
int tl_aupr(double *out, const float *score, const unsigned char *positive, int64_t n, tl_error *err);

#endif
