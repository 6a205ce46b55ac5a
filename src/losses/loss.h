/* Losses: logits [N, C] and labels -> a scalar and dlogits. One table of named kinds
 * (--loss NAME[:key=value,...]), each with the same verbs. Every loss also takes the shared class
 * weight keys, handled here once (docs/methods.md §3.1, §3.6):
 *   weights=none|inverse|sqrt-inverse|effective   beta=0.9999 (effective number)   drw=EPOCH
 * With drw=E the weights are off (all 1) before epoch E and on from E (deferred re-weighting).
 *
 *   ce                      softmax CE, PyTorch weighted mean (§3.2)
 *   sigmoid[:gamma=0]       sigmoid CE, or sigmoid focal with gamma > 0 (Cui et al., §3.4), sum / N
 *   focal[:gamma=1]         softmax focal (§3.3), per-sample weighted mean; variant=ldam: LDAM-DRW's form
 *   ldam[:max_m=0.5,s=]     LDAM margins on a cosine head (§3.6), weighted mean
 *   logit-adjust[:tau=1]    CE(z + τ log π) (§3.7), weighted mean
 *   balanced-softmax        CE(z + log n) (§3.8), weighted mean */
#ifndef TL_LOSSES_LOSS_H
#define TL_LOSSES_LOSS_H
#include <stdint.h>
#include "heads/head.h"
#include "spec/spec.h"
#include "tailor.h"

enum { TL_WEIGHTS_NONE, TL_WEIGHTS_INVERSE, TL_WEIGHTS_SQRT_INVERSE, TL_WEIGHTS_EFFECTIVE };

typedef struct tl_loss tl_loss;
struct tl_model;

typedef struct {
    const char *name;
    /* Reads its own keys from spec; may allocate l->priv. */
    int (*create)(tl_loss *l, tl_spec *spec, tl_error *err);
    /* Writes dlogits [N, C] (written, not accumulated: a loss starts the backward chain) and returns
     * the loss. w: this epoch's class weights [C], or NULL when weighting is off. */
    double (*compute)(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w);
    void (*destroy)(tl_loss *l);
    /* Optional: what the loss needs from the model. default_head writes into head (size bytes) the
     * head it trains with when --head is left at linear (LDAM: cosine:s=<its s>), reading its keys
     * from spec; initialise adjusts the freshly initialised model (the sigmoid losses' bias). */
    int (*default_head)(tl_spec *spec, char *head, size_t size, tl_error *err);
    void (*initialise)(const tl_loss *l, struct tl_model *m);
    /* Documentation, rendered by tl_methods_list (--help, docs/cli.md): the keys with their defaults
     * as NAME:keys takes them (a|b: a choice, the first the default; "" when none), one line of help. */
    const char *keys;
    const char *help;
} tl_loss_ops;

struct tl_loss {
    const tl_loss_ops *ops;
    int C;
    const int64_t *count;       /* [C] training counts (borrowed) */
    const tl_head *head;        /* the model's head (its scale s, whether it is normalised) */
    int weights;                /* TL_WEIGHTS_* */
    double beta;
    int drw;                    /* first epoch with weights on; 0 = from the start */
    double *w;                  /* [C] */
    int weights_on;
    /* Data-parallel training: the weight sum a weighted mean of this process's rows divides by, the
     * global batch's over the number of processes, so that the processes' mean loss (and gradient)
     * is the global batch's (src/train/trainer.c sets it every step); 0: the batch's own sum. The
     * row-count means (sigmoid, focal) need nothing: every process has the same number of rows. */
    double batch_weight;
    void *priv;
};

/* Creates the loss named by spec_text for C classes with training counts count[C] (borrowed, must
 * outlive the loss). Returns 0, or -1 naming --loss and the valid names or keys. */
int tl_loss_create(tl_loss *l, const char *spec_text, int C, const int64_t *count, const tl_head *head, tl_error *err);
/* The head a model trained with the loss named by loss_text should have, given --head head_text:
 * head_text itself, or the loss's own default head when head_text is the default "linear" (LDAM:
 * "cosine:s=<its s>"). Writes it into out (size bytes). Returns 0, or -1 naming --loss (a malformed
 * or unknown loss, a key out of range, or out too small). Call before creating the model. */
int tl_loss_default_head(const char *loss_text, const char *head_text, char *out, size_t size, tl_error *err);
/* What the loss asks of a freshly initialised model m (the sigmoid losses: a linear head's bias at
 * -log(C-1), so that σ(b) = 1/C, docs/methods.md §3.4); nothing for the other losses. Call after
 * creating the model and the loss, before training (not when resuming: the checkpoint has it). */
void tl_loss_init_model(const tl_loss *l, struct tl_model *m);
/* The table, in the order --help lists it: *n gets its length. */
const tl_loss_ops *const *tl_loss_table(int *n);
/* The keys every loss takes (read in tl_loss_create), documented as the tables document theirs. */
extern const char *const tl_loss_shared_keys;
/* Switches the class weights on or off for this epoch (DRW). */
void tl_loss_epoch(tl_loss *l, int epoch);
double tl_loss_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N);
void tl_loss_destroy(tl_loss *l);

/* Class-weight vectors normalised to sum to C (docs/methods.md §3.1): inverse 1/n, sqrt-inverse 1/sqrt(n),
 * effective (1-β)/(1-β^n) with 1-β^n = -expm1(n log β). TL_WEIGHTS_NONE gives all ones. */
void tl_class_weights(double *w, const int64_t *count, int C, int kind, double beta);

/* Logit adjustment a_c = log(π_c^τ + 1e-12), π_c = n_c / Σn (docs/methods.md §3.7; the 1e-12 of the
 * reference code). Shared by the logit-adjusted loss and the post-hoc rule. */
void tl_logit_adjustment(double *a, const int64_t *count, int C, double tau);

/* LDAM margins Δ_c = max_m · n_c^(-1/4) / max_k n_k^(-1/4) (docs/methods.md §3.6); every count > 0. */
void tl_ldam_margins(double *delta, const int64_t *count, int C, double max_m);

/* Softmax cross-entropy of shifted logits u_ij = z_ij + bias[j] + ybias[y_i]·1[j = y_i] (bias and
 * ybias may be NULL) with PyTorch's reduction: cross_entropy(u, y, weight=w), the weighted mean
 * Σ w_y CE_i / Σ w_y, or the plain mean when w is NULL. wsum > 0 replaces the batch's Σ w_y (the
 * loss's batch_weight); 0 keeps it. Writes dlogits [N, C] = ∂L/∂z. */
double tl_loss_shifted_ce(float *dlogits, const float *logits, const int *y, int N, int C, const double *w,
                          double wsum, const double *bias, const double *ybias);

/* The table (src/losses/loss.c): ce.c, sigmoid.c, focal.c, ldam.c, logit_adjust.c. */
extern const tl_loss_ops tl_loss_ce, tl_loss_sigmoid, tl_loss_focal, tl_loss_ldam, tl_loss_logit_adjust,
    tl_loss_balanced_softmax;

#endif
