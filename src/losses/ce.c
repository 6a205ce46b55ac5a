/* Softmax cross-entropy (docs/methods.md §0.3, §3.2): torch.nn.functional.cross_entropy(z, y, weight=w),
 * i.e. the weighted mean Σ w_y CE_i / Σ w_y (plain mean without weights). */
#include "losses/loss.h"
#include "losses/softmax.h"

static int ce_create(tl_loss *l, tl_spec *spec, tl_error *err) { (void)l; (void)spec; (void)err; return 0; }

static double ce_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    if (!w) return tl_softmax_ce(dlogits, logits, y, N, l->C);
    return tl_loss_shifted_ce(dlogits, logits, y, N, l->C, w, l->batch_weight, NULL, NULL);
}

const tl_loss_ops tl_loss_ce = {"ce", ce_create, ce_compute, NULL,
    .keys = "",
    .help = "softmax cross-entropy"};
