/* Nearest class mean (methods.md §8.2; classifier-balancing get_knncentroids + KNNClassifier), with
 * the reference's default feature transform cl2n: g(f) = (f − f̄)/‖f − f̄‖, f̄ the training mean,
 * centroids μ_c = mean of g over class c (not re-normalised). The fitted classifier is the head
 * "ncm:metric=l2|cosine" with state tensors head.feat_mean [D] (f̄) and head.centroids [C, D], so a
 * retrained run folder evaluates like any other. Scores:
 *   l2 (reference default)  z_c = −max(‖g‖² + ‖μ_c‖² − 2 g·μ_c, 0)
 *   cosine ([tailor])       z_c = g·μ_c/max(‖μ_c‖, 1e-12)
 * The head has no trainable parameters; its backward still gives the feature gradient (for the
 * l2 score where the clamp is inactive), so it composes with the rest of the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "stage2/stage2.h"

/* g = (f − f̄)/max(‖f − f̄‖, 1e-12); returns that norm. */
static double transform(float *g, const float *f, const float *fbar, int D) {
    double ss = 0;
    for (int j = 0; j < D; j++) { double v = (double)f[j] - fbar[j]; ss += v * v; }
    double n = fmax(sqrt(ss), 1e-12);
    for (int j = 0; j < D; j++) g[j] = (float)(((double)f[j] - fbar[j]) / n);
    return n;
}

int tl_ncm_fit(float *fbar, float *centroids, const float *feat, const int *y, int n, int D, int C, tl_error *err) {
    double *acc = calloc((size_t)C * D + D, sizeof *acc);
    int64_t *cnt = calloc((size_t)C, sizeof *cnt);
    float *g = malloc((size_t)D * sizeof *g);
    if (!acc || !cnt || !g) { free(acc); free(cnt); free(g); return tl_fail(err, "out of memory"); }
    double *mean = acc + (size_t)C * D;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) mean[j] += feat[(size_t)i * D + j];
    for (int j = 0; j < D; j++) fbar[j] = (float)(mean[j] / n);
    for (int i = 0; i < n; i++) {
        transform(g, feat + (size_t)i * D, fbar, D);
        cnt[y[i]]++;
        for (int j = 0; j < D; j++) acc[(size_t)y[i] * D + j] += g[j];
    }
    int rc = 0;
    for (int c = 0; c < C && !rc; c++) {
        if (!cnt[c]) { rc = tl_fail(err, "ncm: class %d has no training rows", c); break; }
        for (int j = 0; j < D; j++) centroids[(size_t)c * D + j] = (float)(acc[(size_t)c * D + j] / cnt[c]);
    }
    free(acc); free(cnt); free(g);
    return rc;
}

static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += (double)a[j] * b[j];
    return s;
}

/* One row's scores from its transformed feature g. */
static void score_row(float *z, const float *g, const float *centroids, int D, int C, int metric) {
    double gg = dot(g, g, D);
    for (int c = 0; c < C; c++) {
        const float *mu = centroids + (size_t)c * D;
        double gm = dot(g, mu, D), mm = dot(mu, mu, D);
        z[c] = metric == TL_NCM_L2 ? (float)-fmax(gg + mm - 2 * gm, 0) : (float)(gm / fmax(sqrt(mm), 1e-12));
    }
}

void tl_ncm_scores(float *scores, const float *feat, const float *fbar, const float *centroids, int n, int D, int C,
                   int metric) {
    float *g = malloc((size_t)D * sizeof *g);
    if (!g) return;
    for (int i = 0; i < n; i++) {
        transform(g, feat + (size_t)i * D, fbar, D);
        score_row(scores + (size_t)i * C, g, centroids, D, C, metric);
    }
    free(g);
}

/* ---- the head ---- */
typedef struct {
    size_t mean, cent;       /* state offsets */
    int metric;
    float *g, *gnorm, *dg;   /* [N, D], [N], [D] */
} ncm_priv;

static int ncm_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    static const char *const metrics[] = {"l2", "cosine"};
    int metric;
    if (tl_spec_choice(spec, "metric", metrics, 2, TL_NCM_L2, &metric, err)) return -1;
    ncm_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    p->metric = metric;
    p->g = malloc((size_t)h->N * h->D * sizeof(float));
    p->gnorm = malloc((size_t)h->N * sizeof(float));
    p->dg = malloc((size_t)h->D * sizeof(float));
    if (!p->g || !p->gnorm || !p->dg) return tl_fail(err, "out of memory");
    int cshape[2] = {h->C, h->D};
    p->mean = tl_model_add_tensor(m, "head.feat_mean", 1, &h->D, TL_GROUP_HEAD, 1, TL_INIT_ZEROS, h->D);
    p->cent = tl_model_add_tensor(m, "head.centroids", 2, cshape, TL_GROUP_HEAD, 1, TL_INIT_ZEROS, h->D);
    return 0;
}

static void ncm_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    ncm_priv *p = h->priv;
    const float *fbar = h->state + p->mean, *cent = h->state + p->cent;
    for (int i = 0; i < h->N; i++) {
        float *g = p->g + (size_t)i * h->D;
        p->gnorm[i] = (float)transform(g, feat + (size_t)i * h->D, fbar, h->D);
        score_row(logits + (size_t)i * h->C, g, cent, h->D, h->C, p->metric);
    }
}

static void ncm_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                         const int *labels, const float *params) {
    ncm_priv *p = h->priv;
    const float *cent = h->state + p->cent;
    int D = h->D, C = h->C;
    for (int i = 0; dfeat && i < h->N; i++) {
        const float *g = p->g + (size_t)i * D, *G = dlogits + (size_t)i * C;
        double gg = dot(g, g, D);
        for (int j = 0; j < D; j++) p->dg[j] = 0;
        for (int c = 0; c < C; c++) {
            const float *mu = cent + (size_t)c * D;
            double mm = dot(mu, mu, D);
            if (p->metric == TL_NCM_L2) {
                if (gg + mm - 2 * dot(g, mu, D) <= 0) continue;   /* clamped: no gradient */
                for (int j = 0; j < D; j++) p->dg[j] += (float)(G[c] * 2 * ((double)mu[j] - g[j]));
            } else {
                double inv = 1 / fmax(sqrt(mm), 1e-12);
                for (int j = 0; j < D; j++) p->dg[j] += (float)(G[c] * mu[j] * inv);
            }
        }
        /* normalize VJP: df = (dg − (dg·ĝ)ĝ)/‖f − f̄‖ */
        double d = dot(p->dg, g, D);
        for (int j = 0; j < D; j++) dfeat[(size_t)i * D + j] += (float)((p->dg[j] - d * g[j]) / p->gnorm[i]);
    }
}

static void ncm_destroy(tl_head *h) {
    ncm_priv *p = h->priv;
    if (!p) return;
    free(p->g); free(p->gnorm); free(p->dg);
    free(p);
}

const tl_head_ops tl_head_ncm = {.name = "ncm", .create = ncm_create, .forward = ncm_forward,
                                 .backward = ncm_backward, .destroy = ncm_destroy};

/* ---- the stage-2 method ---- */
static int ncm_method_create(tl_stage2 *s, tl_spec *spec, const tl_model *src, tl_error *err) {
    static const char *const metrics[] = {"l2", "cosine"};
    (void)src;
    if (tl_spec_choice(spec, "metric", metrics, 2, TL_NCM_L2, &s->metric, err)) return -1;
    snprintf(s->head, sizeof s->head, "ncm:metric=%s", metrics[s->metric]);
    return 0;
}

static int ncm_fit(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                   const int64_t *count, const tl_stage2_cfg *cfg, tl_error *err) {
    (void)s; (void)src; (void)val; (void)count; (void)cfg;
    const tl_tensor_info *m = tl_model_find(out, "head.feat_mean"), *c = tl_model_find(out, "head.centroids");
    return tl_ncm_fit(out->state + m->off, out->state + c->off, train->x, train->y, train->n, train->c,
                      train->num_classes, err);
}

const tl_stage2_ops tl_stage2_ncm = {"ncm", ncm_method_create, ncm_fit, 0};
