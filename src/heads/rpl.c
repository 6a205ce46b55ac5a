/* RPL, reciprocal points (docs/methods.md §13.1; iCGY96/ARPL loss/RPLoss.py). Class k has M reciprocal
 * points: representatives of everything that is NOT k, so a sample belongs to k when it is far from them.
 *   logits[i,k] = γ · d_e(x_i, k)                        (d_e: heads/points.h; CE on them = CE(d_e/temp), γ = 1/temp)
 *   regularizer  λ · (1/N) Σ_i (d_e(x_i, y_i) − R_{y_i})²  (open-space loss, F.mse_loss against the learnable radius)
 * Tensors: head.points [C·M, D], init 0.1·N(0, 1) (Dist's init: kaiming_normal_ with fan_in 200 has
 * exactly that std); head.radius [1] (shared, as the reference) or [C] (radius=per-class, the paper's R^k),
 * init 0. Both train with the network (same optimizer and weight decay, as the reference).
 * Keys: points=M (1), gamma=γ (1), lambda=λ (0.1, weight_pl), radius=shared|per-class,
 * score=prob|logit: the known-ness score is max_k softmax(logits)_k (default, docs/methods.md §13.1) or
 * the largest logit γ·max_k d_e. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/points.h"
#include "models/model.h"

static const char *const radius_kinds[] = {"shared", "per-class"};
static const char *const score_kinds[] = {"prob", "logit"};

typedef struct {
    size_t q, r;
    int M, per_class, score;
    double gamma, lambda;
    float *dist, *G;    /* [N, C]: d_e of the last forward, scratch ∂L/∂d_e */
    double *dr;         /* [C] scratch: ∂L_o/∂R per radius */
} rpl_priv;

static int rpl_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    int M, per_class, score;
    double gamma, lambda;
    if (tl_spec_int(spec, "points", 1, &M, err) || tl_spec_double(spec, "gamma", 1, &gamma, err) ||
        tl_spec_double(spec, "lambda", 0.1, &lambda, err) ||
        tl_spec_choice(spec, "radius", radius_kinds, 2, 0, &per_class, err) ||
        tl_spec_choice(spec, "score", score_kinds, 2, 0, &score, err))
        return -1;
    rpl_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    *p = (rpl_priv){.M = M, .per_class = per_class, .score = score, .gamma = gamma, .lambda = lambda};
    p->dist = malloc((size_t)h->N * h->C * sizeof(float));
    p->G = malloc((size_t)h->N * h->C * sizeof(float));
    p->dr = malloc((size_t)h->C * sizeof(double));
    if (!p->dist || !p->G || !p->dr) return tl_fail(err, "out of memory");
    int qshape[2] = {h->C * M, h->D}, nr = per_class ? h->C : 1;
    p->q = tl_model_add_tensor(m, "head.points", 2, qshape, TL_GROUP_HEAD, 0, TL_INIT_KAIMING_NORMAL, 200);
    p->r = tl_model_add_tensor(m, "head.radius", 1, &nr, TL_GROUP_HEAD, 0, TL_INIT_ZEROS, 1);
    return 0;
}

static void rpl_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    rpl_priv *p = h->priv;
    tl_point_dist_forward(p->dist, feat, params + p->q, h->N, h->D, h->C, p->M, h->nthreads);
    size_t n = (size_t)h->N * h->C;
    for (size_t i = 0; i < n; i++) logits[i] = (float)(p->gamma * p->dist[i]);
}

static void rpl_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                         const int *labels, const float *params) {
    rpl_priv *p = h->priv;
    size_t n = (size_t)h->N * h->C;
    for (size_t i = 0; i < n; i++) p->G[i] = (float)(p->gamma * dlogits[i]);
    tl_point_dist_backward(dfeat, grads + p->q, p->G, feat, params + p->q, h->N, h->D, h->C, p->M, h->nthreads);
}

/* L_o = (λ/N) Σ_i (d_i − R)², d_i = d_e(x_i, y_i): ∂/∂d_i = 2λ(d_i − R)/N, ∂/∂R = −Σ_i of the same. */
static double rpl_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                              const float *params) {
    rpl_priv *p = h->priv;
    int N = h->N, C = h->C, nr = p->per_class ? C : 1;
    memset(p->G, 0, (size_t)N * C * sizeof(float));
    memset(p->dr, 0, (size_t)nr * sizeof(double));
    double loss = 0;
    for (int i = 0; i < N; i++) {
        int y = labels[i], r = p->per_class ? y : 0;
        double e = (double)p->dist[(size_t)i * C + y] - params[p->r + r];
        double g = 2.0 * p->lambda * e / N;
        loss += e * e;
        p->G[(size_t)i * C + y] = (float)g;
        p->dr[r] += g;
    }
    for (int r = 0; r < nr; r++) grads[p->r + r] -= (float)p->dr[r];
    tl_point_dist_backward(dfeat, grads + p->q, p->G, feat, params + p->q, N, h->D, C, p->M, h->nthreads);
    return p->lambda * loss / N;
}

static void rpl_score(tl_head *h, float *score, const float *logits, const float *feat, const float *params) {
    const rpl_priv *p = h->priv;
    if (p->score) tl_head_max_logit(score, logits, h->N, h->C);
    else tl_head_max_softmax(score, logits, h->N, h->C);
}

static void rpl_destroy(tl_head *h) {
    rpl_priv *p = h->priv;
    if (!p) return;
    free(p->dist);
    free(p->G);
    free(p->dr);
    free(p);
}

const tl_head_ops tl_head_rpl = {.name = "rpl", .create = rpl_create, .forward = rpl_forward,
                                 .backward = rpl_backward, .destroy = rpl_destroy,
                                 .regularizer = rpl_regularizer, .unknown_score = rpl_score,
    .keys = "points=1,gamma=1,lambda=0.1,radius=shared|per-class,score=prob|logit",
    .help = "reciprocal points (open set): logits grow with the distance to each class's points, plus the open-space loss"};
