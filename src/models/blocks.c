/* Building blocks shared by the backbones: each registers its tensors under the PyTorch module
 * path `prefix` and appends its op. */
#include <stdio.h>
#include "models/model.h"

static size_t add(tl_model *m, const char *prefix, const char *leaf, int ndim, const int *shape, int is_state,
                  int init, int fan_in) {
    char name[96];
    snprintf(name, sizeof name, "%s.%s", prefix, leaf);
    return tl_model_add_tensor(m, name, ndim, shape, TL_GROUP_BACKBONE, is_state, init, fan_in);
}

int tl_block_conv(tl_model *m, int in, int oc, int k, int stride, int pad, int bias, int init, const char *prefix) {
    return tl_block_conv_grouped(m, in, oc, k, stride, pad, 1, bias, init, m->net.shape[in].c * k * k, prefix);
}

int tl_block_conv_grouped(tl_model *m, int in, int oc, int k, int stride, int pad, int groups, int bias, int init,
                          int fan, const char *prefix) {
    tl_chw s = m->net.shape[in];
    int fan_in = s.c / groups * k * k, wshape[4] = {oc, s.c / groups, k, k};
    tl_op op = {.kind = TL_OP_CONV, .in = in, .k = k, .stride = stride, .pad = pad, .groups = groups, .b = TL_NONE};
    op.w = add(m, prefix, "weight", 4, wshape, 0, init, fan);
    if (bias) op.b = add(m, prefix, "bias", 1, &oc, 0, TL_INIT_DEFAULT, fan_in);
    tl_chw o = {oc, (s.h + 2 * pad - k) / stride + 1, (s.w + 2 * pad - k) / stride + 1};
    return tl_net_push(&m->net, &op, o);
}

int tl_block_bn(tl_model *m, int in, int res, int relu, const char *prefix) {
    tl_chw s = m->net.shape[in];
    tl_op op = {.kind = TL_OP_BN, .in = in, .in2 = res, .relu = relu, .eps = 1e-5f, .momentum = 0.1f};
    op.w = add(m, prefix, "weight", 1, &s.c, 0, TL_INIT_ONES, 0);
    op.b = add(m, prefix, "bias", 1, &s.c, 0, TL_INIT_ZEROS, 0);
    op.run_mean = add(m, prefix, "running_mean", 1, &s.c, 1, TL_INIT_ZEROS, 0);
    op.run_var = add(m, prefix, "running_var", 1, &s.c, 1, TL_INIT_ONES, 0);
    return tl_net_push(&m->net, &op, s);
}
