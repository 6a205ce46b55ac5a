/* A network is a static list of ops over numbered activation buffers, built once for a batch size.
 * Forward runs the list in order; backward runs it in reverse, each op adding into the gradients
 * of its inputs (src/nn conventions). Parameters, their gradients and the non-trained state (BN
 * running statistics) each live in one flat block owned by the model (src/models/model.h); an op
 * holds offsets into those blocks, so a parameter group (say, only the head) is a range. */
#ifndef TL_MODELS_NET_H
#define TL_MODELS_NET_H
#include <stddef.h>
#include <stdint.h>
#include "core/arena.h"
#include "core/rng.h"
#include "nn/nn.h"

typedef enum {
    TL_OP_CONV, TL_OP_BN, TL_OP_RELU, TL_OP_AVGPOOL, TL_OP_MAXPOOL, TL_OP_GAP,
    TL_OP_LINEAR, TL_OP_ADD, TL_OP_SHORTCUT_A, TL_OP_DROPOUT
} tl_op_kind;

#define TL_NONE ((size_t)-1)

typedef struct {
    tl_op_kind kind;
    int in, in2, out;            /* activation buffer ids (in2: second input of ADD) */
    size_t w, b;                 /* parameter offsets: conv/linear weight and bias, BN gamma and beta */
    size_t run_mean, run_var;    /* state offsets (BN) */
    int k, stride, pad;          /* conv / pool geometry */
    float eps, momentum, p;      /* BN eps and momentum; dropout probability */
    int mc;                      /* dropout stays on at inference (Monte-Carlo dropout) */
    tl_conv2d *conv;             /* conv plan */
    float *save_mean, *save_invstd, *mask; /* per-batch scratch (BN statistics, dropout mask) */
    int32_t *argmax;             /* max-pool winners */
} tl_op;

typedef struct { int c, h, w; } tl_chw;

typedef struct {
    int nops, cap_ops;
    tl_op *ops;
    int nbufs, cap_bufs;
    tl_chw *shape;               /* per buffer, without the batch dimension */
    int *alias;                  /* buffer whose memory this one shares (in-place ReLU), or itself */
    float **act, **grad;         /* per buffer, N·c·h·w floats each (aliases share) */
    int N;                       /* batch size the net is built for */
    int nthreads;
    tl_arena arena;
} tl_net;

static inline size_t tl_chw_size(tl_chw s) { return (size_t)s.c * s.h * s.w; }

/* Adds an input buffer of the given shape; returns its id. */
int tl_net_input(tl_net *net, tl_chw shape);
/* Appends an op; `out_shape` is its output shape. in_place makes the output share the input's
 * memory (only for ops whose backward reads the output, not the input: ReLU). Returns the output
 * buffer id, or -1 when out of memory. */
int tl_net_push(tl_net *net, const tl_op *op, tl_chw out_shape, int in_place);
/* Allocates activations, gradients and per-op scratch for batch size N and creates conv plans.
 * Returns 0 or -1 (out of memory). */
int tl_net_alloc(tl_net *net, int N, int nthreads);
void tl_net_free(tl_net *net);

/* Forward of every op. train: BN uses batch statistics (and updates running ones), dropout is on;
 * otherwise BN uses running statistics and only Monte-Carlo dropout stays on. */
void tl_net_forward(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng);
/* Backward of every op in reverse (after a training-mode forward, or an evaluation-mode forward when
 * train == 0, for input gradients through a frozen net). Gradient buffers must be zero on entry
 * except the output's; the input's gradient is computed only when need_input_grad is set. */
void tl_net_backward(tl_net *net, const float *params, float *grads, const float *state, int train,
                     int need_input_grad);
/* Clears all activation gradients. */
void tl_net_zero_grad(tl_net *net);

#endif
