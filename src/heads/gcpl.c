/* GCPL, generalized convolutional prototype learning (docs/methods.md §13.3; iCGY96/ARPL loss/GCPLoss.py).
 * Class k has M prototypes representing the class itself, so a sample belongs to the nearest:
 *   logits[i,k] = −γ · d_e(x_i, k)                       (d_e: heads/points.h; γ = 1/temp)
 *   regularizer  λ · (1/(2N)) Σ_i d_e(x_i, y_i)          (prototype loss; for M = 1 it is the reference's
 *                                                         F.mse_loss(x, q_y)/2 = Σ_i ‖x_i − q_{y_i}‖²/(2·N·D))
 * Tensor: head.prototypes [C·M, D], init 0.1·N(0, 1) (kaiming_normal_ with fan_in 200, as RPL).
 * Keys: points=M (1), gamma=γ (1), lambda=λ (0.1, weight_pl), score=prob|logit: the known-ness score
 * is max_k softmax(logits)_k (default) or the largest logit −γ·min_k d_e. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/points.h"
#include "models/model.h"

static const char *const score_kinds[] = {"prob", "logit"};

typedef struct {
    size_t q;
    int M, score;
    double gamma, lambda;
    float *dist, *G;    /* [N, C]: d_e of the last forward, scratch ∂L/∂d_e */
} gcpl_priv;

static int gcpl_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    int M, score;
    double gamma, lambda;
    if (tl_spec_int(spec, "points", 1, &M, err) || tl_spec_double(spec, "gamma", 1, &gamma, err) ||
        tl_spec_double(spec, "lambda", 0.1, &lambda, err) || tl_spec_choice(spec, "score", score_kinds, 2, 0, &score, err))
        return -1;
    gcpl_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    *p = (gcpl_priv){.M = M, .score = score, .gamma = gamma, .lambda = lambda};
    p->dist = malloc((size_t)h->N * h->C * sizeof(float));
    p->G = malloc((size_t)h->N * h->C * sizeof(float));
    if (!p->dist || !p->G) return tl_fail(err, "out of memory");
    int qshape[2] = {h->C * M, h->D};
    p->q = tl_model_add_tensor(m, "head.prototypes", 2, qshape, TL_GROUP_HEAD, 0, TL_INIT_KAIMING_NORMAL, 200);
    return 0;
}

static void gcpl_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    gcpl_priv *p = h->priv;
    tl_point_dist_forward(p->dist, feat, params + p->q, h->N, h->D, h->C, p->M, h->nthreads);
    size_t n = (size_t)h->N * h->C;
    for (size_t i = 0; i < n; i++) logits[i] = (float)(-p->gamma * p->dist[i]);
}

static void gcpl_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                          const int *labels, const float *params) {
    gcpl_priv *p = h->priv;
    size_t n = (size_t)h->N * h->C;
    for (size_t i = 0; i < n; i++) p->G[i] = (float)(-p->gamma * dlogits[i]);
    tl_point_dist_backward(dfeat, grads + p->q, p->G, feat, params + p->q, h->N, h->D, h->C, p->M, h->nthreads);
}

/* L_p = (λ/(2N)) Σ_i d_e(x_i, y_i): ∂/∂d_e(x_i, y_i) = λ/(2N). */
static double gcpl_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                               const float *params) {
    gcpl_priv *p = h->priv;
    int N = h->N, C = h->C;
    memset(p->G, 0, (size_t)N * C * sizeof(float));
    double loss = 0;
    for (int i = 0; i < N; i++) {
        loss += p->dist[(size_t)i * C + labels[i]];
        p->G[(size_t)i * C + labels[i]] = (float)(p->lambda / (2.0 * N));
    }
    tl_point_dist_backward(dfeat, grads + p->q, p->G, feat, params + p->q, N, h->D, C, p->M, h->nthreads);
    return p->lambda * loss / (2.0 * N);
}

static void gcpl_score(tl_head *h, float *score, const float *logits, const float *feat, const float *params) {
    const gcpl_priv *p = h->priv;
    if (p->score) tl_head_max_logit(score, logits, h->N, h->C);
    else tl_head_max_softmax(score, logits, h->N, h->C);
}

static void gcpl_destroy(tl_head *h) {
    gcpl_priv *p = h->priv;
    if (!p) return;
    free(p->dist);
    free(p->G);
    free(p);
}

const tl_head_ops tl_head_gcpl = {.name = "gcpl", .create = gcpl_create, .forward = gcpl_forward,
                                  .backward = gcpl_backward, .destroy = gcpl_destroy,
                                  .regularizer = gcpl_regularizer, .unknown_score = gcpl_score,
    .keys = "points=1,gamma=1,lambda=0.1,score=prob|logit",
    .help = "prototypes (open set): logits fall with the distance to each class's prototypes, plus the prototype loss"};
