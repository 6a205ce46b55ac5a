/* Stage 2 of decoupled classifier learning (methods.md §8, Kang et al.): keep a trained model's
 * backbone, re-balance only its classifier. One table of named methods (tailor retrain --method):
 *   crt                     new linear head (nn.Linear's init), trained with a class-balanced sampler
 *   ncm[:metric=l2|cosine]  nearest class mean on cl2n features (a fixed "ncm" head)
 *   tau[:tau=T]             w_c/‖w_c‖^τ, bias dropped (a linear head); τ swept on validation when absent
 *   lws                     one learnt scale per class on the frozen stage-1 logits (folded into a
 *                           linear head: w_c ← f_c·w_c, b_c ← f_c·b_c)
 *
 * The backbone runs in evaluation mode (BatchNorm running statistics, no dropout, no augmentation),
 * so the training features are computed once and crt/lws train a head alone on them with the
 * ordinary trainer (a "feature model": an mlp with no hidden layer, input D). The reference instead
 * leaves BatchNorm in training mode and keeps augmentation during cRT/LWS (methods.md §8);
 * tailor's choice makes features deterministic and stage 2 cost one backbone pass. */
#ifndef TL_STAGE2_STAGE2_H
#define TL_STAGE2_STAGE2_H
#include <stdint.h>
#include <stdio.h>
#include "data/dataset.h"
#include "models/model.h"
#include "spec/spec.h"
#include "train/trainer.h"

/* Training settings of crt and lws (methods.md §8.1, §8.4, §15.2). */
typedef struct {
    char sampler[128];          /* default "class:mode=aware,per_class=4" */
    int epochs;                 /* 0: the method's default (crt 10, lws 5) */
    int batch;                  /* 512; capped at the training set size */
    tl_optim_cfg optim;         /* sgd lr 0.2, momentum 0.9, wd 5e-4 */
    tl_schedule sched;          /* cosine to 0, per step as the trainer evaluates it */
    uint64_t seed;
    int threads;
    const tl_train_hooks *hooks;    /* per-step/per-epoch callbacks of the trainer, or NULL */
    const char *ckpt_path;          /* the trainer's per-epoch checkpoint file (NULL: none) */
} tl_stage2_cfg;

/* Fills the defaults above (threads 1, seed 0, no hooks, ckpt_path NULL). */
void tl_stage2_cfg_default(tl_stage2_cfg *cfg);

typedef struct { double value, val_accuracy, val_balanced_accuracy; } tl_stage2_point;

#define TL_STAGE2_MAX_SWEEP 64

typedef struct tl_stage2 tl_stage2;
typedef struct {
    const char *name;
    /* Reads the method's keys, checks the stage-1 model suits it, sets s->head. */
    int (*create)(tl_stage2 *s, tl_spec *spec, const tl_model *src, tl_error *err);
    /* Fills the head tensors of out (already holding src's backbone) from the features. */
    int (*fit)(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
               const int64_t *count, const tl_stage2_cfg *cfg, tl_error *err);
    int default_epochs;         /* the epochs it trains when --epochs is not given (0: not trained) */
} tl_stage2_ops;

struct tl_stage2 {
    const tl_stage2_ops *ops;
    char head[128];             /* head spec of the stage-2 model */
    char text[160];             /* the method as resolved, e.g. "tau:tau=0.7", for reports */
    int metric;                 /* ncm: TL_NCM_L2 or TL_NCM_COSINE */
    double tau;                 /* tau: the τ in use (NAN until chosen) */
    int epochs;                 /* crt, lws: epochs trained */
    tl_stage2_point sweep[TL_STAGE2_MAX_SWEEP];   /* tau: the validation sweep */
    int nsweep;
};

enum { TL_NCM_L2, TL_NCM_COSINE };

/* Parses spec_text (--method) for the stage-1 model src. Returns 0, or -1 naming --method and the
 * valid names or keys (or why src does not suit the method: tau and lws need a linear head). */
int tl_stage2_create(tl_stage2 *s, const char *spec_text, const tl_model *src, tl_error *err);
/* Builds *out for batch size N: src's configuration with s->head, src's backbone tensors (parameters
 * and BN statistics) copied, and the head fitted on the features train / val (val may have n = 0;
 * tau without a fixed τ needs it). The caller owns *out (tl_model_free). */
int tl_stage2_run(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                  const int64_t *count, const tl_stage2_cfg *cfg, int N, tl_error *err);
/* Writes the JSON object stored under "stage2" in report.json: method, head, the τ sweep, ... */
void tl_stage2_write_json(FILE *f, const tl_stage2 *s, const char *from_run, const tl_stage2_cfg *cfg);
/* Writes the "Stage 2" section of report.md (the same facts as text and a table of the τ sweep). */
void tl_stage2_write_md(FILE *f, const tl_stage2 *s, const char *from_run, const tl_stage2_cfg *cfg);

/* ---- features.c ----
 * out (c = D, h = w = 1, labels copied) = the features of every row of d through m's backbone in
 * evaluation mode, images normalised with mean/std, no augmentation. The caller owns out. */
int tl_stage2_features(tl_dataset *out, tl_model *m, const tl_dataset *d, const float *mean, const float *std,
                       tl_error *err);
/* Initialises *fm, a head-only model on features [N, D] (an mlp without hidden layers) with head
 * spec `head`, for training a stage-2 head with the trainer. */
int tl_stage2_feature_model(tl_model *fm, int D, int C, const char *head, int N, int nthreads, uint64_t seed,
                            tl_error *err);
/* Trains fm's head on the features with CE, cfg's sampler/optimizer/schedule and `epochs`
 * epochs; validation (val, may have n = 0) after each epoch goes to cfg->hooks. */
int tl_stage2_train_head(tl_model *fm, const tl_dataset *train, const tl_dataset *val, const int64_t *count,
                         const tl_stage2_cfg *cfg, int epochs, tl_error *err);

/* ---- ncm.c (methods.md §8.2, transform cl2n) ----
 * fbar [D] = mean of the training features; centroids [C, D] = per-class mean of
 * g(f) = (f − f̄)/max(‖f − f̄‖, 1e-12). Sums in double. Fails when a class has no row. */
int tl_ncm_fit(float *fbar, float *centroids, const float *feat, const int *y, int n, int D, int C, tl_error *err);
/* scores [n, C]: l2: −max(‖g‖² + ‖μ_c‖² − 2 g·μ_c, 0); cosine: g·μ_c/max(‖μ_c‖, 1e-12). */
void tl_ncm_scores(float *scores, const float *feat, const float *fbar, const float *centroids, int n, int D, int C,
                   int metric);

/* ---- tau_norm.c (methods.md §8.3) ----
 * out [C, D] = w_c/‖w_c‖^τ (a zero row stays zero). */
void tl_tau_norm_weights(float *out, const float *w, int C, int D, double tau);
/* The τ in {0, 0.1, ..., 2.0} whose logits feat·ŵᵀ (no bias) give the highest balanced accuracy on
 * (feat [n, D], y), the smallest on ties; fills sweep[21]. NAN when out of memory. */
double tl_tau_norm_sweep(tl_stage2_point *sweep, const float *w, const float *feat, const int *y, int n, int D, int C);
/* Replaces m's linear head by its τ-normalised weights and a zero bias. Returns -1 when m's head
 * is not linear. */
int tl_tau_norm_apply(tl_model *m, double tau, tl_error *err);

/* ---- plot.c ----
 * weight_norms.png: per-class norms norms[s][C] of nseries classifiers (labels[s]) against the classes
 * ordered by training count. Returns 0, or -1 naming path. */
int tl_stage2_plot_norms(const char *path, const float *const *norms, const char *const *labels, int nseries,
                         const int64_t *count, int C, const char *title, tl_error *err);
/* out[c] = ‖w_c‖ (rows of w [C, D]), in double. */
void tl_stage2_row_norms(float *out, const float *w, int C, int D);

/* The table (stage2.c). */
extern const tl_stage2_ops tl_stage2_crt, tl_stage2_ncm, tl_stage2_tau, tl_stage2_lws;

#endif
