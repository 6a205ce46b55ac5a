/* Heads: features [N, D] -> logits [N, C]. One table of named kinds (--head NAME[:key=value,...]),
 * each with the same verbs. A head registers its tensors in the model's flat parameter block under
 * "head.*" (group TL_GROUP_HEAD), so optimizers, checkpoints and stage-2 retraining treat every
 * head alike; non-trained head state (class margins, centre buffers) is registered with is_state
 * and lives in the model's state block, so checkpoints carry it too. Margin heads change the target
 * logit during training only: labels are passed to forward in training and NULL at inference, where
 * every margin head gives its plain logits (s·cos, ‖x‖·cos, or the affinity similarities). */
#ifndef TL_HEADS_HEAD_H
#define TL_HEADS_HEAD_H
#include <stddef.h>
#include <stdint.h>
#include "spec/spec.h"
#include "tailor.h"

struct tl_model;
struct tl_loss;
typedef struct tl_head tl_head;

/* What the trainer tells a head at the start of each epoch. */
typedef struct {
    int epoch, epochs;
    int step;                     /* the step the epoch starts at (> 0 when resuming mid-epoch) */
    long long forwards;           /* training forwards so far (the trainer's bn_steps) */
    const void *train;            /* the training set (const tl_dataset *), unaugmented */
    const float *mean, *std;      /* its input normalisation [in_c] */
    uint64_t seed;
} tl_head_epoch;

typedef struct {
    const char *name;
    /* The option that chooses this head when it is not --head, named in its messages (sla: --ssl). */
    const char *option;
    /* Reads its keys from spec (tl_spec getters), registers its tensors with tl_model_add_tensor,
     * allocates any per-batch scratch for batch size m->N in h->priv. */
    int (*create)(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err);
    /* logits [N, C] from feat [N, D]. labels: the batch labels in training, NULL at inference. */
    void (*forward)(tl_head *h, float *logits, const float *feat, const int *labels, const float *params);
    /* Accumulates dfeat [N, D] and the head's parameter gradients (in grads, same offsets as params)
     * from dlogits, after a forward with the same arguments. */
    void (*backward)(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                     const int *labels, const float *params);
    void (*destroy)(tl_head *h);
    /* Optional hooks; NULL when a head has no use for them. */
    /* A head whose training objective is not a softmax loss on its outputs (affinity: the max-margin
     * hinge on similarities) computes it here after a training forward, writing dlogits [N, C] and
     * returning the batch loss; the trainer then uses it instead of --loss. */
    double (*loss)(tl_head *h, float *dlogits, const float *logits, const int *labels);
    /* Loss terms of the head beyond the loss on its logits (RPL's open-space loss, GCPL's prototype
     * loss, affinity's diversity regulariser, UniformFace's uniform loss, AdaptiveFace's margin term),
     * after a training forward with the same arguments: returns the extra loss and accumulates its
     * gradients into dfeat [N, D] and grads (a head may instead keep a feature gradient and add it in
     * backward, which is called next). */
    double (*regularizer)(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                          const float *params);
    /* The known-ness score [N] of open-set recognition, higher = more likely a known class, after an
     * inference forward that gave logits (NULL = the maximum softmax probability). */
    void (*unknown_score)(tl_head *h, float *score, const float *logits, const float *feat, const float *params);
    /* After each optimizer step: projections and buffer updates (AdaptiveFace clamps its margins to
     * [0, 1]; UniformFace moves its centre buffer). */
    void (*step_end)(tl_head *h, float *params, float *state);
    /* At the start of each training epoch (uncertainty: Monte-Carlo refresh of the class margins).
     * Returns 0 or -1 with err set. */
    int (*epoch_begin)(tl_head *h, const tl_head_epoch *e, tl_error *err);
    /* A head over a joint label space (class, input transformation) — SLA's rotations — sees each image
     * as h->views transformed copies (set in create; 1 for every other head): the model's backbone
     * then runs on N·views rows, feat is [N·views, D], and before each backbone forward this fills
     * the backbone input rows [n·views, c, height, width] from the n images [n, c, height, width]. */
    void (*expand)(tl_head *h, float *rows, const float *images, int n, int c, int height, int width);
    /* Documentation, rendered by tl_methods_list (--help, docs/cli.md): the keys with their defaults
     * as NAME:keys takes them (a|b: a choice, the first the default; "" when none), one line of help. */
    const char *keys;
    const char *help;
} tl_head_ops;

struct tl_head {
    const tl_head_ops *ops;
    int N, D, C, nthreads;
    double scale;       /* s of normalised heads (logits = s·cos), 1 for linear; losses such as LDAM read it */
    int normalized;     /* 1 when logits are s·cosines */
    int views;          /* backbone rows per image (ops->expand); 1 unless the head sets it in create */
    float *state;       /* the model's state block (non-trained tensors a head registered with is_state,
                         * such as the causal head's moving average); set by tl_model_init */
    long long forwards; /* training forwards so far, counted by the heads that anneal (L-Softmax's λ) */
    struct tl_model *model; /* the owning model (its address is stable while the head lives): state access */
    void *priv;
};

/* The three head tables: the heads of --head (TL_HEADS_USER), of --ssl (sla), and the fixed heads of
 * stage 2 (ncm, lws). tl_head_table gives one (*n its length, in the order --help lists it);
 * tl_head_find the entry of that table named name, or NULL. */
enum { TL_HEADS_USER, TL_HEADS_SSL, TL_HEADS_STAGE2 };
const tl_head_ops *const *tl_head_table(int which, int *n);
const tl_head_ops *tl_head_find(int which, const char *name);
/* Checks that spec_text is a well-formed spec naming a --head head (its keys are checked when the head
 * is created). Returns 0, or -1 with "--head: unknown name 'ncm' (valid: linear, cosine, ...)". */
int tl_head_check(const char *spec_text, tl_error *err);
/* Creates the head named by spec_text ("linear", "cosine:s=30", "sla:sd=1", "ncm:metric=l2", ...:
 * any of the three tables, since a model file may hold any) for model m (its N, feat_dim,
 * num_classes). Returns 0, or -1 naming --head (--ssl for sla) and listing the valid names or keys. */
int tl_head_create(tl_head *h, const char *spec_text, struct tl_model *m, tl_error *err);
void tl_head_destroy(tl_head *h);
/* The head's extra loss (0 when it has none), gradients accumulated as by ops->regularizer. */
double tl_head_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                           const float *params);
/* score[N]: ops->unknown_score, or max_k softmax(logits)_k (the maximum-softmax-probability baseline). */
void tl_head_unknown_score(tl_head *h, float *score, const float *logits, const float *feat, const float *params);
/* score[i] = max_k softmax(logits_i)_k = 1/Σ_j exp(z_ij − max_k z_ik), for N rows of C logits. */
void tl_head_max_softmax(float *score, const float *logits, int N, int C);
/* score[i] = max_k logits[i,k]. */
void tl_head_max_logit(float *score, const float *logits, int N, int C);

/* The training objective of one batch after a training forward: the head's own loss when it has one,
 * else --loss on its logits (tl_loss_compute), plus the head's regulariser. Writes dlogits,
 * accumulates regulariser gradients into dfeat and grads, returns the total. */
double tl_head_train_loss(tl_head *h, struct tl_loss *loss, float *dlogits, const float *logits, const int *y,
                          float *dfeat, float *grads, const float *feat, const float *params);
/* The optional hooks, no-ops for heads without them. tl_head_epoch_begin also sets h->forwards. */
int tl_head_epoch_begin(tl_head *h, const tl_head_epoch *e, tl_error *err);
void tl_head_step_end(tl_head *h, float *params, float *state);

/* The heads (tables in src/heads/head.c). ncm and lws are the fixed heads of stage 2 (src/stage2). */
extern const tl_head_ops tl_head_linear, tl_head_cosine, tl_head_cosface, tl_head_arcface, tl_head_combined,
    tl_head_lsoftmax, tl_head_sphereface, tl_head_affinity, tl_head_uniformface, tl_head_adaptiveface,
    tl_head_uncertainty, tl_head_rpl, tl_head_gcpl, tl_head_causal, tl_head_sla, tl_head_ncm, tl_head_lws;

/* Sets the TDE strength α used by a causal head's inference forward (docs/methods.md §9.3). Returns 0,
 * or -1 when h is not a causal head. */
int tl_causal_set_alpha(tl_head *h, double alpha, tl_error *err);

#endif
