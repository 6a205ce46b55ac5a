/* The linear classifier: logits = feat · Wᵀ + b (torch.nn.Linear(D, C)); tensors head.weight [C, D]
 * and head.bias [C]. Initialised like the backbone's layers: kaiming_normal_ for the CIFAR ResNet
 * (as its reference does), nn.Linear's default otherwise. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "models/model.h"

typedef struct { size_t w, b; } linear_priv;

static int linear_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    (void)spec;
    linear_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    int wshape[2] = {h->C, h->D};
    int winit = !strcmp(m->cfg.arch, "resnet32") ? TL_INIT_KAIMING_NORMAL : TL_INIT_DEFAULT;
    p->w = tl_model_add_tensor(m, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, winit, h->D);
    p->b = tl_model_add_tensor(m, "head.bias", 1, &h->C, TL_GROUP_HEAD, 0, TL_INIT_DEFAULT, h->D);
    return 0;
}

static void linear_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    const linear_priv *p = h->priv;
    tl_linear_forward(logits, feat, params + p->w, params + p->b, h->N, h->D, h->C, h->nthreads);
}

static void linear_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                            const int *labels, const float *params) {
    const linear_priv *p = h->priv;
    tl_linear_backward(dfeat, grads + p->w, grads + p->b, dlogits, feat, params + p->w, h->N, h->D, h->C, h->nthreads);
}

static void linear_destroy(tl_head *h) { free(h->priv); }

const tl_head_ops tl_head_linear = {.name = "linear", .create = linear_create, .forward = linear_forward,
                                    .backward = linear_backward, .destroy = linear_destroy,
    .keys = "",
    .help = "W·x + b, as torch.nn.Linear"};
