/* Learnable weight scaling (methods.md §8.4; classifier-balancing TauNormClassifier): logits
 * z_c = f_c·(w_c·x + b_c) with W, b frozen at their stage-1 values and one scale f_c per class,
 * initialised to 1 (the scale multiplies the bias too, as the reference does). As a head: "lws",
 * with W and b registered as state (head.weight [C, D], head.bias [C]; never updated, never decayed)
 * and the scales as its only parameters (head.scale [C]), so the trainer's weight decay reaches f
 * alone. Backward: ∂L/∂f_c = Σ_i G_ic (w_c·x_i + b_c), ∂L/∂x_i = Σ_c G_ic f_c w_c.
 * tailor retrain folds the result into a linear head (w_c ← f_c·w_c, b_c ← f_c·b_c). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "stage2/stage2.h"

typedef struct {
    size_t w, b, f;          /* state, state, params */
    float *u, *gu;           /* [N, C] stage-1 logits; G·f scratch [N, C] */
} lws_priv;

static int lws_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    (void)spec;
    lws_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    p->u = malloc((size_t)h->N * h->C * sizeof(float));
    p->gu = malloc((size_t)h->N * h->C * sizeof(float));
    if (!p->u || !p->gu) return tl_fail(err, "out of memory");
    int wshape[2] = {h->C, h->D};
    p->w = tl_model_add_tensor(m, "head.weight", 2, wshape, TL_GROUP_HEAD, 1, TL_INIT_DEFAULT, h->D);
    p->b = tl_model_add_tensor(m, "head.bias", 1, &h->C, TL_GROUP_HEAD, 1, TL_INIT_DEFAULT, h->D);
    p->f = tl_model_add_tensor(m, "head.scale", 1, &h->C, TL_GROUP_HEAD, 0, TL_INIT_ONES, h->D);
    return 0;
}

static void lws_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    lws_priv *p = h->priv;
    const float *f = params + p->f;
    tl_linear_forward(p->u, feat, h->state + p->w, h->state + p->b, h->N, h->D, h->C, h->nthreads);
    for (size_t i = 0; i < (size_t)h->N; i++)
        for (int c = 0; c < h->C; c++) logits[i * h->C + c] = f[c] * p->u[i * h->C + c];
}

static void lws_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                         const int *labels, const float *params) {
    lws_priv *p = h->priv;
    const float *f = params + p->f;
    float *df = grads + p->f;
    int C = h->C;
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < h->N; i++) s += (double)dlogits[(size_t)i * C + c] * p->u[(size_t)i * C + c];
        df[c] += (float)s;
    }
    if (!dfeat) return;
    for (size_t i = 0; i < (size_t)h->N; i++)
        for (int c = 0; c < C; c++) p->gu[i * C + c] = dlogits[i * C + c] * f[c];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, h->N, h->D, C, 1.0f, p->gu, C, h->state + p->w, h->D, 1.0f,
                dfeat, h->D);
}

static void lws_destroy(tl_head *h) {
    lws_priv *p = h->priv;
    if (!p) return;
    free(p->u); free(p->gu);
    free(p);
}

const tl_head_ops tl_head_lws = {.name = "lws", .create = lws_create, .forward = lws_forward,
                                 .backward = lws_backward, .destroy = lws_destroy};

/* ---- the stage-2 method ---- */
static int lws_method_create(tl_stage2 *s, tl_spec *spec, const tl_model *src, tl_error *err) {
    if (src->head.ops != &tl_head_linear)
        return tl_spec_fail(err, spec, "needs a run trained with --head linear (this one has %s)", src->cfg.head);
    snprintf(s->head, sizeof s->head, "linear");
    return 0;
}

static int lws_fit(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                   const int64_t *count, const tl_stage2_cfg *cfg, tl_error *err) {
    tl_model fm;
    int B = cfg->batch < train->n ? cfg->batch : train->n, D = train->c, C = train->num_classes;
    s->epochs = cfg->epochs ? cfg->epochs : s->ops->default_epochs;
    if (tl_stage2_feature_model(&fm, D, C, "lws", B, cfg->threads, cfg->seed, err)) return -1;
    const tl_tensor_info *sw = tl_model_find(src, "head.weight"), *sb = tl_model_find(src, "head.bias");
    const tl_tensor_info *fw = tl_model_find(&fm, "head.weight"), *fb = tl_model_find(&fm, "head.bias");
    const tl_tensor_info *ff = tl_model_find(&fm, "head.scale");
    memcpy(fm.state + fw->off, src->params + sw->off, sw->numel * sizeof(float));
    memcpy(fm.state + fb->off, src->params + sb->off, sb->numel * sizeof(float));
    int rc = tl_stage2_train_head(&fm, train, val, count, cfg, s->epochs, err);
    if (!rc) {
        /* Fold: f_c·(w_c·x + b_c) = (f_c w_c)·x + f_c b_c. */
        const tl_tensor_info *ow = tl_model_find(out, "head.weight"), *ob = tl_model_find(out, "head.bias");
        const float *f = fm.params + ff->off;
        for (int c = 0; c < C; c++) {
            for (int j = 0; j < D; j++)
                out->params[ow->off + (size_t)c * D + j] = f[c] * src->params[sw->off + (size_t)c * D + j];
            out->params[ob->off + c] = f[c] * src->params[sb->off + c];
        }
    }
    tl_model_free(&fm);
    return rc;
}

const tl_stage2_ops tl_stage2_lws = {"lws", lws_method_create, lws_fit, 5};
