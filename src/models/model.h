/* A model = a backbone (a tl_net that yields features [N, D]) + a head (features -> logits [N, C]).
 * All trainable parameters of both live in one flat block `params` (gradients in `grads`, same
 * offsets); BN running statistics live in `state`. Each tensor is registered with the name it has
 * in the equivalent PyTorch module's state_dict (docs/interop.md), its shape and its group
 * (backbone or head), so checkpoints, parity tests and parameter groups all use one table. */
#ifndef TL_MODELS_MODEL_H
#define TL_MODELS_MODEL_H
#include <stddef.h>
#include "core/rng.h"
#include "heads/head.h"
#include "models/net.h"
#include "tailor.h"

enum { TL_GROUP_BACKBONE = 0, TL_GROUP_HEAD = 1 };

typedef struct {
    char name[96];
    int ndim, shape[4];
    size_t off, numel;
    int group;       /* TL_GROUP_* */
    int is_state;    /* 1: lives in `state` (BN running statistics), not trained */
    int init;        /* TL_INIT_* */
    int fan_in;
} tl_tensor_info;

/* Initialisers, as PyTorch applies them. */
enum {
    TL_INIT_ZEROS, TL_INIT_ONES,
    TL_INIT_DEFAULT,        /* nn.Conv2d / nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (weights and biases) */
    TL_INIT_KAIMING_NORMAL, /* kaiming_normal_(fan_in, relu): N(0, 2/fan_in) */
    TL_INIT_UNIT_ROWS       /* U(-1, 1), then each row (class vector) scaled to unit norm (LDAM's NormedLinear) */
};

/* What a model is made of; fully describes it, so a saved model can be rebuilt. */
typedef struct {
    char arch[16];          /* "cnn", "resnet32", "mlp", "resnet10/18/34/50", "resnext50" */
    int in_c, in_h, in_w;   /* input shape */
    int num_classes;
    int feat_dim;           /* cnn: D (default 128); resnet32: 64; mlp: last hidden size; the ImageNet
                             * ResNets: 512 or 2048, another value adds a linear projection */
    int zero_init_residual; /* ImageNet ResNets: the last BN weight of each block starts at 0 */
    int hidden[8], nhidden; /* mlp hidden sizes (default 256, 128) */
    float dropout;          /* mlp: dropout probability after each hidden layer (0 = none) */
    char head[128];         /* head spec, e.g. "linear" or "cosine:s=30" (src/heads) */
} tl_model_cfg;

typedef struct tl_model {
    tl_model_cfg cfg;
    tl_net net;             /* the backbone; its last buffer holds the features */
    int feat_buf;
    int N;                  /* batch size (images) */
    int views;              /* backbone rows per image: the head's (SLA: 4 rotations), else 1 */
    float *images;          /* [N, c, h, w] the input images when views > 1 (the head's expand fills
                             * the backbone's input [N·views, c, h, w] from them), else NULL */
    tl_tensor_info *tensors;
    int ntensors, cap_tensors;
    int tensors_oom;        /* tl_model_add_tensor ran out of memory (the builders check push results only) */
    size_t nparams, nstate;
    float *params, *grads, *state;
    tl_head head;
    size_t head_begin;      /* params [head_begin, nparams) belong to the head */
    float *logits, *dlogits; /* [N, C] */
} tl_model;

/* The backbones of --model, one entry each (the builders are cnn.c, resnet32.c, mlp.c, resnet.c). */
typedef struct {
    const char *name;
    const char *keys;   /* as in the other method tables: keys with their defaults ("" when none) */
    const char *help;   /* one line */
} tl_model_arch;
/* The table, in the order --help lists it: *n gets its length. */
const tl_model_arch *tl_model_table(int *n);

/* Fills defaults for an architecture spec (a name, or for the ImageNet ResNets
 * NAME[:zero_init_residual=0|1]); returns -1 for an unknown name or key, or too small an input. */
int tl_model_cfg_default(tl_model_cfg *cfg, const char *arch, int in_c, int in_h, int in_w, int num_classes,
                         tl_error *err);
/* Builds the model for batch size N and initialises its parameters from `seed` (as PyTorch's
 * default initialisers do). nthreads: the kernels' thread count, which also sizes OpenBLAS's pool
 * (process-wide, core/threads.h). Returns 0 or -1. The caller owns the model; free with tl_model_free. */
int tl_model_init(tl_model *m, const tl_model_cfg *cfg, int N, int nthreads, uint64_t seed, tl_error *err);
/* tl_model_init for forward passes only (evaluation, prediction): the backbone's inference plan
 * (net.h), no parameter or logit gradients; the same logits bit for bit, in a fraction of the memory.
 * tl_model_backward and tl_model_input_grad fail on it. */
int tl_model_init_inference(tl_model *m, const tl_model_cfg *cfg, int N, int nthreads, tl_error *err);
void tl_model_free(tl_model *m);

/* --freeze WHAT: the end of the frozen range params [0, end) for `backbone` (all of it), `stem`
 * (conv1 and bn1) or `layerK` (the stem and stages 1..K), by tensor name (the ResNets; the cnn and
 * mlp freeze only their whole backbone). Returns 0, or -1 naming what this model lacks. */
int tl_model_freeze_end(const tl_model *m, const char *what, size_t *end, tl_error *err);
/* Freezes params [0, end) of the backbone (tl_net_freeze: no gradients, BN in evaluation mode). */
void tl_model_freeze(tl_model *m, size_t end);

/* Registers a tensor and returns its offset in params (or state). Used by the model builders. */
size_t tl_model_add_tensor(tl_model *m, const char *name, int ndim, const int *shape, int group, int is_state,
                           int init, int fan_in);
const tl_tensor_info *tl_model_find(const tl_model *m, const char *name);

/* Data-parallel training: the number of processes whose slices of the global batch this model's N
 * rows are one of (1 in one process; the slice is m->net.slice). */
static inline int tl_model_slices(const tl_model *m) { return m->net.slices > 1 ? m->net.slices : 1; }

/* The input images ([N, c, h, w], written by the caller before forward). */
static inline float *tl_model_input(tl_model *m) { return m->images ? m->images : m->net.act[0]; }
/* The backbone's features [N·views, D]: row i·views + v belongs to image i (v = 0: the image as given). */
static inline const float *tl_model_features(const tl_model *m) { return m->net.act[m->feat_buf]; }

/* Forward and backward allocate nothing and return 0, or -1 with a message naming the backbone op
 * whose oneDNN call failed. */
/* Forward of the backbone alone (the head's expand first when views > 1) into the features. */
int tl_model_backbone(tl_model *m, int train, tl_rng *dropout_rng, tl_error *err);
/* Forward through backbone and head into m->logits. labels: the batch's labels in training (margin
 * heads use them), NULL at inference. */
int tl_model_forward(tl_model *m, int train, const int *labels, tl_rng *dropout_rng, tl_error *err);
/* Backward from m->dlogits into m->grads (accumulating; call tl_model_zero_grad first), with the
 * labels given to the forward. need_input_grad: the gradient of the backbone's input into
 * m->net.grad[0] ([N·views, c, h, w]: of the transformed copies when views > 1). */
int tl_model_backward(tl_model *m, int train, const int *labels, int need_input_grad, tl_error *err);
void tl_model_zero_grad(tl_model *m);
/* The gradient of m->dlogits with respect to the backbone's input, into m->net.grad[0], without the
 * backbone's parameter gradients (about half the cost of tl_model_backward). The head's backward
 * still writes its parameter gradients: they are cleared first and left in m->grads (scratch). */
int tl_model_input_grad(tl_model *m, int train, tl_error *err);

/* Backbone builders (src/models/cnn.c, resnet32.c, mlp.c): append ops and tensors, return the
 * feature buffer id or -1. */
int tl_build_cnn(tl_model *m);
int tl_build_resnet32(tl_model *m);
int tl_build_mlp(tl_model *m);
/* The ImageNet ResNets of torchvision (src/models/resnet.c). */
int tl_build_resnet(tl_model *m);
/* Whether arch names one of them, and its natural feature dimension (0 when it does not). */
int tl_resnet_is(const char *arch);
int tl_resnet_feat_dim(const char *arch);

/* Shared building blocks (src/models/blocks.c). prefix is the PyTorch module path, e.g. "backbone.bn1". */
int tl_block_conv(tl_model *m, int in, int oc, int k, int stride, int pad, int bias, int init, const char *prefix);
/* The same with `groups` (weight [oc, c/groups, k, k]) and the fan the weight initialiser uses given
 * (tl_block_conv: the fan-in c·k·k; torchvision's ResNets: the fan-out oc·k·k). */
int tl_block_conv_grouped(tl_model *m, int in, int oc, int k, int stride, int pad, int groups, int bias, int init,
                          int fan, const char *prefix);
/* BatchNorm (1d or 2d by shape), then + buffer `res` (-1: none), then ReLU when relu is set; the
 * three run as one fused op (torch.relu(bn(x) + res)). */
int tl_block_bn(tl_model *m, int in, int res, int relu, const char *prefix);


#endif
