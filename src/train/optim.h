/* Optimizers over one flat parameter block: params, grads and optimizer state are each a single
 * contiguous float array, so a step allocates nothing, and a parameter group (say, only the head)
 * is a range [begin, end) of the block with its own lr multiplier, weight-decay flag and frozen flag.
 *
 * Each update follows PyTorch 1.13's single-tensor code (foreach=False, the 1.13 default) operation
 * by operation, in float32 with the same fused multiply-adds as ATen's AVX2 kernels, so results
 * agree with torch.optim bit for bit (tests/parity/test_optim.py; Debian's torch 1.13 build).
 * Hyper-parameters are doubles, as in Python, and are rounded to float where ATen rounds its
 * Scalar arguments. */
#ifndef TL_TRAIN_OPTIM_H
#define TL_TRAIN_OPTIM_H
#include <stddef.h>
#include "tailor.h"

enum { TL_OPTIM_SGD, TL_OPTIM_ADAM };

typedef struct {
    int kind;               /* TL_OPTIM_SGD or TL_OPTIM_ADAM */
    double lr;              /* base learning rate (the schedule scales it) */
    double momentum;        /* SGD; 0 = plain SGD (no state) */
    int nesterov;           /* SGD; needs momentum > 0 */
    double wd;              /* weight decay */
    double beta1, beta2, eps;   /* Adam */
    int decoupled;          /* Adam: 0 = Adam (L2 added to the gradient), 1 = AdamW */
} tl_optim_cfg;

typedef struct {
    size_t begin, end;      /* [begin, end) of the flat block */
    double lr_mult;         /* this group's lr = lr · lr_mult */
    int decay;              /* apply weight decay to this group */
    int frozen;             /* neither updated nor decayed; its state is left untouched */
} tl_param_group;

/* Floats of optimizer state for nparams parameters: SGD with momentum n (the momentum buffer),
 * plain SGD 0, Adam/AdamW 2n (exp_avg in [0, n), exp_avg_sq in [n, 2n)). The caller allocates it
 * zero-filled; zero state is exactly PyTorch's fresh state (first momentum step buf = g). */
size_t tl_optim_state_floats(const tl_optim_cfg *cfg, size_t nparams);

/* Checks that every group lies inside [0, nparams), is non-empty, and that groups do not overlap.
 * Returns 0, or -1 naming the group. */
int tl_param_groups_check(const tl_param_group *groups, int ngroups, size_t nparams, tl_error *err);

/* One optimizer step over every non-frozen group, with lr = lr · group.lr_mult and weight decay
 * wd when group.decay (else 0). step is the 1-based count of steps taken, this one included (Adam
 * bias correction). Element-wise, so the result does not depend on nthreads (>= 1).
 *   torch.optim.SGD (dampening 0):  g = grad + wd·p;  buf = momentum·buf + g;
 *                                   g = nesterov ? g + momentum·buf : buf;  p -= lr·g
 *   torch.optim.Adam:   g = grad + wd·p;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
 *                       p -= (lr/(1-β1^t)) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
 *   torch.optim.AdamW:  p *= 1 - lr·wd, then Adam with g = grad. */
void tl_optim_step(float *params, float *state, const float *grads, size_t nparams,
                   const tl_param_group *groups, int ngroups, const tl_optim_cfg *cfg, double lr,
                   long step, int nthreads);

/* Parses "sgd:lr=0.1,momentum=0.9,wd=5e-4,nesterov=0", "adam:lr=1e-3,wd=0,beta1=0.9,beta2=0.999,eps=1e-8"
 * or "adamw:..." (same keys). Defaults: sgd lr 0.1, momentum 0.9, wd 5e-4, nesterov 0; adam lr 1e-3,
 * wd 0; adamw lr 1e-3, wd 1e-2 (torch's default); betas (0.9, 0.999), eps 1e-8. Ranges: lr > 0,
 * wd >= 0, momentum and betas in [0, 1), eps > 0, nesterov needs momentum > 0. option (e.g.
 * "--optim") prefixes messages. */
int tl_optim_parse(tl_optim_cfg *out, const char *text, const char *option, tl_error *err);

#endif
