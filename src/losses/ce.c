/* Softmax cross-entropy (methods.md §0.3, §3.2): torch.nn.functional.cross_entropy(z, y, weight=w),
 * i.e. the weighted mean Σ w_y CE_i / Σ w_y (plain mean without weights). */
#include <math.h>
#include "losses/loss.h"
#include "losses/softmax.h"

static int ce_create(tl_loss *l, tl_spec *spec, tl_error *err) { (void)l; (void)spec; (void)err; return 0; }

static double ce_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    int C = l->C;
    if (!w) return tl_softmax_ce(dlogits, logits, y, N, C);
    double wsum = 0, loss = 0;
    for (int i = 0; i < N; i++) wsum += w[y[i]];
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        double lse = tl_logsumexp(z, C), wi = w[y[i]] / wsum;
        loss += wi * (lse - z[y[i]]);
        float *d = dlogits + (size_t)i * C;
        for (int j = 0; j < C; j++) d[j] = (float)(wi * (exp((double)z[j] - lse) - (j == y[i])));
    }
    return loss;
}

const tl_loss_ops tl_loss_ce = {"ce", ce_create, ce_compute, NULL};
