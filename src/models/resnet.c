/* The ImageNet ResNets exactly as torchvision.models.resnet builds them (docs/interop.md):
 * conv7x7(64, stride 2, pad 3)-BN-ReLU, max pooling 3x3 stride 2 pad 1, four stages of basic
 * (resnet10/18/34) or bottleneck (resnet50, resnext50 = 32x4d) blocks with 64, 128, 256, 512 planes
 * (strides 1, 2, 2, 2), a projection shortcut (1x1 conv with the block's stride + BN) where the shape
 * changes, global average pooling. resnet10 is torchvision's ResNet(BasicBlock, [1, 1, 1, 1]), as
 * the Decoupling code defines it. Tensor names are torchvision's state_dict names (conv1.weight,
 * layer1.0.downsample.1.running_mean, ...); with a --feat-dim other than the natural one, a linear
 * projection `proj` follows the pooling. Initialisation is torchvision's: kaiming_normal_ with
 * mode='fan_out' for every convolution, BN weight 1 and bias 0, and with zero_init_residual the
 * last BN weight of each block 0. */
#include <stdio.h>
#include <string.h>
#include "models/model.h"

typedef struct {
    const char *name;
    int bottleneck, blocks[4], groups, width_per_group;
} resnet_def;

static const resnet_def DEFS[] = {
    {"resnet10", 0, {1, 1, 1, 1}, 1, 64},  {"resnet18", 0, {2, 2, 2, 2}, 1, 64},
    {"resnet34", 0, {3, 4, 6, 3}, 1, 64},  {"resnet50", 1, {3, 4, 6, 3}, 1, 64},
    {"resnext50", 1, {3, 4, 6, 3}, 32, 4},
};

static const resnet_def *find(const char *arch) {
    for (size_t i = 0; i < sizeof DEFS / sizeof *DEFS; i++)
        if (!strcmp(DEFS[i].name, arch)) return &DEFS[i];
    return NULL;
}

int tl_resnet_is(const char *arch) { return find(arch) != NULL; }

int tl_resnet_feat_dim(const char *arch) {
    const resnet_def *d = find(arch);
    return d ? 512 * (d->bottleneck ? 4 : 1) : 0;
}

/* Conv (no bias) + its BN: kaiming_normal_(mode='fan_out') = N(0, 2/(OC·K·K)) whatever the groups. */
static int conv_bn(tl_model *m, int x, int oc, int k, int stride, int groups, int res, int relu, int zero_gamma,
                   const char *conv, const char *bn) {
    int y = tl_block_conv_grouped(m, x, oc, k, stride, k / 2, groups, 0, TL_INIT_KAIMING_NORMAL, oc * k * k, conv);
    if (y >= 0) y = tl_block_bn(m, y, res, relu, bn);
    /* tl_block_bn registers weight, bias, running_mean, running_var: the weight is 4th from the end. */
    if (y >= 0 && zero_gamma) m->tensors[m->ntensors - 4].init = TL_INIT_ZEROS;
    return y;
}

static int block(tl_model *m, const resnet_def *d, int x, int planes, int stride, const char *p) {
    char n[6][96];
    static const char *leaf[6] = {"conv1", "bn1", "conv2", "bn2", "conv3", "bn3"};
    for (int i = 0; i < 6; i++) snprintf(n[i], sizeof n[i], "%s.%s", p, leaf[i]);
    int in_c = m->net.shape[x].c, out_c = planes * (d->bottleneck ? 4 : 1), zero = m->cfg.zero_init_residual;
    int width = planes * d->width_per_group / 64 * d->groups, y;
    if (d->bottleneck) {   /* torchvision's Bottleneck: the stride sits on the 3x3 conv (ResNet v1.5) */
        y = conv_bn(m, x, width, 1, 1, 1, -1, 1, 0, n[0], n[1]);
        if (y >= 0) y = conv_bn(m, y, width, 3, stride, d->groups, -1, 1, 0, n[2], n[3]);
    } else {
        y = conv_bn(m, x, planes, 3, stride, 1, -1, 1, 0, n[0], n[1]);
    }
    if (y < 0) return -1;
    int sc = x;
    if (stride != 1 || in_c != out_c) {
        char dc[96], db[96];
        snprintf(dc, sizeof dc, "%s.downsample.0", p);
        snprintf(db, sizeof db, "%s.downsample.1", p);
        sc = conv_bn(m, x, out_c, 1, stride, 1, -1, 0, 0, dc, db);
        if (sc < 0) return -1;
    }
    /* relu(bn_last(conv_last(y)) + shortcut): the residual add and the ReLU run inside the BN op. */
    const char *conv = d->bottleneck ? n[4] : n[2], *bn = d->bottleneck ? n[5] : n[3];
    return conv_bn(m, y, out_c, d->bottleneck ? 1 : 3, 1, 1, sc, 1, zero, conv, bn);
}

int tl_build_resnet(tl_model *m) {
    const resnet_def *d = find(m->cfg.arch);
    if (!d) return -1;
    int x = conv_bn(m, 0, 64, 7, 2, 1, -1, 1, 0, "conv1", "bn1");
    if (x < 0) return -1;
    tl_chw s = m->net.shape[x];
    tl_op pool = {.kind = TL_OP_MAXPOOL, .in = x, .k = 3, .stride = 2, .pad = 1};
    x = tl_net_push(&m->net, &pool, (tl_chw){s.c, tl_pool_out(s.h, 3, 2, 1), tl_pool_out(s.w, 3, 2, 1)});
    for (int l = 0; l < 4 && x >= 0; l++)
        for (int b = 0; b < d->blocks[l] && x >= 0; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", l + 1, b);
            x = block(m, d, x, 64 << l, (l > 0 && b == 0) ? 2 : 1, prefix);
        }
    if (x < 0) return -1;
    s = m->net.shape[x];
    tl_op gap = {.kind = TL_OP_GAP, .in = x};
    x = tl_net_push(&m->net, &gap, (tl_chw){s.c, 1, 1});
    if (x < 0 || m->cfg.feat_dim == s.c) return x;
    /* nn.Linear(C, feat_dim) with its default initialisation. */
    int D = m->cfg.feat_dim, wshape[2] = {D, s.c};
    tl_op proj = {.kind = TL_OP_LINEAR, .in = x};
    proj.w = tl_model_add_tensor(m, "proj.weight", 2, wshape, TL_GROUP_BACKBONE, 0, TL_INIT_DEFAULT, s.c);
    proj.b = tl_model_add_tensor(m, "proj.bias", 1, &D, TL_GROUP_BACKBONE, 0, TL_INIT_DEFAULT, s.c);
    return tl_net_push(&m->net, &proj, (tl_chw){D, 1, 1});
}
