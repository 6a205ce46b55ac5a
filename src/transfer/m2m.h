/* M2m, major-to-minor translation (docs/methods.md §12), as plain kernels shared by the --synth m2m hook
 * (m2m.c) and its tests: the slot and seed plan of a batch, the random start, the objective with its
 * input gradient through two frozen networks, and the normalised descent step.
 *
 * Pixel space. The networks take normalised raw values ((v − mean)/std per channel, v = pixels
 * 0..255 for images); the generation works in the reference's [0, 1] pixel space p = v/scale
 * (scale = 255 for images), where the clamp, the noise radius 0.5 and the step size η apply. */
#ifndef TL_TRANSFER_M2M_H
#define TL_TRANSFER_M2M_H
#include <stdint.h>
#include "core/rng.h"
#include "models/model.h"

/* A network of the objective and its input normalisation [in_c] (over raw values). */
typedef struct {
    tl_model *model;
    const float *mean, *std;
} tl_m2m_net;

/* P_accept(k0 | k) = 1 − β^max(N_k0 − N_k, 0) of a seed of a class with n_seed training images for a
 * target class with n_target (§12.3). */
double tl_m2m_accept_prob(int64_t n_seed, int64_t n_target, double beta);

/* The generation plan of one batch (§12.3–12.4). Row i (label y[i]) becomes a slot with probability
 * 1 − count[y_i]/N_max (one uniform draw per row, in row order); each slot, in row order, draws a seed
 * row j of the batch with probability ∝ P_accept(y_j | y_i), or is dropped when every candidate has
 * P_accept = 0 (no draw). Writes for the S kept slots (S ≤ N): row[s] (the slot's batch row), seed[s]
 * (its seed's row) and accept[s] (the seed's P_accept); *nslots = the slots before dropping. Returns S. */
int tl_m2m_plan(int *row, int *seed, double *accept, int *nslots, const int *y, int N, const int64_t *count, int C,
                double beta, tl_rng *rng);

/* The random start of §12.2 for one image of D values: p = clamp(x0 + r, 0, 1), r uniform(−0.5, 0.5)
 * rescaled to L2 norm ≤ 0.5 over the whole image ([tailor]; torch: r.renorm(2, 0, 0.5) on one row,
 * i.e. r·0.5/(‖r‖ + 1e-7) when ‖r‖ > 0.5). D uniform draws. p and x0 must not overlap. */
void tl_m2m_random_start(float *p, const float *x0, int D, tl_rng *rng);

/* The objective of §12.1 on the first S rows of a packed batch p [N, c, h, w] in [0, 1] pixel space
 * (N = both models' batch size; rows S.. are padding and ignored), both networks in evaluation mode:
 *     L = (1/S) Σ_{j<S} [ CE(g(x_j), k_j) + λ·f(x_j)_{k0_j} ],   x_j = (scale·p_j − mean)/std per net
 * (batch means, as the reference's CrossEntropyLoss and classwise_loss). When G is not NULL, writes
 * G = ∂L/∂p [N, c, h, w] (rows ≥ S zero). Leaves g's logits in g->model->logits. Overwrites both
 * models' input buffers, activations and parameter gradients. Writes L to *loss and returns 0, or -1
 * when a forward or backward fails (err names the op).
 * torch: F.cross_entropy(g(xg), k) + lam·f(xf).gather(1, k0[:, None]).mean(), autograd w.r.t. p. */
int tl_m2m_objective(double *loss, float *G, const tl_m2m_net *g, const tl_m2m_net *f, const float *p, const int *k,
                     const int *k0, int S, double lambda, float scale, tl_error *err);

/* The step of §12.2 on S rows of D values: p ← clamp(p − η·G/(‖G‖₂ + 1e-10), 0, 1), norm per row. */
void tl_m2m_step(float *p, const float *G, int S, int D, double eta);

#endif
