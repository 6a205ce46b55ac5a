/* Softmax focal loss (docs/methods.md §3.3), with p = softmax(z_i)_{y_i} and class weights a (1 when off):
 *   FL_i = -a_{y_i} (1 - p)^γ log p,   L = mean_i FL_i,
 *   ∂FL_i/∂z_ij = a_{y_i} [γ p (1 - p)^(γ-1) log p - (1 - p)^γ] (1[j = y_i] - p_ij).
 * log p comes from log-softmax and 1 - p = -expm1(log p); when 1 - p < 1e-12 the row's gradient is 0
 * (its limit for γ > 0; (1 - p)^(γ-1) would give inf·0 there). Default γ = 1, the CIFAR-LT "Focal"
 * baseline of the LDAM-DRW code (the detection paper uses 2).
 * variant=ldam is the LDAM-DRW code's FocalLoss: ℓ_i = w_{y_i} CE_i, FL_i = (1 - e^{-ℓ_i})^γ ℓ_i,
 * plain mean; the same as above without weights, different with them. */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "losses/loss.h"
#include "losses/softmax.h"

typedef struct { double gamma; int ldam; } focal_priv;

static int focal_create(tl_loss *l, tl_spec *spec, tl_error *err) {
    static const char *const variants[] = {"standard", "ldam"};
    double gamma;
    int variant;
    if (tl_spec_double(spec, "gamma", 1, &gamma, err) ||
        tl_spec_choice(spec, "variant", variants, 2, 0, &variant, err))
        return -1;
    focal_priv *p = malloc(sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    *p = (focal_priv){gamma, variant};
    l->priv = p;
    return 0;
}

static double focal_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    const focal_priv *p = l->priv;
    int C = l->C;
    double g = p->gamma, loss = 0;
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        float *d = dlogits + (size_t)i * C;
        double a = w ? w[y[i]] : 1.0;
        /* d = softmax - onehot, i.e. ∂CE/∂z; both forms scale it by one factor per row. */
        double ce = tl_softmax_ce_row(d, z, NULL, 0, y[i], C, 1.0), f;
        if (p->ldam) {
            double ell = a * ce, omp = -expm1(-ell);   /* 1 - p' */
            loss += pow(omp, g) * ell;
            f = omp < 1e-12 ? 0 : (pow(omp, g) + (g > 0 ? g * ell * exp(-ell) * pow(omp, g - 1) : 0)) * a;
        } else {
            double logp = -ce, omp = -expm1(logp);   /* 1 - p */
            loss += -a * pow(omp, g) * logp;
            /* ∂FL/∂z_j = a [(1-p)^γ - γ p (1-p)^(γ-1) log p] (p_j - 1[j=y]) */
            f = omp < 1e-12 ? 0 : a * (pow(omp, g) - (g > 0 ? g * exp(logp) * pow(omp, g - 1) * logp : 0));
        }
        for (int j = 0; j < C; j++) d[j] = (float)(f * d[j] / N);
    }
    return loss / N;
}

static void focal_destroy(tl_loss *l) { free(l->priv); }

const tl_loss_ops tl_loss_focal = {"focal", focal_create, focal_compute, focal_destroy,
    .keys = "gamma=1,variant=standard|ldam",
    .help = "softmax focal loss (1-p)^gamma·CE; variant=ldam is the LDAM-DRW code's form"};
