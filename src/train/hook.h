/* Training hooks: methods that act around the trainer's step rather than inside the model (design.md,
 * "around training"). One table of named kinds with the same verbs; each kind belongs to one option:
 *
 *   --distill kd[:T=4,alpha=1,task=1]          Hinton distillation from --teacher (docs/methods.md §10.1)
 *   --distill rkd[:distance=1,angle=2,task=1,kd=0,T=4,normalize=0]
 *                                              relational distillation on features (§10.2)
 *   --synth m2m[:beta=,lambda=,gamma=,steps=,eta=,start=]
 *                                              major-to-minor translation with --teacher as g (§12)
 *
 * A step of a trainer with hooks: the loader's batch is copied into the model input; each hook's
 * batch() may rewrite it (M2m); forward; the task loss (head + --loss); each hook's loss() rescales
 * the task gradients and adds its own terms; backward; optimizer step. Hooks keep no state that a
 * checkpoint would need: their random draws come from streams derived from (seed, epoch, step). */
#ifndef TL_TRAIN_HOOK_H
#define TL_TRAIN_HOOK_H
#include <stdint.h>
#include "core/rng.h"
#include "data/dataset.h"
#include "models/model.h"
#include "samplers/sampler.h"
#include "spec/spec.h"
#include "tailor.h"

typedef struct tl_hook tl_hook;

/* What a hook is created against. Everything is borrowed and outlives the hook. */
typedef struct {
    tl_model *model;          /* the student being trained */
    const tl_dataset *train;  /* the training view */
    const int64_t *count;     /* [C] its class counts */
    const float *mean, *std;  /* the student's input normalisation [in_c] */
    const char *teacher;      /* --teacher DIR (a finished run folder), or NULL */
    int epochs, threads;
    uint64_t seed;
} tl_hook_env;

typedef struct {
    const char *name;
    const char *option;       /* the option that names it: "--distill" or "--synth" */
    /* Reads its keys, loads what it needs (the teacher), allocates k->priv. */
    int (*create)(tl_hook *k, tl_spec *spec, const tl_hook_env *env, tl_error *err);
    /* Optional. The sampler for epoch e when the hook replaces --sampler from some epoch on (M2m
     * over-samples from its deferral epoch), else NULL. Its capacity must not exceed k->capacity. */
    tl_sampler *(*sampler)(tl_hook *k, int epoch);
    /* Optional. Before the training forward: may rewrite the batch in place. x: the model input
     * [N, c, h, w] (normalised), y: the labels [N] (a copy the trainer owns). rng: this step's stream.
     * May run the model (evaluation mode); the trainer clears the gradients afterwards. */
    int (*batch)(tl_hook *k, tl_model *m, float *x, int *y, int epoch, tl_rng *rng, tl_error *err);
    /* Optional. After the training forward and the task loss *loss (whose gradients are in m->dlogits
     * and dfeat [N, D]): scales those gradients by the task weight, adds its own, leaves the total in
     * *loss. Allocates nothing (what it needs is made by create). Returns 0, or -1 with a message. */
    int (*loss)(tl_hook *k, tl_model *m, const int *y, double *loss, float *dfeat, tl_error *err);
    /* Optional. After a finished run's model is saved: writes the hook's own files (M2m's counts and
     * sample figure) into the run folder dir. Returns 0, or -1 naming the file. */
    int (*finish)(tl_hook *k, const char *dir, tl_error *err);
    void (*destroy)(tl_hook *k);
    /* Documentation, rendered by tl_methods_list (--help, docs/cli.md): the keys with their defaults
     * as NAME:keys takes them (a|b: a choice, the first the default; "" when none), one line of help. */
    const char *keys;
    const char *help;
} tl_hook_ops;

struct tl_hook {
    const tl_hook_ops *ops;
    int capacity;             /* the longest epoch order its sampler can produce (0: none) */
    void *priv;
};

/* Creates the hook named by spec_text for the option (one of the ops' option names). Returns 0, or
 * -1 naming the option and listing its valid names or keys. */
int tl_hook_create(tl_hook *k, const char *option, const char *spec_text, const tl_hook_env *env, tl_error *err);
void tl_hook_destroy(tl_hook *k);

/* For the hooks that weight the task loss: multiplies m->dlogits, dfeat [N, D] and m->grads (all that
 * the task loss has written so far) by w. */
void tl_hook_scale_task(tl_model *m, float *dfeat, double w);

/* The table (src/transfer/hook.c), every option's kinds together (each names its option): *n gets its length. */
const tl_hook_ops *const *tl_hook_table(int *n);
extern const tl_hook_ops tl_hook_kd, tl_hook_rkd, tl_hook_m2m;

#endif
