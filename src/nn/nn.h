/* The layer kernels: one pair of plain functions per layer, forward and backward side by side.
 *
 * Conventions (llm.c style), shared by every kernel here:
 * - Arguments: outputs first, then inputs, then sizes, then `nthreads` (the OpenMP team size; the
 *   kernel never changes any global thread setting).
 * - Tensors are float32, contiguous, NCHW (a feature matrix is [N, D] = NCHW with H = W = 1). The
 *   kernels named with "16" take oneDNN's blocked layout nChw16c instead: [N, C/16, H, W, 16], C a
 *   multiple of 16, the layout the convolutions compute in, so that a network can keep its
 *   activations blocked from one convolution to the next (src/models/net.h).
 * - Backward kernels ACCUMULATE (+=) into every gradient they receive, the input gradient included,
 *   so residual branches simply add; a NULL gradient pointer is skipped. The trainer clears all
 *   gradients with one memset per step.
 * - Each output element has exactly one writer and every reduction runs in a fixed order, so results
 *   are bitwise identical for a given thread count.
 * - Each comment names the PyTorch op the kernel must match.
 */
#ifndef TL_NN_H
#define TL_NN_H
#include <stddef.h>
#include <stdint.h>
#include "core/rng.h"

/* ---- Linear: torch.nn.Linear.  out[N,OC] = inp[N,IC] · w[OC,IC]ᵀ + b[OC]  (b may be NULL) ---- */
void tl_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int N, int IC, int OC, int nthreads);
void tl_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int N, int IC, int OC, int nthreads);

/* ---- Conv2d: torch.nn.Conv2d(C, OC, K, stride, pad, bias=has_bias, groups), square kernel ----
 * A plan is made once per shape (it owns its buffers and any backend primitives), then used for
 * every step. out [N,OC,OH,OW], inp [N,C,H,W], w [OC,C/groups,K,K], b [OC] or NULL.
 * tl_conv2d_create makes a plain-layout plan with groups = 1. */
typedef struct tl_conv2d tl_conv2d;
tl_conv2d *tl_conv2d_create(int N, int C, int H, int W, int OC, int K, int stride, int pad,
                            int has_bias, int nthreads);
/* The general plan: `groups` (dividing C and OC; ResNeXt's grouped 3x3), and the input and the
 * output each in a layout of its own: TL_NCHW, or TL_NCHW16C (oneDNN's nChw16c, C resp. OC a
 * multiple of 16; also the layout of dinp resp. dout). */
enum { TL_NCHW, TL_NCHW16C };
tl_conv2d *tl_conv2d_create_layout(int N, int C, int H, int W, int OC, int K, int stride, int pad, int groups,
                                   int has_bias, int in_layout, int out_layout, int nthreads);
/* The same plan for forward only (inference): the same forward primitive, so the same outputs bit
 * for bit, without the backward primitives and their buffers; tl_conv2d_backward must not be called. */
tl_conv2d *tl_conv2d_create_forward(int N, int C, int H, int W, int OC, int K, int stride, int pad, int groups,
                                    int has_bias, int in_layout, int out_layout, int nthreads);
void tl_conv2d_free(tl_conv2d *p);
/* Plans of one network may share their work area (the buffers that live only within one call): the
 * caller allocates max over its plans of tl_conv2d_work_size (64-byte aligned) and hands it to each
 * with tl_conv2d_share_work, which frees the plan's own. The caller keeps ownership and must not use
 * two plans sharing an area at once. */
size_t tl_conv2d_work_size(const tl_conv2d *p);
int tl_conv2d_share_work(tl_conv2d *p, void *work);
int tl_conv2d_out_h(const tl_conv2d *p);
int tl_conv2d_out_w(const tl_conv2d *p);
/* Forward and backward (and tl_conv2d_share_work) return 0, or the status of the first oneDNN call
 * that failed (a dnnl_status_t, > 0; tl_conv2d_strerror names it), the outputs then unspecified. */
int tl_conv2d_forward(tl_conv2d *p, float *out, const float *inp, const float *w, const float *b);
/* Backward reuses the plan's blocked copy of inp made by the latest forward when called with the same
 * inp pointer: inp must not change between a layer's forward and its backward. */
int tl_conv2d_backward(tl_conv2d *p, float *dinp, float *dw, float *db, const float *dout,
                       const float *inp, const float *w);
/* oneDNN's name for a status returned above ("out_of_memory", ...). */
const char *tl_conv2d_strerror(int status);

/* ---- BatchNorm: torch.nn.BatchNorm1d / BatchNorm2d (affine, track_running_stats) ----
 * x [N,C,HW] (HW = 1 for 1d). Training: normalise with the biased batch variance, save mean and
 * invstd = 1/sqrt(var + eps) for backward, and update running_mean/var with `momentum` (PyTorch
 * semantics: r = (1-momentum)·r + momentum·stat, running variance unbiased, N·HW/(N·HW-1)).
 * Evaluation: normalise with the running statistics. */
void tl_batchnorm_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                                const float *inp, const float *gamma, const float *beta,
                                int N, int C, int HW, float eps, float momentum, int nthreads);
void tl_batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                               const float *run_mean, const float *run_var,
                               int N, int C, int HW, float eps, int nthreads);
/* Backward of the training-mode forward (batch statistics). */
void tl_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd, const float *gamma,
                           int N, int C, int HW, int nthreads);
/* Backward of the evaluation-mode forward (running statistics are constants), used when a frozen
 * backbone is differentiated with respect to its input (M2m) or a stage-2 method. */
void tl_batchnorm_backward_eval(float *dinp, const float *dout, const float *gamma, const float *run_var,
                                int N, int C, int HW, float eps, int nthreads);

/* ---- ReLU: torch.relu.  Backward uses the output (out > 0), so it can run in place. ---- */
void tl_relu_forward(float *out, const float *inp, size_t n, int nthreads);
void tl_relu_backward(float *dinp, const float *dout, const float *out, size_t n, int nthreads);

/* ---- Dropout: torch.nn.functional.dropout(p, training=True) ----
 * mask[i] = 0 with probability p, else 1/(1-p); out = inp · mask. Evaluation without Monte-Carlo
 * dropout simply skips the layer. The mask is drawn serially from `rng` (reproducible). */
void tl_dropout_forward(float *out, float *mask, const float *inp, size_t n, float p, tl_rng *rng);
void tl_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* ---- AvgPool2d: torch.nn.AvgPool2d(K) (stride K, no padding; H, W divisible by K not required:
 * the trailing rows/columns are dropped as PyTorch does). out [N,C,H/K,W/K]. ---- */
void tl_avgpool2d_forward(float *out, const float *inp, int N, int C, int H, int W, int K, int nthreads);
void tl_avgpool2d_backward(float *dinp, const float *dout, int N, int C, int H, int W, int K, int nthreads);

/* ---- MaxPool2d: torch.nn.MaxPool2d(K, stride, pad). argmax [N,C,OH,OW] keeps the flat index in
 * the H·W plane of the winning input (first maximum on ties, as PyTorch). ---- */
void tl_maxpool2d_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                          int K, int stride, int pad, int nthreads);
void tl_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax, int N, int C,
                           int H, int W, int K, int stride, int pad, int nthreads);
/* The same with inp, out (dinp, dout) and argmax in nChw16c (the ResNet stem's pooling between two
 * blocked convolutions); argmax lanes hold h·W + w. */
void tl_maxpool2d16_forward(float *out, int32_t *argmax, const float *inp, int N, int C, int H, int W,
                            int K, int stride, int pad, int nthreads);
void tl_maxpool2d16_backward(float *dinp, const float *dout, const int32_t *argmax, int N, int C,
                             int H, int W, int K, int stride, int pad, int nthreads);
static inline int tl_pool_out(int H, int K, int stride, int pad) { return (H + 2 * pad - K) / stride + 1; }

/* ---- Global average pooling: torch.mean(x, dim=(2,3)).  out [N,C] ---- */
void tl_gap_forward(float *out, const float *inp, int N, int C, int HW, int nthreads);
void tl_gap_backward(float *dinp, const float *dout, int N, int C, int HW, int nthreads);
/* The same from inp (and into dinp) in nChw16c; out and dout [N,C] plain. */
void tl_gap16_forward(float *out, const float *inp, int N, int C, int HW, int nthreads);
void tl_gap16_backward(float *dinp, const float *dout, int N, int C, int HW, int nthreads);

/* ---- Rotation: torch.rot90(x, t, dims=(2,3)) on square planes, x and out [N,C,H,H] (SLA's input
 * transformation, docs/methods.md §11.1); t is taken modulo 4. Forward only (no gradient to the image). ---- */
void tl_rot90_forward(float *out, const float *inp, int N, int C, int H, int t);

/* ---- Element-wise add (residual join): out = a + b.  Backward: da += dout, db += dout. ---- */
void tl_add_forward(float *out, const float *a, const float *b, size_t n, int nthreads);
void tl_add_backward(float *da, float *db, const float *dout, size_t n, int nthreads);

/* ---- CIFAR ResNet shortcut, option A (He et al. 2016; kaidic/LDAM-DRW resnet_cifar.py LambdaLayer):
 * out = F.pad(x[:, :, ::2, ::2], (0,0,0,0, P,P)) with P = (OC - C)/2.  inp [N,C,H,W],
 * out [N,OC,(H+1)/2,(W+1)/2]. ---- */
void tl_shortcut_a_forward(float *out, const float *inp, int N, int C, int H, int W, int OC, int nthreads);
void tl_shortcut_a_backward(float *dinp, const float *dout, int N, int C, int H, int W, int OC, int nthreads);
/* The same with inp and out (dinp and dout) in nChw16c. */
void tl_shortcut_a16_forward(float *out, const float *inp, int N, int C, int H, int W, int OC, int nthreads);
void tl_shortcut_a16_backward(float *dinp, const float *dout, int N, int C, int H, int W, int OC, int nthreads);

/* ---- Kaiming initialisation as PyTorch does it ----
 * Default init of nn.Conv2d / nn.Linear weights: kaiming_uniform_(a=sqrt(5)) = U(-b, b),
 * b = 1/sqrt(fan_in); default bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 * kaiming_normal_(mode='fan_in', nonlinearity='relu') = N(0, 2/fan_in), used by the CIFAR ResNet. */
void tl_init_uniform(float *w, size_t n, float bound, tl_rng *rng);
void tl_init_kaiming_normal(float *w, size_t n, int fan_in, tl_rng *rng);

/* ---- Sums over the global batch of a data-parallel step (src/nn/batch_sync.c) ----
 * Data-parallel training over P processes, each with its slice of the global batch: while a sync is
 * set, whatever needs a statistic of the whole batch adds its partial sums over the processes with
 * tl_batch_sum before using them. Synchronised BatchNorm: the training kernels of bn_act.c,
 * bn_act1.c and bn_act16.c compute their per-channel sums (Σx; Σ(x - mean)²; backward Σg and
 * Σg·(x - mean)), add them, then use them with the count P·N·HW, so every process normalises with
 * the global batch's statistics and keeps the same running statistics (dgamma and dbeta stay each
 * process's own: the gradient sum adds them). Heads with batch state do the same (the causal
 * head's moving average). None set (one process): each its own batch, bit for bit as before.
 * (tl_batchnorm_*, the unfused reference kernels, do not sync.) */
typedef struct {
    int ranks;
    int (*sum)(double *v, size_t n, void *ctx); /* in place, the same bits on every process; 0 or -1 */
    void *ctx;
    double *scratch;  /* 2·C doubles for the widest BN layer: the kernels that keep no sums array */
    int failed;       /* a sum failed: this step's results are garbage (the trainer reports ctx's error) */
} tl_batch_sync;
/* s NULL: off. */
void tl_batch_sync_set(tl_batch_sync *s);
tl_batch_sync *tl_batch_sync_get(void);
/* Adds v[n] over the processes when a sync is set (a failure sets its `failed`) and returns the
 * number of processes whose values the sums now hold: ranks, or 1 when none is set. */
double tl_batch_sum(double *v, size_t n);

/* ---- Fused BatchNorm2d/1d + residual + ReLU: torch.relu(bn(x) + res) (src/nn/bn_act.c) ----
 * x, res, out [N,C,HW]; res may be NULL (no residual), relu 0 or 1. BN as tl_batchnorm_* above
 * (same statistics, running updates and eval semantics), but the normalisation is x·scale + shift
 * with scale = gamma·invstd and shift = beta - mean·scale computed from the float mean/invstd, so
 * tl_bn_act_apply with the saved statistics recomputes the training forward's output exactly. */
void tl_bn_act_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                             const float *inp, const float *res, const float *gamma, const float *beta,
                             int N, int C, int HW, float eps, float momentum, int relu, int nthreads);
/* out = act(bn(x) + res) with the given statistics (the training forward's output again). */
void tl_bn_act_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                     const float *gamma, const float *beta, int N, int C, int HW, int relu, int nthreads);
/* Evaluation mode: the running statistics normalise (invstd = 1/sqrt(run_var + eps)). */
void tl_bn_act_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                            const float *run_mean, const float *run_var, int N, int C, int HW, float eps, int relu,
                            int nthreads);
/* Backward of the training forward. With g = relu ? dout·[out > 0] : dout: dres += g,
 * dbeta += Σg, dgamma += Σg·xh, dx += gamma·invstd·(g - Σg/M - xh·Σ(g·xh)/M), M = N·HW.
 * `out` (the forward output) gives the ReLU mask; it may be NULL when res was NULL, and the mask
 * is then recomputed from x. Any gradient pointer may be NULL. overwrite = 1 stores dinp and dres
 * (=) instead of adding, for a caller whose gradient buffers start here (no zeroing pass). */
void tl_bn_act_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                        const float *out, const float *mean, const float *invstd, const float *gamma,
                        const float *beta, int N, int C, int HW, int relu, int overwrite, int nthreads);
/* Backward of the evaluation forward (statistics constant): dres += g, dx += g·gamma·invstd
 * (overwrite as above). */
void tl_bn_act_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                             const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                             int N, int C, int HW, float eps, int relu, int overwrite, int nthreads);

/* The five kernels above for HW = 1 ([N, C] rows; src/nn/bn_act1.c), which bn_act.c calls for HW = 1:
 * bitwise the same results, walked row by row instead of channel by channel. */
void tl_bn_act1_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                              const float *inp, const float *res, const float *gamma, const float *beta,
                              int N, int C, float eps, float momentum, int relu, int nthreads);
void tl_bn_act1_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                      const float *gamma, const float *beta, int N, int C, int relu, int nthreads);
void tl_bn_act1_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                             const float *run_mean, const float *run_var, int N, int C, float eps, int relu,
                             int nthreads);
void tl_bn_act1_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                         const float *out, const float *mean, const float *invstd, const float *gamma,
                         const float *beta, int N, int C, int relu, int overwrite, int nthreads);
void tl_bn_act1_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                              const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                              int N, int C, float eps, int relu, int overwrite, int nthreads);

/* The five kernels above with x, res, out (and their gradients) in nChw16c (src/nn/bn_act16.c);
 * C a multiple of 16, at most TL_BN16_MAX_CHANNELS. Same results up to the order of the sums. */
#define TL_BN16_MAX_CHANNELS 1024
void tl_bn_act16_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                               const float *inp, const float *res, const float *gamma, const float *beta,
                               int N, int C, int HW, float eps, float momentum, int relu, int nthreads);
void tl_bn_act16_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                       const float *gamma, const float *beta, int N, int C, int HW, int relu, int nthreads);
void tl_bn_act16_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                              const float *run_mean, const float *run_var, int N, int C, int HW, float eps, int relu,
                              int nthreads);
void tl_bn_act16_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                          const float *out, const float *mean, const float *invstd, const float *gamma,
                          const float *beta, int N, int C, int HW, int relu, int overwrite, int nthreads);
void tl_bn_act16_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                               const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                               int N, int C, int HW, float eps, int relu, int overwrite, int nthreads);

#endif
