/* Choosing between the candidates of `tailor study` (src/study/rank.c): the measures read from a
 * report, the ranking metric and --constraint limits, the mean and spread over seeds, the ranking,
 * the plain-language verdict, and successive halving's cut. Everything here sees validation numbers
 * only; test numbers are carried beside them for the leaderboard and never compared. */
#ifndef TL_STUDY_RANK_H
#define TL_STUDY_RANK_H
#include <stddef.h>
#include "eval/metrics.h"
#include "tailor.h"

/* The measures of one report, fractions in [0, 1] (NAN when undefined, e.g. no few-shot class). */
enum { TL_MEASURE_BAL, TL_MEASURE_MACRO_F1, TL_MEASURE_ACC, TL_MEASURE_MANY, TL_MEASURE_MEDIUM, TL_MEASURE_FEW,
       TL_MEASURE_HEAD, TL_MEASURE_MID, TL_MEASURE_TAIL, TL_MEASURE_WORST, TL_NMEASURES };
extern const char *const tl_measure_names[TL_NMEASURES];   /* balanced_accuracy, macro_f1, accuracy, ... worst_class */

/* out[TL_NMEASURES] from m; worst_class is the lowest recall of a class present in the set. */
void tl_study_measures(const tl_metrics *m, double *out);
/* The index of a measure name, or -1 with a message naming option and the valid names. */
int tl_study_measure_find(const char *name, const char *option, tl_error *err);

#define TL_STUDY_MAX_CONSTRAINTS 8
typedef struct {
    int n;
    int measure[TL_STUDY_MAX_CONSTRAINTS];
    int op[TL_STUDY_MAX_CONSTRAINTS];       /* 0 >=, 1 <=, 2 >, 3 < */
    double value[TL_STUDY_MAX_CONSTRAINTS];
} tl_study_constraints;
/* Parses "head>=0.9,tail>0.5" ("" = none): a measure, an operator (>=, <=, >, <) and a number in
 * [0, 1]. Returns 0, or -1 naming --constraint and the fault. */
int tl_study_constraints_parse(tl_study_constraints *c, const char *text, tl_error *err);
/* Whether measures (means over seeds) meet every limit (an undefined measure meets none). */
int tl_study_constraints_met(const tl_study_constraints *c, const double *measures);

/* TL_STUDY_MAX_SEEDS (include/tailor.h): the most seeds per candidate. */
/* One candidate's results at one number of epochs. */
typedef struct {
    int cand;                                   /* grid index */
    int epochs;
    int nseeds;
    int seed[TL_STUDY_MAX_SEEDS];
    double val[TL_STUDY_MAX_SEEDS][TL_NMEASURES];   /* validation split */
    double test[TL_STUDY_MAX_SEEDS][TL_NMEASURES];  /* test set: filled only after the choice is written */
    int have_test;
    double seconds[TL_STUDY_MAX_SEEDS];         /* training time of the run (stage 1, plus stage 2) */
    /* Filled by tl_study_rank: */
    double val_mean[TL_NMEASURES], val_std[TL_NMEASURES];   /* std: sample std (NAN for one seed) */
    int feasible;
    int best_seed;                              /* index into seed[] with the highest validation metric */
} tl_study_result;

/* Mean and sample standard deviation of x[n] (std NAN for n < 2; both NAN when any x is NAN). */
void tl_study_mean_std(const double *x, int n, double *mean, double *std);
/* Fills every result's means, spreads, feasibility and best seed, then writes into order[n] the
 * results from best to worst: feasible before infeasible, then more epochs before fewer (a candidate
 * pruned early by successive halving ranks below those that went on), then the metric's validation mean
 * (descending; undefined last), then the candidate name (ascending) so ties are stable. */
void tl_study_rank(tl_study_result *r, int n, int metric, const tl_study_constraints *c,
                   const char *const *names, int *order);
/* The verdict in plain words: the winner, the runner-up, and whether their difference on the
 * validation metric exceeds the larger of their seed spreads (order as from tl_study_rank). */
void tl_study_verdict(const tl_study_result *r, const int *order, int n, int metric, const char *const *names,
                      char *buf, size_t cap);

/* Successive halving: the epochs of each rung for `groups` stage-1 models and a full run of
 * `epochs` epochs: rung k of R trains for round(epochs / 2^(R−1−k)) epochs (half up), the last rung
 * the full epochs, with R = 1 + ceil(log2(groups)) limited so that the first rung has at least two
 * epochs (room for a DRW switch). Writes at most cap rungs; returns R. */
int tl_study_rungs(int groups, int epochs, int *rung_epochs, int cap);
/* The groups that go on: the better ceil(n/2) of score[n] (descending; NAN last; ties by index),
 * their indices ascending in keep[]; returns how many. */
int tl_study_halve(const double *score, int n, int *keep);

#endif
