/* The training loop: epochs of (sampler order -> loader batches -> forward -> loss -> backward ->
 * optimizer step), a NaN trap, per-epoch validation, and crash-safe checkpoints that resume to the
 * same result as an uninterrupted run (every random stream is derived from the seed, the epoch and
 * the step, never from how far a previous process got). */
#ifndef TL_TRAIN_TRAINER_H
#define TL_TRAIN_TRAINER_H
#include <signal.h>
#include <stdint.h>
#include "data/dataset.h"
#include "eval/epoch_log.h"
#include "losses/loss.h"
#include "models/model.h"
#include "samplers/sampler.h"
#include "train/hook.h"
#include "train/optim.h"
#include "train/schedule.h"

typedef struct {
    int epochs, batch, threads;
    uint64_t seed;
    tl_optim_cfg optim;
    tl_schedule sched;
    tl_transform aug;          /* the training transform (--augment) */
    int workers;               /* loader threads (--workers) */
    int normalize;             /* TL_NORMALIZE_*: the input normalisation */
    tl_param_group groups[3];   /* parameter groups (train/optim.h: --freeze, --backbone-lr-mult); */
    int ngroups;                /* 0: one group over every parameter */
} tl_train_cfg;
/* --normalize: the training view's own per-channel mean and std, or ImageNet's (pretrained backbones). */
enum { TL_NORMALIZE_DATA, TL_NORMALIZE_IMAGENET };

/* Where training stands; saved in every checkpoint. */
typedef struct {
    int epoch, step;        /* the next step to run */
    long opt_steps;         /* optimizer steps taken (Adam bias correction) */
    long long bn_steps;     /* training forwards (BatchNorm's num_batches_tracked) */
    double seconds;         /* training wall time so far */
    double loss_sum, correct; /* running sums of the current epoch */
    long seen;
} tl_train_progress;

typedef struct {
    int epoch, step, steps;
    double loss, images_per_second, lr;
} tl_step_info;

typedef struct {
    void (*on_step)(void *ctx, const tl_step_info *s);
    /* Called after each epoch with its log; a non-zero return stops training with that error. */
    int (*on_epoch)(void *ctx, const tl_epoch_log *e, tl_error *err);
    volatile sig_atomic_t *stop;   /* set (e.g. by SIGINT) to stop after the current step */
    void *ctx;
} tl_train_hooks;

typedef struct {
    tl_model *model;
    tl_loss *loss;             /* borrowed */
    tl_sampler *sampler;       /* borrowed */
    tl_train_cfg cfg;
    tl_train_progress prog;
    float *opt_state;
    float *mean, *std;         /* [in_c] per-channel (per-feature) normalisation of the training view */
    tl_hook *hooks;            /* borrowed; set after tl_trainer_init (train/hook.h) */
    int nhooks;
} tl_trainer;

/* Prepares a trainer for an initialised model, a loss and a sampler (all borrowed; optimizer state
 * zeroed; normalisation statistics computed on train). */
int tl_trainer_init(tl_trainer *t, tl_model *m, tl_loss *loss, tl_sampler *sampler, const tl_train_cfg *cfg,
                    const tl_dataset *train, tl_error *err);
void tl_trainer_free(tl_trainer *t);

/* Trains until cfg.epochs are done or *hooks->stop is set. val may be NULL. A checkpoint is
 * written to ckpt_path after every epoch and when stopped (ckpt_path NULL: none, training in memory). Returns 0 when finished, 1 when stopped
 * (resumable), -1 on error (the last good checkpoint is kept). */
int tl_trainer_run(tl_trainer *t, const tl_dataset *train, const tl_dataset *val, const char *ckpt_path,
                   const tl_train_hooks *hooks, tl_error *err);

/* Checkpoint = model tensors + optimizer state + progress + normalisation, in one safetensors file. */
int tl_trainer_save(const tl_trainer *t, const char *path, tl_error *err);
int tl_trainer_load(tl_trainer *t, const char *path, tl_error *err);

/* An evaluation-mode pass over rows idx[0..n) of d (all rows in order when idx is NULL), in batches
 * of the model's size, normalised with mean/std, no augmentation. After each batch's forward
 * (backbone only when head == 0, else backbone and head), visit(ctx, m, got, done) sees the model
 * (features [got·views, D], logits [got, C]) for rows done..done+got-1; a non-zero return stops the pass with that value.
 * A short last batch runs padded: evaluation-mode layers treat rows independently. */
int tl_eval_pass(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                 int head, int (*visit)(void *ctx, tl_model *m, int got, int done), void *ctx, tl_error *err);

/* One output of a shared pass: rows of row_bytes bytes that visit fills at row `done` on (buf NULL:
 * none). */
typedef struct { void *buf; size_t row_bytes; } tl_eval_out;
/* tl_eval_pass shared by the ranks of an MPI job (every rank calls it): each rank passes its
 * contiguous share of the rows, in whole batches of the model's size, so every batch is the one a
 * single process runs and each row comes out with the same bits; visit sees row numbers of the whole
 * pass; then the rows of outs[0..nouts) are gathered, so every rank holds all of them in order. With
 * one rank it is tl_eval_pass. */
int tl_eval_pass_shared(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                        int head, int (*visit)(void *ctx, tl_model *m, int got, int done), void *ctx,
                        const tl_eval_out *outs, int nouts, tl_error *err);

/* Backbone features [n, D] (evaluation mode) of rows idx[0..n) of d (every row when idx is NULL);
 * for a model with views > 1 (SLA), the features of each image as given (rotation 0). */
int tl_eval_features(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                     float *out, tl_error *err);

/* Evaluation-mode prediction over a whole data set: logits and probs [n, C] (each may be NULL) and
 * pred [n]. Images are normalised with mean/std; no augmentation. */
int tl_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, float *logits, float *probs,
               int *pred, tl_error *err);

#endif
