/* The sla head (--ssl sla[:sd=0,T=1,large_loss=0,training_agg=0]; docs/methods.md §11): a linear classifier
 * over joint labels (class, rotation) on the backbone's features of the 4 rotations of every image.
 *
 * Tensors: head.joint.weight [C·M, D], head.joint.bias [C·M]; with sd=1 also the distilled head
 * head.sd.weight [C, D], head.sd.bias [C]. Initialised as the linear head. The head sets views = M, so
 * the model runs its backbone on N·M rows, filled by expand (row i·M + t = rot90(image i, t)); the
 * crop/flip augmentation of the loader has already been applied to the image.
 *
 * Forward: J = feat·Wᵀ + b [N·M, C·M], the aggregate z̄ [N, C] (sla.h), and the class logits [N, C]:
 * in training z̄ (sd=0) or h = the distilled head on the rotation-0 rows (sd=1); at inference the mode
 * of tl_sla_set_inference (default z̄, or h with sd=1). The training objective:
 *   regularizer: L_SLA (×M with large_loss), plus (1/N) Σ CE(z̄_i, y_i) with training_agg; gradients
 *                go straight into the features' gradient and the joint head's parameters;
 *   loss:        sd=1: CE(h, y) + T²·KL(softmax(z̄/T) ‖ softmax(h/T)), z̄ constant, as dlogits of h;
 *                sd=0: nothing (dlogits 0), so --loss is not used;
 * backward then carries dlogits (zero, or the SD gradient, or what a hook added) back through h or z̄. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/sla.h"
#include "losses/softmax.h"
#include "models/model.h"
#include "nn/nn.h"
#include "transfer/kd.h"

#define M TL_SLA_M

void tl_sla_expand(float *rows, const float *images, int N, int c, int H) {
    size_t img = (size_t)c * H * H;
    for (int i = 0; i < N; i++)
        for (int t = 0; t < M; t++) tl_rot90_forward(rows + ((size_t)i * M + t) * img, images + (size_t)i * img, 1, c, H, t);
}

void tl_sla_aggregate(float *z, const float *J, int N, int C, int t) {
    size_t K = (size_t)C * M;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            const float *r = J + (size_t)i * M * K + (size_t)c * M;
            if (t >= 0) { z[(size_t)i * C + c] = r[(size_t)t * K + t]; continue; }
            double s = 0;
            for (int u = 0; u < M; u++) s += r[(size_t)u * K + u];
            z[(size_t)i * C + c] = (float)(s / M);
        }
}

void tl_sla_aggregate_backward(float *dJ, const float *dz, int N, int C, int t) {
    size_t K = (size_t)C * M;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            float *r = dJ + (size_t)i * M * K + (size_t)c * M, g = dz[(size_t)i * C + c];
            if (t >= 0) r[(size_t)t * K + t] += g;
            else for (int u = 0; u < M; u++) r[(size_t)u * K + u] += g / M;
        }
}

double tl_sla_joint_loss(float *dJ, const float *J, const int *y, int N, int C, double scale) {
    int K = C * M;
    double L = 0, g = scale / ((double)N * M);
    for (int i = 0; i < N; i++)
        for (int t = 0; t < M; t++) {
            size_t r = ((size_t)i * M + t) * K;
            L += tl_softmax_ce_row(dJ ? dJ + r : NULL, J + r, NULL, 0, y[i] * M + t, K, g);
        }
    return L * g;
}

double tl_sla_sd_loss(float *dh, const float *h, const float *zbar, const int *y, int N, int C, double T) {
    double ce = tl_softmax_ce(dh, h, y, N, C);
    return ce + tl_kd_loss(dh, h, zbar, N, C, T, 1.0);
}

/* ---- the head ---- */

typedef struct {
    int sd, large_loss, training_agg, infer;
    double T;
    size_t jw, jb, hw, hb;   /* joint and distilled head tensors */
    float *J, *dJ;           /* [N·M, C·M] */
    float *zbar, *dz;        /* [N, C] the aggregate and a gradient scratch */
    float *x0, *dx0;         /* [N, D] rotation-0 features and their gradient (sd) */
} sla_priv;

static int sla_create(tl_head *h, tl_spec *spec, struct tl_model *m, tl_error *err) {
    sla_priv *p = calloc(1, sizeof *p);
    if (!p) return tl_fail(err, "out of memory");
    h->priv = p;
    if (tl_spec_bool(spec, "sd", 0, &p->sd, err) || tl_spec_double(spec, "T", 1, &p->T, err) ||
        tl_spec_bool(spec, "large_loss", 0, &p->large_loss, err) ||
        tl_spec_bool(spec, "training_agg", 0, &p->training_agg, err))
        return -1;
    int H = m->cfg.in_h, W = m->cfg.in_w;
    if (H != W || H < 2)
        return tl_spec_fail(err, spec, "rotates images by 90 degrees, so it needs square images larger than 1x1 (these are %dx%d)", H, W);
    p->infer = p->sd ? TL_SLA_SD : TL_SLA_AGG;
    h->views = M;
    int N = h->N, C = h->C, D = h->D, K = C * M;
    p->J = malloc((size_t)N * M * K * sizeof *p->J);
    p->dJ = malloc((size_t)N * M * K * sizeof *p->dJ);
    p->zbar = malloc((size_t)N * C * sizeof *p->zbar);
    p->dz = malloc((size_t)N * C * sizeof *p->dz);
    p->x0 = p->sd ? malloc((size_t)N * D * sizeof *p->x0) : NULL;
    p->dx0 = p->sd ? malloc((size_t)N * D * sizeof *p->dx0) : NULL;
    if (!p->J || !p->dJ || !p->zbar || !p->dz || (p->sd && (!p->x0 || !p->dx0))) return tl_fail(err, "out of memory");
    int winit = !strcmp(m->cfg.arch, "resnet32") ? TL_INIT_KAIMING_NORMAL : TL_INIT_DEFAULT;
    int jshape[2] = {K, D}, hshape[2] = {C, D};
    p->jw = tl_model_add_tensor(m, "head.joint.weight", 2, jshape, TL_GROUP_HEAD, 0, winit, D);
    p->jb = tl_model_add_tensor(m, "head.joint.bias", 1, &K, TL_GROUP_HEAD, 0, TL_INIT_DEFAULT, D);
    if (p->sd) {
        p->hw = tl_model_add_tensor(m, "head.sd.weight", 2, hshape, TL_GROUP_HEAD, 0, winit, D);
        p->hb = tl_model_add_tensor(m, "head.sd.bias", 1, &C, TL_GROUP_HEAD, 0, TL_INIT_DEFAULT, D);
    }
    return 0;
}

static void sla_expand(tl_head *h, float *rows, const float *images, int n, int c, int height, int width) {
    (void)h; (void)width;
    tl_sla_expand(rows, images, n, c, height);
}

/* What the class logits are: the training output, or the chosen inference. */
static int mode(const sla_priv *p, const int *labels) { return labels ? (p->sd ? TL_SLA_SD : TL_SLA_AGG) : p->infer; }

static void sla_forward(tl_head *h, float *logits, const float *feat, const int *labels, const float *params) {
    sla_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D, md = mode(p, labels);
    tl_linear_forward(p->J, feat, params + p->jw, params + p->jb, N * M, D, C * M, h->nthreads);
    tl_sla_aggregate(p->zbar, p->J, N, C, -1);
    if (md == TL_SLA_AGG) memcpy(logits, p->zbar, (size_t)N * C * sizeof *logits);
    else if (md == TL_SLA_SINGLE) tl_sla_aggregate(logits, p->J, N, C, 0);
    else {
        for (int i = 0; i < N; i++) memcpy(p->x0 + (size_t)i * D, feat + (size_t)i * M * D, (size_t)D * sizeof *p->x0);
        tl_linear_forward(logits, p->x0, params + p->hw, params + p->hb, N, D, C, h->nthreads);
    }
}

static void sla_backward(tl_head *h, float *dfeat, float *grads, const float *dlogits, const float *feat,
                         const int *labels, const float *params) {
    sla_priv *p = h->priv;
    int N = h->N, C = h->C, D = h->D, md = mode(p, labels);
    if (md == TL_SLA_SD) {
        memset(p->dx0, 0, (size_t)N * D * sizeof *p->dx0);
        tl_linear_backward(dfeat ? p->dx0 : NULL, grads + p->hw, grads + p->hb, dlogits, p->x0, params + p->hw, N, D, C,
                           h->nthreads);
        if (dfeat)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < D; j++) dfeat[(size_t)i * M * D + j] += p->dx0[(size_t)i * D + j];
        return;
    }
    memset(p->dJ, 0, (size_t)N * M * C * M * sizeof *p->dJ);
    tl_sla_aggregate_backward(p->dJ, dlogits, N, C, md == TL_SLA_AGG ? -1 : 0);
    tl_linear_backward(dfeat, grads + p->jw, grads + p->jb, p->dJ, feat, params + p->jw, N * M, D, C * M, h->nthreads);
}

static double sla_loss(tl_head *h, float *dlogits, const float *logits, const int *labels) {
    sla_priv *p = h->priv;
    if (p->sd) return tl_sla_sd_loss(dlogits, logits, p->zbar, labels, h->N, h->C, p->T);
    memset(dlogits, 0, (size_t)h->N * h->C * sizeof *dlogits);
    return 0;
}

static double sla_regularizer(tl_head *h, float *dfeat, float *grads, const float *feat, const int *labels,
                              const float *params) {
    sla_priv *p = h->priv;
    int N = h->N, C = h->C;
    double L = tl_sla_joint_loss(p->dJ, p->J, labels, N, C, p->large_loss ? M : 1);
    if (p->training_agg) {
        L += tl_softmax_ce(p->dz, p->zbar, labels, N, C);
        tl_sla_aggregate_backward(p->dJ, p->dz, N, C, -1);
    }
    tl_linear_backward(dfeat, grads + p->jw, grads + p->jb, p->dJ, feat, params + p->jw, N * M, h->D, C * M, h->nthreads);
    return L;
}

static void sla_destroy(tl_head *h) {
    sla_priv *p = h->priv;
    if (!p) return;
    free(p->J); free(p->dJ); free(p->zbar); free(p->dz); free(p->x0); free(p->dx0);
    free(p);
}

int tl_sla_set_inference(tl_head *h, int md, tl_error *err) {
    if (h->ops != &tl_head_sla) return tl_fail(err, "the model's head is not sla (train with --ssl sla)");
    sla_priv *p = h->priv;
    if (md == TL_SLA_SD && !p->sd) return tl_fail(err, "infer=sd needs a model trained with --ssl sla:sd=1");
    p->infer = md;
    return 0;
}

const tl_head_ops tl_head_sla = {.name = "sla", .option = "--ssl", .create = sla_create, .forward = sla_forward,
    .backward = sla_backward, .destroy = sla_destroy, .loss = sla_loss, .regularizer = sla_regularizer,
    .expand = sla_expand,
    .keys = "sd=0,T=1,large_loss=0,training_agg=0",
    .help = "self-supervised label augmentation: every image in its 4 rotations, a linear head over (class, rotation); sd=1 adds a head distilled from the aggregate at temperature T"};
