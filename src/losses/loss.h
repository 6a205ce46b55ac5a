/* Losses: logits [N, C] and labels -> a scalar and dlogits. One table of named kinds
 * (--loss NAME[:key=value,...]), each with the same verbs. Every loss also takes the shared class
 * weight keys, handled here once (methods.md §3.1, §3.6):
 *   weights=none|inverse|sqrt-inverse|effective   beta=0.9999 (effective number)   drw=EPOCH
 * With drw=E the weights are off (all 1) before epoch E and on from E (deferred re-weighting). */
#ifndef TL_LOSSES_LOSS_H
#define TL_LOSSES_LOSS_H
#include <stdint.h>
#include "heads/head.h"
#include "spec/spec.h"
#include "tailor.h"

enum { TL_WEIGHTS_NONE, TL_WEIGHTS_INVERSE, TL_WEIGHTS_SQRT_INVERSE, TL_WEIGHTS_EFFECTIVE };

typedef struct tl_loss tl_loss;

typedef struct {
    const char *name;
    /* Reads its own keys from spec; may allocate l->priv. */
    int (*create)(tl_loss *l, tl_spec *spec, tl_error *err);
    /* Writes dlogits [N, C] (written, not accumulated: a loss starts the backward chain) and returns
     * the loss. w: this epoch's class weights [C], or NULL when weighting is off. */
    double (*compute)(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w);
    void (*destroy)(tl_loss *l);
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
    void *priv;
};

/* Creates the loss named by spec_text for C classes with training counts count[C] (borrowed, must
 * outlive the loss). Returns 0, or -1 naming --loss and the valid names or keys. */
int tl_loss_create(tl_loss *l, const char *spec_text, int C, const int64_t *count, const tl_head *head, tl_error *err);
/* Switches the class weights on or off for this epoch (DRW). */
void tl_loss_epoch(tl_loss *l, int epoch);
double tl_loss_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N);
void tl_loss_destroy(tl_loss *l);

/* Class-weight vectors normalised to sum to C (methods.md §3.1): inverse 1/n, sqrt-inverse 1/sqrt(n),
 * effective (1-β)/(1-β^n) with 1-β^n = -expm1(n log β). TL_WEIGHTS_NONE gives all ones. */
void tl_class_weights(double *w, const int64_t *count, int C, int kind, double beta);

extern const tl_loss_ops tl_loss_ce;

#endif
