/* The seed CNN for 28x28 images (docs/interop.md, class CNN):
 * Conv3x3(32)-BN-ReLU, AvgPool2, Conv3x3(64)-BN-ReLU, AvgPool2, Conv3x3(D)-BN-ReLU,
 * global average pool, BatchNorm1d(D) on the features. Convolutions have no bias (BN follows). */
#include "models/model.h"

static int conv_bn_relu(tl_model *m, int x, int oc, const char *conv, const char *bn) {
    x = tl_block_conv(m, x, oc, 3, 1, 1, 0, TL_INIT_DEFAULT, conv);
    return x < 0 ? x : tl_block_bn(m, x, -1, 1, bn);
}

static int avgpool2(tl_model *m, int x) {
    tl_chw s = m->net.shape[x];
    tl_op op = {.kind = TL_OP_AVGPOOL, .in = x, .k = 2, .stride = 2};
    return tl_net_push(&m->net, &op, (tl_chw){s.c, s.h / 2, s.w / 2});
}

int tl_build_cnn(tl_model *m) {
    int x = 0;
    x = conv_bn_relu(m, x, 32, "backbone.conv1", "backbone.bn1");
    if (x >= 0) x = avgpool2(m, x);
    if (x >= 0) x = conv_bn_relu(m, x, 64, "backbone.conv2", "backbone.bn2");
    if (x >= 0) x = avgpool2(m, x);
    if (x >= 0) x = conv_bn_relu(m, x, m->cfg.feat_dim, "backbone.conv3", "backbone.bn3");
    if (x < 0) return -1;
    tl_chw s = m->net.shape[x];
    tl_op gap = {.kind = TL_OP_GAP, .in = x};
    x = tl_net_push(&m->net, &gap, (tl_chw){s.c, 1, 1});
    return x < 0 ? x : tl_block_bn(m, x, -1, 0, "backbone.bn_feat");
}
