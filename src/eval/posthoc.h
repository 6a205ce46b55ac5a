/* Inference rules (tailor eval --posthoc NAME[:key=value]): a change of the logits between the model
 * and argmax/softmax, chosen after training. One table of named kinds:
 *   logit-adjust[:tau=T]   z_c - log(π_c^T + 1e-12), π = training class prior (docs/methods.md §3.7);
 *                          tau=auto picks T on a validation set (tl_posthoc_choose_tau).
 *   tde[:alpha=A]          causal heads only: TDE inference with strength A (docs/methods.md §9.3; without
 *                          alpha, the head's own); alpha=0 gives the plain training logits;
 *                          alpha=auto picks A on a validation set (tl_posthoc_choose_alpha).
 *   tau-norm[:tau=T]       linear heads only: weights w_c/‖w_c‖^T, bias dropped (docs/methods.md §8.3;
 *                          default T = 1; tailor retrain --method tau chooses T on validation).
 *   sla[:infer=agg]        sla heads only (docs/methods.md §11.2-11.3): the class logits aggregated over
 *                          the 4 rotations (agg), the unrotated image's own columns (single), or the
 *                          distilled head (sd, models trained with sla:sd=1).
 * tde, tau-norm and sla change the model itself (tl_posthoc_bind), not the logits. */
#ifndef TL_EVAL_POSTHOC_H
#define TL_EVAL_POSTHOC_H
#include <stdint.h>
#include "data/dataset.h"
#include "spec/spec.h"
#include "tailor.h"

#define TL_POSTHOC_SWEEP 31   /* tau: 0, 0.1, ..., 2; alpha: 0, 0.1, ..., 3 */

struct tl_model;
typedef struct tl_posthoc tl_posthoc;

/* One inference rule: an entry of the table in posthoc.c. */
typedef struct {
    const char *name;
    const char *keys;       /* its keys with their defaults, as NAME:keys takes them ("" when none) */
    const char *help;       /* one line, for --help and docs/cli.md */
    /* Reads the rule's keys from spec into p (p->C and p->count are set; p->adjust and p->scratch are
     * [C] and [2C], zeroed) and writes p->text. Returns 0, or -1 naming --posthoc. */
    int (*create)(tl_posthoc *p, tl_spec *spec, tl_error *err);
    /* Optional: the change of the model itself (tl_posthoc_bind); NULL when the rule only shifts the logits. */
    int (*bind)(const tl_posthoc *p, struct tl_model *m, tl_error *err);
} tl_posthoc_ops;

struct tl_posthoc {
    const tl_posthoc_ops *ops;
    int C;
    double tau;             /* logit-adjust, tau-norm: the τ in use (NAN while tau=auto is unresolved) */
    double alpha;           /* tde: the α to set (NAN: keep the head's) */
    int infer;              /* sla: TL_SLA_* (heads/sla.h) */
    int tau_auto;           /* 1 when tau=auto was asked for */
    int alpha_auto;         /* 1 when alpha=auto was asked for */
    int nsweep;             /* tau=auto, alpha=auto: the values tried and their validation balanced accuracy */
    double sweep_value[TL_POSTHOC_SWEEP], sweep_bal[TL_POSTHOC_SWEEP];
    const int64_t *count;   /* [C] training counts (borrowed) */
    double *adjust;         /* [C] what is subtracted from the logits (zero for the rules that bind) */
    int64_t *scratch;       /* [2C] */
    char text[96];          /* the resolved rule, e.g. "logit-adjust:tau=0.7", for reports */
};

/* The table, in the order --help lists it: *n gets its length. */
const tl_posthoc_ops *const *tl_posthoc_table(int *n);

/* Parses spec_text for C classes with training counts count[C] (borrowed). Returns 0, or -1 naming
 * --posthoc and the valid names or keys. A class with no training images is an error (log 0). */
int tl_posthoc_create(tl_posthoc *p, const char *spec_text, const int64_t *count, int C, tl_error *err);
/* Sets τ (resolving tau=auto) and recomputes the adjustment. */
void tl_posthoc_set_tau(tl_posthoc *p, double tau);
/* Applies a rule that changes the model (tde: sets the causal head's α; tau-norm: normalises the
 * linear head's weights in place and zeroes its bias; sla: sets the head's inference); nothing for
 * logit-adjust. Returns 0, or -1
 * when the model's head does not suit the rule. Call once, before predicting. */
int tl_posthoc_bind(const tl_posthoc *p, struct tl_model *m, tl_error *err);
/* logits[n, C] -= adjust, in place (no change for tde and tau-norm). Requires a resolved τ. */
void tl_posthoc_apply(const tl_posthoc *p, float *logits, int n);
/* The τ in {0, 0.1, ..., 2.0} with the highest balanced accuracy of argmax(z - a(τ)) on the
 * validation logits [n, C] and labels y (the smallest τ on ties); *best_bal gets that accuracy.
 * The sweep is left in p->sweep_*. */
double tl_posthoc_choose_tau(tl_posthoc *p, const float *logits, const int *y, int n, double *best_bal);
/* tde:alpha=auto: predicts the validation set val with the causal head's α = 0, 0.1, ..., 3 and sets
 * p->alpha to the α with the highest balanced accuracy (the smallest on ties); *best_bal gets it.
 * The sweep is left in p->sweep_*. Returns 0, or -1 when m's head is not causal or prediction fails. */
int tl_posthoc_choose_alpha(tl_posthoc *p, struct tl_model *m, const tl_dataset *val, const float *mean,
                            const float *std, double *best_bal, tl_error *err);
/* The sweep as text for a report, e.g. "tau 0:0.8123 0.1:0.8207 ..." (empty when there was none). */
void tl_posthoc_sweep_text(const tl_posthoc *p, char *buf, size_t cap);
void tl_posthoc_free(tl_posthoc *p);

#endif
