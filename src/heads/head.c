#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "losses/loss.h"
#include "models/model.h"

/* The heads a user chooses with --head. */
static const tl_head_ops *const heads[] = {
    &tl_head_linear,   &tl_head_cosine,     &tl_head_cosface,  &tl_head_arcface,     &tl_head_combined,
    &tl_head_lsoftmax, &tl_head_sphereface, &tl_head_affinity, &tl_head_uniformface, &tl_head_adaptiveface,
    &tl_head_uncertainty, &tl_head_rpl, &tl_head_gcpl, &tl_head_causal};
/* The heads other options bring: --ssl's joint head, and the fixed heads stage 2 leaves in a model
 * (tailor retrain --method ncm, lws; crt and tau leave a linear head). */
static const tl_head_ops *const ssl_heads[] = {&tl_head_sla};
static const tl_head_ops *const stage2_heads[] = {&tl_head_ncm, &tl_head_lws};

const tl_head_ops *const *tl_head_table(int which, int *n) {
#define TABLE(t) do { *n = (int)(sizeof t / sizeof *t); return t; } while (0)
    if (which == TL_HEADS_SSL) TABLE(ssl_heads);
    if (which == TL_HEADS_STAGE2) TABLE(stage2_heads);
    TABLE(heads);
#undef TABLE
}

const tl_head_ops *tl_head_find(int which, const char *name) {
    int n;
    const tl_head_ops *const *t = tl_head_table(which, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i]->name, name)) return t[i];
    return NULL;
}

int tl_head_check(const char *spec_text, tl_error *err) {
    int n;
    const tl_head_ops *const *t = tl_head_table(TL_HEADS_USER, &n);
    tl_spec spec;
    return tl_spec_parse_ops(&spec, spec_text, "--head", (const void *const *)t, n, err) < 0 ? -1 : 0;
}

int tl_head_create(tl_head *h, const char *spec_text, struct tl_model *m, tl_error *err) {
    memset(h, 0, sizeof *h);
    tl_spec spec;
    if (tl_spec_parse(&spec, spec_text, "--head", err)) return -1;
    const tl_head_ops *ops = NULL;
    for (int which = TL_HEADS_USER; which <= TL_HEADS_STAGE2 && !ops; which++) ops = tl_head_find(which, spec.name);
    if (!ops) return tl_head_check(spec_text, err);   /* names the valid --head names */
    h->ops = ops;
    h->N = m->N;
    h->D = m->cfg.feat_dim;
    h->C = m->cfg.num_classes;
    h->nthreads = m->net.nthreads;
    h->scale = 1;
    h->views = 1;
    h->model = m;
    if (h->ops->option) snprintf(spec.option, sizeof spec.option, "%s", h->ops->option);
    if (h->ops->create(h, &spec, m, err) || tl_spec_check_unused(&spec, err)) { tl_head_destroy(h); return -1; }
    return 0;
}

void tl_head_destroy(tl_head *h) {
    if (h->ops && h->ops->destroy) h->ops->destroy(h);
    memset(h, 0, sizeof *h);
}

double tl_head_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                           const float *params) {
    return h->ops->regularizer ? h->ops->regularizer(h, dfeat, grads, feat, labels, params) : 0.0;
}

void tl_head_unknown_score(tl_head *h, float *score, const float *logits, const float *feat, const float *params) {
    if (h->ops->unknown_score) h->ops->unknown_score(h, score, logits, feat, params);
    else tl_head_max_softmax(score, logits, h->N, h->C);
}

void tl_head_max_softmax(float *score, const float *logits, int N, int C) {
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        float mx = z[0];
        for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
        double s = 0;
        for (int j = 0; j < C; j++) s += exp((double)z[j] - mx);
        score[i] = (float)(1.0 / s);
    }
}

void tl_head_max_logit(float *score, const float *logits, int N, int C) {
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        float mx = z[0];
        for (int j = 1; j < C; j++) mx = z[j] > mx ? z[j] : mx;
        score[i] = mx;
    }
}

double tl_head_train_loss(tl_head *h, struct tl_loss *loss, float *dlogits, const float *logits, const int *y,
                          float *dfeat, float *grads, const float *feat, const float *params) {
    double l = h->ops->loss ? h->ops->loss(h, dlogits, logits, y) : tl_loss_compute(loss, dlogits, logits, y, h->N);
    return h->ops->regularizer ? l + h->ops->regularizer(h, dfeat, grads, feat, y, params) : l;
}

int tl_head_epoch_begin(tl_head *h, const tl_head_epoch *e, tl_error *err) {
    h->forwards = e->forwards;
    return h->ops->epoch_begin ? h->ops->epoch_begin(h, e, err) : 0;
}

void tl_head_step_end(tl_head *h, float *params, float *state) {
    if (h->ops->step_end) h->ops->step_end(h, params, state);
}
