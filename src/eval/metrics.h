/* Classification metrics of one test pass (docs/methods.md §14, groups §1.3).
 *
 * Everything is derived from the confusion matrix M[t][p] (int64: test samples of true class t
 * predicted as p) plus the per-class training counts; ECE also needs the predicted probabilities.
 * Every sum runs in double in a fixed order, so a metric is bitwise reproducible.
 *
 * "Undefined" values are NAN (written as JSON null): the recall of a class absent from the test set,
 * the F1 of a class absent from both labels and predictions, a shot group or a head/mid/tail third
 * with no class present in the test set, ECE when no probabilities were given. */
#ifndef TL_EVAL_METRICS_H
#define TL_EVAL_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "tailor.h"

/* Shot groups by training count n_c (docs/methods.md §1.3; facebookresearch/classifier-balancing shot_acc). */
enum { TL_SHOT_MANY, TL_SHOT_MEDIUM, TL_SHOT_FEW };   /* n_c > 100, 20 <= n_c <= 100, n_c < 20 */
/* Thirds of the classes sorted by training count, descending, ties by label (M2m major/neutral/minor). */
enum { TL_PART_HEAD, TL_PART_MID, TL_PART_TAIL };

#define TL_ECE_BINS 15
/* The confusion matrix is dense (C² int64), so C stays moderate (iNaturalist-2018 has 8142). */
#define TL_METRICS_MAX_CLASSES 10000

typedef struct {
    int C;
    int64_t n;                  /* test samples */
    int64_t *confusion;         /* [C*C], row = true class, column = predicted class */
    int64_t *train_count;       /* [C] n_c, copied from the caller */
    int64_t *test_count;        /* [C] row sums of the confusion matrix */
    int64_t *pred_count;        /* [C] column sums */
    double *precision;          /* [C] M[c][c]/pred_count[c], 0 when never predicted */
    double *recall;             /* [C] M[c][c]/test_count[c], NAN when absent from the test set */
    double *f1;                 /* [C] 2PR/(P+R) (0 when P+R = 0, recall counted as 0 when absent);
                                   NAN when the class is neither in the labels nor predicted */
    int *shot;                  /* [C] TL_SHOT_* */
    int *part;                  /* [C] TL_PART_* */
    int *order;                 /* [C] classes by training count, descending, ties by label */
    double accuracy, balanced_accuracy, macro_f1, micro_f1;
    double many, medium, few;   /* unweighted mean recall of the group's classes present in the test set */
    double head, mid, tail;
    double ece;                 /* 15 bins (b/15, (b+1)/15] */
    void *block;                /* the one allocation behind the arrays */
} tl_metrics;

/* Allocates the arrays for C classes (zeroed, scalars NAN). Returns 0, or -1 when out of memory or
 * C < 1. The caller owns m's arrays afterwards and releases them with tl_metrics_free. */
int tl_metrics_init(tl_metrics *m, int C, tl_error *err);
void tl_metrics_free(tl_metrics *m);

/* Computes every metric of an initialised m from n test samples: labels[n] and pred[n] in 0..C-1,
 * prob[n, C] the probabilities the method outputs (NULL: ece = NAN), train_count[C] >= 0.
 * ECE's correctness uses pred, which should be the argmax of prob. Returns 0, or -1 on a label or
 * prediction out of range, n < 1 or a negative training count (m is then unspecified). */
int tl_metrics_compute(tl_metrics *m, const int *labels, const int *pred, const float *prob,
                       const int64_t *train_count, int64_t n, tl_error *err);

/* Balanced accuracy, the mean recall of the classes present: the mean over the classes c with
 * count[c] > 0, in class order, of hit[c·stride] / count[c] (hit: correct predictions of class c;
 * stride C + 1 reads the diagonal of a confusion matrix). NAN when no class is present. Every
 * balanced accuracy in tailor (reports, validation, the τ sweeps) is this. */
double tl_balanced_accuracy(const int64_t *hit, size_t stride, const int64_t *count, int C);

/* Derives every other field of m from m->confusion and m->train_count (the scalars and per-class
 * arrays except ece, which the confusion matrix cannot give). Used by tl_metrics_compute and by the
 * report reader. Returns 0, or -1 on a negative count or an empty matrix. */
int tl_metrics_from_confusion(tl_metrics *m, tl_error *err);

/* Expected calibration error (docs/methods.md §14.2): conf_i = max_j prob[i,j], ok_i = 1[pred_i = labels_i],
 * ECE = Σ_b |B_b|/n · |mean ok − mean conf| over bins (b/15, (b+1)/15]; a confidence of 0 falls in
 * the first bin. */
double tl_ece(const int *labels, const int *pred, const float *prob, int64_t n, int C);

/* Per-class shot group and head/mid/tail third from training counts, and the class order behind the
 * thirds (order[r] = the class of rank r). shot, part and order are [C]. */
void tl_class_groups(int *shot, int *part, int *order, const int64_t *train_count, int C);

#endif
