#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "losses/softmax.h"
#include "train/trainer.h"
#include "eval/auc.h"
#include "eval/metrics.h"
#include "eval/openset.h"

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

double tl_openset_threshold(const float *score, int64_t n, double accept) {
    float *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, score, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_desc);
    int64_t k = (int64_t)ceil(accept * (double)n - 1e-9);   /* guard 0.95·100 = 95.000000000000014 */
    if (k < 1) k = 1;
    if (k > n) k = n;
    double t = s[k - 1];
    free(s);
    return t;
}

int tl_openset_compute(tl_openset *r, const int *labels, const int *pred, const float *score, int64_t nk,
                       const int *unknown_pred, const float *unknown_score, int64_t nu, int K, double threshold,
                       tl_error *err) {
    memset(r, 0, sizeof *r);
    r->known = nk;
    r->unknown = nu;
    r->threshold = r->accuracy_at_threshold = r->macro_f1_at_threshold = NAN;
    r->known_accepted = r->unknown_rejected = NAN;
    if (nk < 1 || nu < 1)
        return tl_fail(err, "open set: needs known and unknown test samples (got %lld and %lld)", (long long)nk, (long long)nu);
    int64_t n = nk + nu;
    float *s = malloc((size_t)n * sizeof *s);
    unsigned char *pos = malloc((size_t)n);
    int *y = malloc((size_t)n * sizeof *y), *p = malloc((size_t)n * sizeof *p);
    int64_t *no_train = calloc((size_t)K + 1, sizeof *no_train);
    int rc = s && pos && y && p && no_train ? 0 : tl_fail(err, "open set: out of memory");
    for (int64_t i = 0; !rc && i < n; i++) {
        int known = i < nk;
        s[i] = known ? score[i] : unknown_score[i - nk];
        pos[i] = (unsigned char)known;
        int closed = known ? pred[i] : unknown_pred[i - nk];
        y[i] = known ? labels[i] : K;
        /* (K+1)-way prediction: accepted (s >= θ) keeps its closed-set class, else class K "unknown". */
        p[i] = s[i] >= threshold ? closed : K;
        if (y[i] < 0 || y[i] > K || closed < 0 || closed >= K)
            rc = tl_fail(err, "open set: a label or prediction of sample %lld is out of range", (long long)i);
    }
    if (!rc) rc = tl_auroc(&r->auroc, s, pos, n, err) || tl_aupr(&r->aupr_in, s, pos, n, err);
    for (int64_t i = 0; !rc && i < n; i++) { s[i] = -s[i]; pos[i] = !pos[i]; }
    if (!rc) rc = tl_aupr(&r->aupr_out, s, pos, n, err);
    if (!rc && !isnan(threshold)) {
        int64_t accepted = 0, rejected = 0;
        for (int64_t i = 0; i < n; i++) {
            accepted += i < nk && p[i] != K;
            rejected += i >= nk && p[i] == K;
        }
        tl_metrics m;
        rc = tl_metrics_init(&m, K + 1, err) || tl_metrics_compute(&m, y, p, NULL, no_train, n, err);
        if (!rc) {
            r->threshold = threshold;
            r->accuracy_at_threshold = m.accuracy;
            r->macro_f1_at_threshold = m.macro_f1;
            r->known_accepted = (double)accepted / (double)nk;
            r->unknown_rejected = (double)rejected / (double)nu;
        }
        tl_metrics_free(&m);
    }
    free(s); free(pos); free(y); free(p); free(no_train);
    return rc ? -1 : 0;
}

typedef struct { float *score, *sc; int *pred; } score_ctx;

static int score_visit(void *p, tl_model *m, int got, int done) {
    score_ctx *c = p;
    int C = m->cfg.num_classes;
    tl_head_unknown_score(&m->head, c->sc, m->logits, tl_model_features(m), m->params);
    memcpy(c->score + done, c->sc, (size_t)got * sizeof *c->sc);
    for (int i = 0; c->pred && i < got; i++) c->pred[done + i] = tl_argmax(m->logits + (size_t)i * C, NULL, C);
    return 0;
}

int tl_openset_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, float *score, int *pred,
                       tl_error *err) {
    score_ctx c = {score, malloc((size_t)m->N * sizeof(float)), pred};
    if (!c.sc) return tl_fail(err, "out of memory");
    tl_eval_out o[2] = {{score, sizeof *score}, {pred, sizeof *pred}};
    int rc = tl_eval_pass_shared(m, d, NULL, 0, mean, std, 1, score_visit, &c, o, 2, err);
    free(c.sc);
    return rc;
}
