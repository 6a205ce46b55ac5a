/* Logit-adjusted losses: the prior is added to the logits inside the softmax during training only.
 *   logit-adjust[:tau=1]  u = z + a, a_c = log(π_c^τ + 1e-12), π_c = n_c / Σn   (docs/methods.md §3.7)
 *   balanced-softmax      u = z + log n_c                                       (docs/methods.md §3.8)
 * L = CE(u, y), mean over the batch (PyTorch's weighted mean when class weights are on);
 * ∂L/∂z = ∂L/∂u. Prediction uses the plain z. */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "losses/loss.h"

void tl_logit_adjustment(double *a, const int64_t *count, int C, double tau) {
    double total = 0;
    for (int c = 0; c < C; c++) total += (double)count[c];
    for (int c = 0; c < C; c++) a[c] = log(pow((double)count[c] / total, tau) + 1e-12);
}

static int la_create(tl_loss *l, tl_spec *spec, tl_error *err) {
    double tau;
    if (tl_spec_double(spec, "tau", 1, &tau, err)) return -1;
    double *a = malloc((size_t)l->C * sizeof *a);
    if (!a) return tl_fail(err, "out of memory");
    tl_logit_adjustment(a, l->count, l->C, tau);
    l->priv = a;
    return 0;
}

static int bs_create(tl_loss *l, tl_spec *spec, tl_error *err) {
    for (int c = 0; c < l->C; c++)
        if (l->count[c] <= 0) return tl_spec_fail(err, spec, "class %d has no training images (log 0)", c);
    double *a = malloc((size_t)l->C * sizeof *a);
    if (!a) return tl_fail(err, "out of memory");
    for (int c = 0; c < l->C; c++) a[c] = log((double)l->count[c]);
    l->priv = a;
    return 0;
}

static double shifted_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    return tl_loss_shifted_ce(dlogits, logits, y, N, l->C, w, w ? l->batch_weight : 0, l->priv, NULL);
}

static void shifted_destroy(tl_loss *l) { free(l->priv); }

const tl_loss_ops tl_loss_logit_adjust = {"logit-adjust", la_create, shifted_compute, shifted_destroy,
    .keys = "tau=1",
    .help = "cross-entropy of the logits plus tau·log(training prior)"};
const tl_loss_ops tl_loss_balanced_softmax = {"balanced-softmax", bs_create, shifted_compute, shifted_destroy,
    .keys = "",
    .help = "cross-entropy of the logits plus log(n_c)"};
