/* Additive-margin cosine heads (docs/methods.md §4.2-4.4). All three are the cosine head of §0.4
 * (head.weight [C, D], logits s·cos) with the target logit replaced by s·φ(c_y) in training:
 *   cosface:s=30,m=0.35                      φ = c − m (CosFace / AM-Softmax)
 *   arcface:s=30,m=0.5,rule=hard|easy|none   φ = cos(θ + m) with insightface's rule past π − m
 *   combined:s=30,m1=1,m2=0.3,m3=0.2,fallback=0   φ = cos(m1·θ + m2) − m3
 * arcface and combined take grad=exact|straight: straight passes ∂L/∂φ to c unchanged (the margin as a
 * constant offset, as insightface's CombinedMarginLoss computes it under no_grad). s = 30 is tailor's
 * default for C <= 100 (§15.2; the face-recognition s = 64 assumes thousands of classes). */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "heads/head.h"
#include "heads/margin.h"
#include "heads/normed.h"
#include "models/model.h"

enum { COSFACE, ARCFACE, COMBINED };

typedef struct {
    int kind, rule, fallback, straight;
    double m, m1, m2, m3;
    size_t w;
    tl_normed n;
    double *dphi;           /* [N] dφ/dc of each sample's target */
} margin_priv;

/* Clamps c for acos; *pass = 1 where the clamp passes gradient. */
static double clamp_cos(double c, double *pass) {
    const double lo = -1 + TL_MARGIN_DELTA, hi = 1 - TL_MARGIN_DELTA;
    *pass = c >= lo && c <= hi;
    return c < lo ? lo : c > hi ? hi : c;
}

double tl_margin_arcface(double *dphi, double c, double m, int rule) {
    double pass, cc = clamp_cos(c, &pass);
    double sn = sqrt(1 - cc * cc);   /* >= sqrt(2δ − δ²) > δ after the clamp */
    int on = rule == TL_ARC_NONE || (rule == TL_ARC_HARD ? cc > cos(M_PI - m) : cc > 0);
    if (!on) {
        *dphi = pass;
        return rule == TL_ARC_HARD ? cc - sin(M_PI - m) * m : cc;
    }
    *dphi = pass * (cos(m) + cc * sin(m) / sn);
    return cc * cos(m) - sn * sin(m);
}

double tl_margin_combined(double *dphi, double c, double m1, double m2, double m3, int fallback) {
    double pass, cc = clamp_cos(c, &pass);
    double th = acos(cc), a = m1 * th + m2, sn = sqrt(1 - cc * cc);
    if (fallback && a > M_PI) {
        *dphi = pass;
        return cc - (cos((M_PI - m2) / m1) + 1 + m3);
    }
    *dphi = pass * m1 * sin(a) / sn;
    return cos(a) - m3;
}

double tl_margin_psi(double *dpsi, double c, int m) {
    double t0 = 1, t1 = c, u0 = 0, u1 = 1;   /* T_{k−1}, T_k and U_{k−2}, U_{k−1} (U_{−1} = 0) at k = 1 */
    for (int k = 1; k < m; k++) {
        double t2 = 2 * c * t1 - t0, u2 = 2 * c * u1 - u0;
        t0 = t1; t1 = t2;
        u0 = u1; u1 = u2;
    }
    int k = 0;   /* now t1 = T_m(c) and T_m'(c) = m·U_{m−1}(c) = m·u1 */
    for (int j = 1; j < m; j++) k += c < cos(j * M_PI / m);
    double sign = k % 2 ? -1 : 1;
    *dpsi = sign * m * u1;
    return sign * t1 - 2 * k;
}

double tl_margin_psi_real(double *dpsi, double c, double m) {
    double pass, cc = clamp_cos(c, &pass);
    double th = acos(cc), sn = sqrt(1 - cc * cc);
    int k = (int)floor(m * th / M_PI), kmax = (int)ceil(m) - 1;
    if (k > kmax) k = kmax;
    double sign = k % 2 ? -1 : 1;
    *dpsi = pass * sign * m * sin(m * th) / sn;
    return sign * cos(m * th) - 2 * k;
}

static int margin_create(tl_head *h, tl_spec *spec, struct tl_model *model, int kind, tl_error *err) {
    static const char *const rules[] = {"hard", "easy", "none"}, *const grads[] = {"exact", "straight"};
    double s;
    margin_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    p->kind = kind;
    if (tl_spec_double(spec, "s", 30, &s, err)) return -1;
    if (kind == COSFACE && tl_spec_double(spec, "m", 0.35, &p->m, err)) return -1;
    if (kind == ARCFACE) {
        if (tl_spec_double(spec, "m", 0.5, &p->m, err) || tl_spec_choice(spec, "rule", rules, 3, TL_ARC_HARD, &p->rule, err))
            return -1;
    }
    if (kind == COMBINED) {
        if (tl_spec_double(spec, "m1", 1, &p->m1, err) || tl_spec_double(spec, "m2", 0.3, &p->m2, err) ||
            tl_spec_double(spec, "m3", 0.2, &p->m3, err) || tl_spec_bool(spec, "fallback", 0, &p->fallback, err))
            return -1;
    }
    if (kind != COSFACE && tl_spec_choice(spec, "grad", grads, 2, 0, &p->straight, err)) return -1;
    h->scale = s;
    h->normalized = 1;
    p->dphi = malloc((size_t)h->N * sizeof *p->dphi);
    if (!p->dphi || tl_normed_init(&p->n, h->N, h->C, h->D)) return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(model, "head.weight", 2, wshape, TL_GROUP_HEAD, 0, TL_INIT_UNIT_ROWS, h->D);
    return 0;
}

static int cosface_create(tl_head *h, tl_spec *s, struct tl_model *m, tl_error *e) { return margin_create(h, s, m, COSFACE, e); }
static int arcface_create(tl_head *h, tl_spec *s, struct tl_model *m, tl_error *e) { return margin_create(h, s, m, ARCFACE, e); }
static int combined_create(tl_head *h, tl_spec *s, struct tl_model *m, tl_error *e) { return margin_create(h, s, m, COMBINED, e); }

static double phi(const margin_priv *p, double *dphi, double c) {
    switch (p->kind) {
    case COSFACE: *dphi = 1; return c - p->m;
    case ARCFACE: return tl_margin_arcface(dphi, c, p->m, p->rule);
    default: return tl_margin_combined(dphi, c, p->m1, p->m2, p->m3, p->fallback);
    }
}

static void margin_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    margin_priv *p = h->priv;
    tl_normed_forward(&p->n, feat, params + p->w);
    tl_normed_scaled(logits, &p->n, h->scale);
    if (!labels) return;
    for (int i = 0; i < h->N; i++) {
        size_t k = (size_t)i * h->C + labels[i];
        logits[k] = (float)(h->scale * phi(p, &p->dphi[i], p->n.cos[k]));
        if (p->straight) p->dphi[i] = 1;
    }
}

static void margin_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                            const int *labels, const float *params) {
    margin_priv *p = h->priv;
    for (size_t k = 0; k < (size_t)h->N * h->C; k++) p->n.g[k] = h->scale * dlogits[k];
    if (labels)
        for (int i = 0; i < h->N; i++) p->n.g[(size_t)i * h->C + labels[i]] *= p->dphi[i];
    tl_normed_backward(&p->n, dfeat, grads + p->w, 0);
}

static void margin_destroy(tl_head *h) {
    margin_priv *p = h->priv;
    if (!p) return;
    tl_normed_free(&p->n);
    free(p->dphi);
    free(p);
}

const tl_head_ops tl_head_cosface = {.name = "cosface", .create = cosface_create, .forward = margin_forward,
    .backward = margin_backward, .destroy = margin_destroy,
    .keys = "s=30,m=0.35",
    .help = "CosFace: the target logit is s·(cos θ - m) in training"};
const tl_head_ops tl_head_arcface = {.name = "arcface", .create = arcface_create, .forward = margin_forward,
    .backward = margin_backward, .destroy = margin_destroy,
    .keys = "s=30,m=0.5,rule=hard|easy|none,grad=exact|straight",
    .help = "ArcFace: the target logit is s·cos(θ + m) in training; rule says what happens where θ + m passes π"};
const tl_head_ops tl_head_combined = {.name = "combined", .create = combined_create, .forward = margin_forward,
    .backward = margin_backward, .destroy = margin_destroy,
    .keys = "s=30,m1=1,m2=0.3,m3=0.2,fallback=0,grad=exact|straight",
    .help = "the combined margin: the target logit is s·(cos(m1·θ + m2) - m3) in training"};
