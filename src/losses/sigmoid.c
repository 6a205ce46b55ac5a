/* Sigmoid cross-entropy and sigmoid focal loss, the Class-Balanced code's form (docs/methods.md §3.4):
 * each class is a binary problem with target t_ij = 1[j = y_i];
 *   BCE_ij = softplus(z_ij) - t_ij z_ij,   M_ij = (1 - p_t)^γ = exp(-γ t_ij z_ij - γ softplus(-z_ij)),
 *   L = Σ_i w_{y_i} Σ_j M_ij BCE_ij / N      (normalised by the number of positive labels, N),
 *   ∂L/∂z_ij = w_{y_i} M_ij [(σ(z_ij) - t_ij) - γ (σ(z_ij) + t_ij - 1) BCE_ij] / N.
 * γ = 0 (the default) is plain sigmoid CE: torch binary_cross_entropy_with_logits(z, onehot,
 * reduction='sum') / N with per-row weights. Key: gamma >= 0. With weights=effective this is CB-sigmoid
 * / CB-focal (§3.5). The reference initialises the linear head's bias to -log(C - 1) (σ(b) = 1/C): the
 * loss's initialise does it (tl_loss_init_model). */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "losses/loss.h"
#include "models/model.h"

typedef struct { double gamma; } sigmoid_priv;

static double softplus(double u) { return fmax(u, 0) + log1p(exp(-fabs(u))); }

static int sigmoid_create(tl_loss *l, tl_spec *spec, tl_error *err) {
    double gamma;
    if (tl_spec_double(spec, "gamma", 0, &gamma, err)) return -1;
    sigmoid_priv *p = malloc(sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    p->gamma = gamma;
    l->priv = p;
    return 0;
}

static double sigmoid_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    const sigmoid_priv *p = l->priv;
    int C = l->C;
    double g = p->gamma, loss = 0;
    for (int i = 0; i < N; i++) {
        double wi = (w ? w[y[i]] : 1.0) / N;
        for (int j = 0; j < C; j++) {
            double z = logits[(size_t)i * C + j], t = j == y[i];
            double bce = softplus(z) - t * z, sig = 1.0 / (1.0 + exp(-z));
            double mod = g > 0 ? exp(-g * t * z - g * softplus(-z)) : 1.0;
            loss += wi * mod * bce;
            dlogits[(size_t)i * C + j] = (float)(wi * mod * ((sig - t) - g * (sig + t - 1) * bce));
        }
    }
    return loss;
}

static void sigmoid_destroy(tl_loss *l) { free(l->priv); }

/* A head with a bias (the linear head) starts it at -log(C - 1); other heads are left as they are. */
static void sigmoid_initialise(const tl_loss *l, struct tl_model *m) {
    const tl_tensor_info *b = tl_model_find(m, "head.bias");
    if (!b) return;
    float v = (float)(l->C > 1 ? -log(l->C - 1.0) : 0);
    for (size_t j = 0; j < b->numel; j++) m->params[b->off + j] = v;
}

const tl_loss_ops tl_loss_sigmoid = {"sigmoid", sigmoid_create, sigmoid_compute, sigmoid_destroy,
    .initialise = sigmoid_initialise,
    .keys = "gamma=0",
    .help = "one sigmoid cross-entropy per class (gamma > 0: the sigmoid focal loss); a linear head's bias starts at -log(C-1)"};
