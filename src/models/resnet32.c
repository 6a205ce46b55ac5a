/* CIFAR ResNet-32 (He et al. 2016, as in kaidic/LDAM-DRW models/resnet_cifar.py; docs/interop.md):
 * conv3x3(16)-BN-ReLU, then 3 stages of 5 basic blocks with 16, 32, 64 channels (strides 1, 2, 2),
 * option-A shortcuts (subsample + zero-padded channels), global average pool -> 64 features.
 * Convolution weights use kaiming_normal_ as that reference does. */
#include <stdio.h>
#include "models/model.h"

static int basic_block(tl_model *m, int x, int planes, int stride, const char *prefix) {
    char n1[96], n2[96], b1[96], b2[96];
    snprintf(n1, sizeof n1, "%s.conv1", prefix); snprintf(b1, sizeof b1, "%s.bn1", prefix);
    snprintf(n2, sizeof n2, "%s.conv2", prefix); snprintf(b2, sizeof b2, "%s.bn2", prefix);
    tl_chw in = m->net.shape[x];
    int y = tl_block_conv(m, x, planes, 3, stride, 1, 0, TL_INIT_KAIMING_NORMAL, n1);
    if (y >= 0) y = tl_block_bn(m, y, -1, 1, b1);
    if (y >= 0) y = tl_block_conv(m, y, planes, 3, 1, 1, 0, TL_INIT_KAIMING_NORMAL, n2);
    if (y < 0) return -1;
    /* relu(bn2(y) + shortcut(x)): the residual add and the ReLU run inside the BN op. */
    int sc = x;
    if (stride != 1 || in.c != planes) {
        tl_op op = {.kind = TL_OP_SHORTCUT_A, .in = x};
        sc = tl_net_push(&m->net, &op, m->net.shape[y]);
        if (sc < 0) return -1;
    }
    return tl_block_bn(m, y, sc, 1, b2);
}

int tl_build_resnet32(tl_model *m) {
    int x = tl_block_conv(m, 0, 16, 3, 1, 1, 0, TL_INIT_KAIMING_NORMAL, "backbone.conv1");
    if (x >= 0) x = tl_block_bn(m, x, -1, 1, "backbone.bn1");
    static const int planes[3] = {16, 32, 64};
    for (int s = 0; s < 3 && x >= 0; s++)
        for (int b = 0; b < 5 && x >= 0; b++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "backbone.layer%d.%d", s + 1, b);
            x = basic_block(m, x, planes[s], (s > 0 && b == 0) ? 2 : 1, prefix);
        }
    if (x < 0) return -1;
    tl_chw s = m->net.shape[x];
    tl_op gap = {.kind = TL_OP_GAP, .in = x};
    return tl_net_push(&m->net, &gap, (tl_chw){s.c, 1, 1});
}
