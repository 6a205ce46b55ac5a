/* A network is a static list of ops over numbered activation buffers, built once for a batch size.
 * Forward runs the list in order; backward runs it in reverse, each op adding into the gradients
 * of its inputs (src/nn conventions). Parameters, their gradients and the non-trained state (BN
 * running statistics) each live in one flat block owned by the model (src/models/model.h); an op
 * holds offsets into those blocks, so a parameter group (say, only the head) is a range.
 *
 * Memory plan (tl_net_alloc). Time runs: caller writes the input, forward op 0..n-1, the caller's
 * head, backward op n-1..0, caller reads the input gradient. Every tensor is one interval of that
 * time: an activation from its forward write to its last forward read, extended to its last
 * backward read when backward needs its values ("kept"); a BN output that backward needs is not
 * kept but recomputed from the BN input and saved statistics just before its first backward reader
 * (its own interval there); with recompute_conv, so is a conv output at least half the size of the
 * largest activation whose input is kept (one more conv forward per such layer in backward: for
 * resnet32 at batch 128, the stem and 9 block conv1 outputs of stages 1 and 2: 63 MB less for ~8% of a
 * step); a gradient from its first backward write to its producer's backward.
 * Intervals are packed into one slab by offset (largest first, lowest free offset), so tensors that
 * are never live together share memory; each gradient is zeroed when it becomes live. The input,
 * the output (features) and their gradients live throughout. Consequences: intermediate
 * activations are valid only while live (after forward, only kept ones and the output), and every
 * backward must follow its own forward.
 *
 * Inference (net->inference, for evaluation and prediction): the same packing with forward times
 * only: no gradients, nothing kept or recomputed for backward, each activation from its write to its
 * last forward read, so a layer's output reuses the memory of activations already dead (the slab is
 * a few activations, not the whole network's). The forward computes what a training plan's computes,
 * bit for bit; tl_net_backward fails on such a net.
 *
 * Layout (tl_net_alloc). A buffer whose every reader and writer can work on oneDNN's blocked layout
 * nChw16c (conv, fused BN, option-A shortcut, max pooling, and global pooling as a reader) and whose channels are
 * a multiple of 16 is kept blocked, activation and gradient alike: the convolutions then read and
 * write the slab directly, with no reorder and no blocked copy of their input. The input and the
 * output (features) are always plain NCHW. */
#ifndef TL_MODELS_NET_H
#define TL_MODELS_NET_H
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/rng.h"
#include "nn/nn.h"
#include "tailor.h"

typedef enum {
    TL_OP_CONV, TL_OP_BN, TL_OP_AVGPOOL, TL_OP_MAXPOOL, TL_OP_GAP,
    TL_OP_LINEAR, TL_OP_SHORTCUT_A, TL_OP_DROPOUT, TL_OP_NKINDS
} tl_op_kind;

#define TL_NONE ((size_t)-1)
#define TL_NET_PROF_SIZE (2 * TL_OP_NKINDS + 1)

typedef struct {
    tl_op_kind kind;
    int in, in2, out;            /* activation buffer ids; in2: BN's residual (added before the ReLU) or -1 */
    size_t w, b;                 /* parameter offsets: conv/linear weight and bias, BN gamma and beta */
    size_t run_mean, run_var;    /* state offsets (BN) */
    int k, stride, pad;          /* conv / pool geometry */
    int groups;                  /* conv: groups (0 or 1: an ordinary convolution) */
    float eps, momentum, p;      /* BN eps and momentum; dropout probability */
    int mc;                      /* dropout stays on at inference (Monte-Carlo dropout) */
    int relu;                    /* BN: ReLU after the normalisation (and residual) */
    int frozen;                  /* tl_net_freeze: no parameter gradients; BN in evaluation mode */
    tl_conv2d *conv;             /* conv plan */
    float *save_mean, *save_invstd, *mask; /* per-batch scratch (BN statistics, dropout mask) */
    int32_t *argmax;             /* max-pool winners */
} tl_op;

typedef struct { int c, h, w; } tl_chw;

/* Bytes of the memory plan, for reports and benchmarks. */
typedef struct {
    size_t kept;                 /* activations backward reads (incl. input and output) */
    size_t transient;            /* activations only the forward pass reads */
    size_t recomputed;           /* BN outputs recomputed for backward */
    size_t grads;                /* activation gradients */
    size_t slab;                 /* the planned slab holding all of the above */
    size_t scratch;              /* per-op arrays: BN statistics, max-pool winners, dropout masks */
    size_t conv_work;            /* the conv plans' shared work area (nn.h tl_conv2d_share_work) */
} tl_net_memory;

typedef struct {
    int nops, cap_ops;
    tl_op *ops;
    int nbufs, cap_bufs;
    tl_chw *shape;               /* per buffer, without the batch dimension */
    float **act, **grad;         /* per buffer, N·c·h·w floats each, in the slab */
    float **rec;                 /* per buffer: where backward finds a recomputed BN output, else NULL */
    unsigned char *blocked;      /* per buffer: activation and gradient in nChw16c (see Layout above) */
    int plain_only;              /* set before tl_net_alloc: keep every buffer plain (tests compare) */
    int recompute_conv;          /* set before tl_net_alloc: recompute the largest conv outputs (see above)
                                  * where that makes the slab smaller; cleared by tl_net_alloc otherwise */
    int inference;               /* set before tl_net_alloc: plan for forward only (Inference above) */
    int *gstart;                 /* per buffer: time its gradient becomes live (zeroed then) */
    int *rstart;                 /* per buffer: time its recomputation runs (rec != NULL) */
    int N;                       /* batch size the net is built for */
    int slice, slices;           /* data-parallel training: this net's rows are slice `slice` of a global
                                  * batch of slices·N (dropout skips the other slices' draws); 0 of 1 */
    int first_trainable;         /* ops before it train nothing (tl_net_freeze): backward stops there */
    int nthreads;
    int check_finite, first_bad; /* tl_net_first_nonfinite */
    float *slab;
    void *conv_work;             /* shared by every conv plan */
    tl_net_memory mem;
    double *prof;                /* optional, set by the caller: seconds added up per op kind, [kind]
                                  * forward, [TL_OP_NKINDS + kind] backward, [2·TL_OP_NKINDS] zeroing
                                  * gradients and recomputing BN outputs (TL_NET_PROF_SIZE doubles) */
    tl_arena arena;
} tl_net;

static inline size_t tl_chw_size(tl_chw s) { return (size_t)s.c * s.h * s.w; }

/* Adds an input buffer of the given shape; returns its id. */
int tl_net_input(tl_net *net, tl_chw shape);
/* Appends an op; `out_shape` is its output shape. Returns the output buffer id, or -1 when out of
 * memory. */
int tl_net_push(tl_net *net, const tl_op *op, tl_chw out_shape);
/* Plans and allocates activations, gradients and per-op scratch for batch size N (the last op's
 * output is the net's output) and creates conv plans. Returns 0 or -1 (out of memory). */
int tl_net_alloc(tl_net *net, int N, int nthreads);
void tl_net_free(tl_net *net);

/* Forward of every op. train: BN uses batch statistics (and updates running ones), dropout is on;
 * otherwise BN uses running statistics and only Monte-Carlo dropout stays on. Returns 0, or -1
 * naming the op when a convolution's oneDNN call fails. */
int tl_net_forward(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng, tl_error *err);
/* Diagnosis after a non-finite loss: re-runs the forward checking each op's output as it is made
 * (outputs are not all kept, see the memory plan) and returns the first op whose output holds a
 * NaN or Inf, or -1 (also when the forward fails). Training-mode BN statistics are updated again,
 * so use it only to report. */
int tl_net_first_nonfinite(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng);
/* Backward of every op in reverse (after a training-mode forward, or an evaluation-mode forward when
 * train == 0, for input gradients through a frozen net). Reads the output's gradient (zeroed by
 * tl_net_zero_grad, then filled by the caller); every other gradient is zeroed here when it becomes
 * live. The input's gradient is computed (into grad[0], zeroed first) only when need_input_grad.
 * grads == NULL skips every parameter gradient (an input gradient through a frozen net). Returns 0,
 * or -1 naming the op when a convolution's oneDNN call fails. */
int tl_net_backward(tl_net *net, const float *params, float *grads, const float *state, int train,
                    int need_input_grad, tl_error *err);
/* Freezes every op whose parameters lie in params [0, end) (a backbone's leading layers: --freeze):
 * its parameter gradients are skipped and a BN op normalises with its running statistics and leaves
 * them alone in training too, so the frozen layers stay bitwise unchanged. Backward then stops
 * before the first op that trains, unless the input's gradient is wanted. */
void tl_net_freeze(tl_net *net, size_t end);
/* Clears the output's gradient (the caller accumulates into it before backward). */
void tl_net_zero_grad(tl_net *net);

#endif
