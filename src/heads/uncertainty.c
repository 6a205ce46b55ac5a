/* "Striking the right balance with uncertainty" (Khan et al., CVPR 2019, arXiv 1901.07590) in
 * tailor's formulation (methods.md §5.2-5.3; docs/methods-notes.md says how each gap of the paper
 * was filled). An A-Softmax (default) or L-Softmax head, head.weight [C, D], whose target logit
 * carries a class margin m_c from Monte-Carlo-dropout uncertainty and a penalty from the sample's
 * probability of misclassification:
 *   f_j = ρ_j c_j (j ≠ y; every logit at inference),  ρ_j = ‖x‖ (A-Softmax) or ‖x‖‖w_j‖ (L-Softmax)
 *   f_y = (λ ρ_y c_y + ρ_y [ψ_{m_y}(θ_y) − α P]) / (1 + λ)        (ψ for real m, margin.h)
 *   P   = Φ(μ_e/σ_e), μ_e = a·x, σ_e = sqrt(Σ_d a_d² s_d + ε²), a = w_{j*} − w_y (normalised rows for
 *         A-Softmax), s_d = x_d² p/(1 − p) (the exact variance of inverted dropout on x), ε = 1e-6,
 *         j* = argmax_{j≠y} f_j (a constant index); competitor=union: P = min(1, Σ_{j≠y} Φ(r_j)).
 * Dropout (p) is modelled analytically in P and is not applied in the training forward.
 * Class margins (state head.margins [C], 1 at the start) are refreshed at the start of epoch E_w =
 * max(1, round(warmup·E)) and every max(1, round(every·E)) epochs after: for each training image
 * (no augmentation, BatchNorm in evaluation mode) T passes of the head's plain logits on
 * x̃ = x ⊙ ζ/(1 − p), q_t = softmax; v_i = τ⁻¹ + mean_t q_t[y]² − (mean_t q_t[y])², u_c = mean of
 * v_i over class c, m_c = 1 + (m − 1) u_c / max_k u_k. Before E_w the penalty is off (α = 0) and all
 * margins are 1 (a plain head). λ anneals per training forward as in sphere.c.
 * Keys: m=3, T=10, p=0.5, alpha=1, tau_inv=0, competitor=max|union, penalty_grad=exact|detach,
 * weights=normalized|raw, warmup=0.1, every=0.1, base=1000, gamma=0.12, power=1, lambda_min=5. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "heads/head.h"
#include "heads/margin.h"
#include "heads/normed.h"
#include "models/model.h"

#define SIGMA_EPS 1e-6

typedef struct {
    int raw, T, unionp, detach, active;
    double mbase, p, alpha, tau_inv, warmup, every;
    double base, gamma, power, lambda_min, lambda;
    size_t w, margins;
    tl_normed n;
    int *jstar;             /* [N] strongest competitor */
    double *hy, *dhy, *P;   /* [N] (λc + ψ)/(1+λ), its derivative, the penalty P */
    double *dwx;            /* [C, D] penalty gradient w.r.t. the (normalised or raw) class vectors */
    double *dxp;            /* [N, D] penalty gradient w.r.t. the features */
    double *u, *cnt;        /* [C] refresh accumulators */
} unc_priv;

static int unc_create(tl_head *h, tl_spec *spec, struct tl_model *model, tl_error *err) {
    static const char *const comp[] = {"max", "union"}, *const pg[] = {"exact", "detach"},
                             *const wts[] = {"normalized", "raw"};
    unc_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    if (tl_spec_double(spec, "m", 3, &p->mbase, err) || tl_spec_int(spec, "T", 10, &p->T, err) ||
        tl_spec_double(spec, "p", 0.5, &p->p, err) || tl_spec_double(spec, "alpha", 1, &p->alpha, err) ||
        tl_spec_double(spec, "tau_inv", 0, &p->tau_inv, err) ||
        tl_spec_choice(spec, "competitor", comp, 2, 0, &p->unionp, err) ||
        tl_spec_choice(spec, "penalty_grad", pg, 2, 0, &p->detach, err) ||
        tl_spec_choice(spec, "weights", wts, 2, 0, &p->raw, err) ||
        tl_spec_double(spec, "warmup", 0.1, &p->warmup, err) || tl_spec_double(spec, "every", 0.1, &p->every, err) ||
        tl_spec_double(spec, "base", 1000, &p->base, err) || tl_spec_double(spec, "gamma", 0.12, &p->gamma, err) ||
        tl_spec_double(spec, "power", 1, &p->power, err) || tl_spec_double(spec, "lambda_min", 5, &p->lambda_min, err))
        return -1;
    p->active = 1;   /* outside a training run (no epoch hook) the head is fully on */
    int N = h->N, C = h->C;
    p->jstar = malloc((size_t)N * sizeof *p->jstar);
    p->hy = malloc((size_t)N * sizeof(double));
    p->dhy = malloc((size_t)N * sizeof(double));
    p->P = malloc((size_t)N * sizeof(double));
    p->dwx = malloc((size_t)C * h->D * sizeof(double));
    p->dxp = malloc((size_t)N * h->D * sizeof(double));
    p->u = malloc((size_t)C * sizeof(double));
    p->cnt = malloc((size_t)C * sizeof(double));
    if (!p->jstar || !p->hy || !p->dhy || !p->P || !p->dwx || !p->dxp || !p->u || !p->cnt || tl_normed_init(&p->n, N, C, h->D))
        return tl_fail(err, "out of memory");
    int wshape[2] = {C, h->D};
    p->w = tl_model_add_tensor(model, "head.weight", 2, wshape, TL_GROUP_HEAD, 0,
                               p->raw ? TL_INIT_DEFAULT : TL_INIT_UNIT_ROWS, h->D);
    p->margins = tl_model_add_tensor(model, "head.margins", 1, &C, TL_GROUP_HEAD, 1, TL_INIT_ONES, 1);
    return 0;
}

static double rho(const unc_priv *p, int i, int j) { return p->n.xnorm[i] * (p->raw ? p->n.wnorm[j] : 1); }

/* Class vector j as used in a: the normalised row (A-Softmax) or the raw one. */
static double wv(const unc_priv *p, const float *W, int j, int d, int D) {
    return p->raw ? W[(size_t)j * D + d] : p->n.what[(size_t)j * D + d];
}

/* μ_e and σ_e of the error e = aᵀx̃ for competitor j of sample i. */
static void error_stats(const unc_priv *p, const float *x, const float *W, int y, int j, int D, double *mu, double *sig) {
    double m = 0, v = SIGMA_EPS * SIGMA_EPS, k = p->p / (1 - p->p);
    for (int d = 0; d < D; d++) {
        double a = wv(p, W, j, d, D) - wv(p, W, y, d, D);
        m += a * x[d];
        v += a * a * (double)x[d] * x[d] * k;
    }
    *mu = m;
    *sig = sqrt(v);
}

static double Phi(double r) { return 0.5 * erfc(-r / M_SQRT2); }

static void unc_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    unc_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D;
    const float *W = params + p->w, *margins = h->model->state + p->margins;
    tl_normed_forward(&p->n, feat, W);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++) logits[(size_t)i * C + j] = (float)(rho(p, i, j) * p->n.cos[(size_t)i * C + j]);
    if (!labels) return;
    h->forwards++;
    p->lambda = fmax(p->lambda_min, p->base * pow(1 + p->gamma * (double)h->forwards, -p->power));
    for (int i = 0; i < N; i++) {
        int y = labels[i], js = -1;
        const float *x = feat + (size_t)i * D;
        for (int j = 0; j < C; j++)
            if (j != y && (js < 0 || logits[(size_t)i * C + j] > logits[(size_t)i * C + js])) js = j;
        p->jstar[i] = js;
        double P = 0;
        if (p->active && p->alpha > 0 && js >= 0) {
            for (int j = 0; j < C; j++) {
                if (j == y || (!p->unionp && j != js)) continue;
                double mu, sig;
                error_stats(p, x, W, y, j, D, &mu, &sig);
                P += Phi(mu / sig);
            }
            if (P > 1) P = 1;
        }
        p->P[i] = P;
        size_t k = (size_t)i * C + y;
        double c = p->n.cos[k], dpsi, psi = tl_margin_psi_real(&dpsi, c, margins[y]);
        p->hy[i] = (p->lambda * c + psi) / (1 + p->lambda);
        p->dhy[i] = (p->lambda + dpsi) / (1 + p->lambda);
        double alpha = p->active ? p->alpha : 0;
        logits[k] = (float)(rho(p, i, y) * (p->hy[i] - alpha * P / (1 + p->lambda)));
    }
}

static void unc_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                         const int *labels, const float *params) {
    unc_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D;
    const float *W = params + p->w;
    tl_normed *n = &p->n;
    double alpha = p->active ? p->alpha : 0, kp = p->p / (1 - p->p);
    memset(p->dwx, 0, (size_t)C * D * sizeof *p->dwx);
    for (int j = 0; j < C; j++) n->gw[j] = 0;
    for (int i = 0; i < N; i++) {
        n->gx[i] = 0;
        int y = labels ? labels[i] : -1;
        for (int j = 0; j < C; j++) {
            size_t k = (size_t)i * C + j;
            double r = rho(p, i, j), hv = n->cos[k], dh = 1;
            if (j == y) { hv = p->hy[i] - alpha * p->P[i] / (1 + p->lambda); dh = p->dhy[i]; }
            n->g[k] = dlogits[k] * r * dh;
            n->gx[i] += dlogits[k] * hv * r / n->xnorm[i];
            if (p->raw) n->gw[j] += dlogits[k] * hv * r / n->wnorm[j];
        }
    }
    /* the penalty: f_y ∋ −α ρ_y P/(1+λ); ∂P = φ(r)(∂μ − r ∂σ)/σ over the competitors in P */
    double *dxp = p->dxp;
    memset(dxp, 0, (size_t)N * D * sizeof *dxp);
    int any = 0;
    for (int i = 0; labels && alpha > 0 && !p->detach && i < N; i++) {
        int y = labels[i];
        double P = 0, coef = -alpha * rho(p, i, y) * dlogits[(size_t)i * C + y] / (1 + p->lambda);
        const float *x = feat + (size_t)i * D;
        if (p->unionp) {   /* the min(1, ·) passes no gradient once the sum reaches 1 */
            for (int j = 0; j < C; j++) {
                if (j == y) continue;
                double mu, sig;
                error_stats(p, x, W, y, j, D, &mu, &sig);
                P += Phi(mu / sig);
            }
            if (P >= 1) continue;
        }
        for (int j = 0; j < C; j++) {
            if (j == y || (!p->unionp && j != p->jstar[i])) continue;
            double mu, sig;
            error_stats(p, x, W, y, j, D, &mu, &sig);
            double r = mu / sig, phi = exp(-0.5 * r * r) / sqrt(2 * M_PI), dmu = coef * phi / sig, dsig = -dmu * r;
            for (int d = 0; d < D; d++) {
                double a = wv(p, W, j, d, D) - wv(p, W, y, d, D), xd = x[d];
                dxp[(size_t)i * D + d] += dmu * a + dsig * a * a * xd * kp / sig;
                double da = dmu * xd + dsig * a * xd * xd * kp / sig;
                p->dwx[(size_t)j * D + d] += da;
                p->dwx[(size_t)y * D + d] -= da;
            }
            any = 1;
        }
    }
    n->dwhat_extra = any && !p->raw ? p->dwx : NULL;
    tl_normed_backward(n, dfeat, grads + p->w, 1);
    n->dwhat_extra = NULL;
    if (!any) return;
    if (dfeat)
        for (size_t k = 0; k < (size_t)N * D; k++) dfeat[k] += (float)dxp[k];
    if (p->raw)
        for (size_t k = 0; k < (size_t)C * D; k++) grads[p->w + k] += (float)p->dwx[k];
}

static int refresh_epoch(const unc_priv *p, int epoch, int epochs) {
    int ew = (int)fmax(1, round(p->warmup * epochs)), every = (int)fmax(1, round(p->every * epochs));
    return epoch >= ew && (epoch - ew) % every == 0;
}

/* Monte-Carlo refresh of the class margins from the training set (no augmentation, BN in evaluation
 * mode); the backbone runs once per image and only the head's dropout is sampled T times. */
static int unc_refresh(tl_head *h, const tl_head_epoch *e, tl_error *err) {
    unc_priv *p = h->priv;
    struct tl_model *m = h->model;
    const tl_dataset *d = e->train;
    int B = m->N, C = h->C, D = h->D;
    const float *W = m->params + p->w;
    tl_loader *L = tl_loader_create(d, e->mean, e->std, NULL, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w, B, 0,
                                    d->images ? tl_loader_default_workers(m->net.nthreads) : 0, err);
    int *order = malloc((size_t)(d->n ? d->n : 1) * sizeof *order);
    double *xt = malloc((size_t)D * sizeof *xt), *f = malloc((size_t)C * sizeof *f);
    if (!L || !order || !xt || !f) {
        tl_loader_free(L); free(order); free(xt); free(f);
        return L ? tl_fail(err, "--head uncertainty: out of memory") : -1;
    }
    for (int i = 0; i < d->n; i++) order[i] = i;
    int rc = tl_loader_start(L, order, d->n, e->epoch, 0, err), got = 0;
    memset(p->u, 0, (size_t)C * sizeof *p->u);
    memset(p->cnt, 0, (size_t)C * sizeof *p->cnt);
    tl_normed_weights(&p->n, W);
    tl_rng rng;
    tl_rng_seed(&rng, e->seed ^ ((uint64_t)(e->epoch + 1) << 32), TL_RNG_DROPOUT);
    size_t row = (size_t)m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
    const float *x;
    const int *y;
    while (rc == 0 && (got = tl_loader_next(L, &x, &y, err)) > 0) {
        memcpy(tl_model_input(m), x, (size_t)got * row * sizeof *x);
        if ((rc = tl_net_forward(&m->net, m->params, m->state, 0, NULL, err))) break;
        const float *feat = tl_model_features(m);
        for (int i = 0; i < got; i++) {
            double s1 = 0, s2 = 0;
            for (int t = 0; t < p->T; t++) {
                for (int k = 0; k < D; k++)
                    xt[k] = tl_rng_uniform(&rng) < p->p ? 0 : feat[(size_t)i * D + k] / (1 - p->p);
                double mx = -INFINITY, z = 0;
                for (int j = 0; j < C; j++) {   /* plain logits w_j·x̃ (ŵ_j·x̃ for A-Softmax) */
                    double s = 0;
                    for (int k = 0; k < D; k++) s += wv(p, W, j, k, D) * xt[k];
                    f[j] = s;
                    mx = fmax(mx, s);
                }
                for (int j = 0; j < C; j++) z += exp(f[j] - mx);
                double q = exp(f[y[i]] - mx) / z;
                s1 += q; s2 += q * q;
            }
            double mu = s1 / p->T;
            p->u[y[i]] += p->tau_inv + s2 / p->T - mu * mu;
            p->cnt[y[i]] += 1;
        }
    }
    tl_loader_free(L);
    free(order); free(xt); free(f);
    if (rc || got < 0) return -1;
    double umax = 0;
    for (int c = 0; c < C; c++) { p->u[c] = p->cnt[c] > 0 ? p->u[c] / p->cnt[c] : 0; umax = fmax(umax, p->u[c]); }
    float *margins = m->state + p->margins;
    for (int c = 0; c < C; c++) margins[c] = (float)(umax > 0 ? 1 + (p->mbase - 1) * p->u[c] / umax : 1);
    return 0;
}

static int unc_epoch_begin(tl_head *h, const tl_head_epoch *e, tl_error *err) {
    unc_priv *p = h->priv;
    p->active = e->epoch >= (int)fmax(1, round(p->warmup * e->epochs));
    if (e->step == 0 && refresh_epoch(p, e->epoch, e->epochs)) return unc_refresh(h, e, err);
    return 0;
}

static void unc_destroy(tl_head *h) {
    unc_priv *p = h->priv;
    if (!p) return;
    tl_normed_free(&p->n);
    free(p->jstar); free(p->hy); free(p->dhy); free(p->P); free(p->dwx); free(p->dxp); free(p->u); free(p->cnt);
    free(p);
}

const tl_head_ops tl_head_uncertainty = {.name = "uncertainty", .create = unc_create, .forward = unc_forward,
    .backward = unc_backward, .destroy = unc_destroy, .epoch_begin = unc_epoch_begin};
