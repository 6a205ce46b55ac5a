/* MLP for tabular data (docs/interop.md, class MLP): for each hidden size h,
 * Linear(h)-BatchNorm1d(h)-ReLU, then Dropout(p) when p > 0; the last hidden layer is the feature. */
#include <stdio.h>
#include "models/model.h"

int tl_build_mlp(tl_model *m) {
    int x = 0;
    for (int i = 0; i < m->cfg.nhidden && x >= 0; i++) {
        char fc[64], bn[64];
        snprintf(fc, sizeof fc, "backbone.fc%d", i + 1);
        snprintf(bn, sizeof bn, "backbone.bn%d", i + 1);
        int in = (int)tl_chw_size(m->net.shape[x]), h = m->cfg.hidden[i], wshape[2] = {h, in};
        char wn[96], bname[96];
        snprintf(wn, sizeof wn, "%s.weight", fc);
        snprintf(bname, sizeof bname, "%s.bias", fc);
        tl_op op = {.kind = TL_OP_LINEAR, .in = x};
        op.w = tl_model_add_tensor(m, wn, 2, wshape, TL_GROUP_BACKBONE, 0, TL_INIT_DEFAULT, in);
        op.b = tl_model_add_tensor(m, bname, 1, &h, TL_GROUP_BACKBONE, 0, TL_INIT_DEFAULT, in);
        x = tl_net_push(&m->net, &op, (tl_chw){h, 1, 1});
        if (x >= 0) x = tl_block_bn(m, x, -1, 1, bn);
        if (x >= 0 && m->cfg.dropout > 0) {
            tl_op d = {.kind = TL_OP_DROPOUT, .in = x, .p = m->cfg.dropout};
            x = tl_net_push(&m->net, &d, m->net.shape[x]);
        }
    }
    return x;
}
