/* The run layer's training: from the resolved options of `tailor train` (run/train_opts.c) to a
 * trained model, shared by the command and the public API (tl_train). It builds every part (data
 * view and input, sampler, model, loss with what it needs of the head and the initialisation,
 * parameter groups, trainer, hooks), runs the trainer with the progress callback and cancellation
 * of include/tailor.h, keeps the epoch logs and, when given a path, rewrites metrics.jsonl after
 * every epoch. */
#ifndef TL_RUN_TRAIN_H
#define TL_RUN_TRAIN_H
#include <signal.h>
#include "run/bundle.h"
#include "run/options.h"
#include "train/trainer.h"

/* The table of `tailor train`'s options (train_opts.c). */
extern const tl_optdef tl_train_optdefs[];
extern const int tl_train_noptdefs;
/* The `tailor train` options the run folder DIR was made with (DIR/config.json) into *run, for the
 * commands that read a run's settings. */
int tl_train_settings(tl_opts *run, const char *dir, tl_error *err);
/* Whether argv are `tailor train` options (names known, values present); for tailor study's grid. */
int tl_train_options_check(int argc, char **argv, tl_error *err);

/* The hook options (train/hook.h) a run may name: --synth, --distill. */
#define TL_TRAINING_MAX_HOOKS 2

typedef struct {
    tl_opts *o;                     /* borrowed; resolved values are written back (config.json) */
    tl_data_bundle *data;           /* borrowed */
    tl_model_cfg mcfg;
    tl_train_cfg tcfg;
    tl_model model;
    tl_loss loss;
    tl_sampler sampler;
    tl_trainer tr;
    tl_hook hooks[TL_TRAINING_MAX_HOOKS];
    tl_epoch_log *logs;             /* [nlogs] the epochs trained so far (malloc'ed, capacity cap) */
    int nlogs, cap;
    char metrics_path[4200];        /* "" = metrics.jsonl not written */
    tl_train_fn progress;           /* may be NULL */
    void *user;
    const volatile int *cancel;     /* may be NULL */
    volatile sig_atomic_t stop;     /* set from progress / cancel; the trainer stops after the step */
    char init_note[400];            /* what --init loaded ("" = no --init), for the report */
} tl_training;

/* Resolves t->o into the model and training configurations, writing back into it what defaults
 * resolved to (the transforms, the channels, LDAM's head). load: *data is loaded from the options
 * data, lt, val and open, and must have a test or validation set (the command's final evaluation);
 * else *data is already loaded (the public API). Either way data's input is configured for the run
 * (tl_bundle_input). t is zeroed first; release it with tl_training_free even on failure. */
int tl_training_setup(tl_training *t, tl_opts *o, tl_data_bundle *data, int load, tl_error *err);
/* Builds sampler, model, loss, parameter groups, trainer and hooks; with init set, the model starts
 * from --init's weights (a resumed run with a checkpoint does not). */
int tl_training_build(tl_training *t, int init, tl_error *err);
/* Continues an interrupted run in folder dir: stale temporary files removed, the checkpoint ckpt
 * (when it was written) and metrics.jsonl (t->metrics_path, when there) read back. */
int tl_training_resume(tl_training *t, const char *dir, const char *ckpt, tl_error *err);
/* Trains (checkpoints to ckpt, or none when NULL). Returns 0 when finished, 1 when stopped by the
 * progress callback or cancellation, -1 on error. */
int tl_training_run(tl_training *t, const char *ckpt, tl_error *err);
/* Mean training images per second over the logged epochs. */
double tl_training_images_per_second(const tl_training *t);
void tl_training_free(tl_training *t);

#endif
