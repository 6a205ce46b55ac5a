/* Runs every head of src/heads on fixed float32 inputs and writes, per case, the inputs (features,
 * labels, head parameters and state), the training-mode logits, the training objective (softmax CE on
 * the logits, or the head's own loss, plus its regulariser), the gradients of that objective with
 * respect to the features and every head parameter, and the inference logits; for
 * tests/parity/test_heads.py to recompute with PyTorch in float64. Case names prefix the tensors
 * ("arc_hard.dfeat"); each case's metadata entry is its head spec and the forward count.
 * Cases marked `edge` place feature rows on and near their target weight vector and its opposite
 * (cosines 1, −1, 1 − 1e-5, −1 + 1e-5), where the clamp of docs/methods.md §0.2 is active or nearly so.
 * Usage: heads_dump OUT.safetensors */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "heads/head.h"
#include "models/model.h"
#include "../unit/ref_ce.h"

#define MAX_T 1024
#define MAX_META 64

typedef struct {
    tl_st_tensor t[MAX_T];
    int n;
    char *meta[2 * MAX_META];
    int nmeta;
} dump;

static void put(dump *d, const char *cs, const char *name, const char *dtype, int ndim, const int *shape, const void *src,
                size_t bytes) {
    if (d->n == MAX_T) { fprintf(stderr, "heads_dump: too many tensors\n"); exit(1); }
    tl_st_tensor *t = &d->t[d->n++];
    char *full = malloc(strlen(cs) + strlen(name) + 2);
    sprintf(full, "%s.%s", cs, name);
    t->name = full;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    void *copy = malloc(bytes ? bytes : 1);
    memcpy(copy, src, bytes);
    t->data = copy;
}

static void run_case(dump *d, const char *cs, const char *spec, int N, int D, int C, int edge, long long forwards,
                     uint64_t seed) {
    tl_model m = {0};
    m.N = N; m.cfg.feat_dim = D; m.cfg.num_classes = C;
    strcpy(m.cfg.arch, "mlp");
    m.net.nthreads = 1;
    tl_error err;
    if (tl_head_create(&m.head, spec, &m, &err)) { fprintf(stderr, "heads_dump: %s\n", err.msg); exit(1); }
    tl_head *h = &m.head;
    m.params = calloc(m.nparams, sizeof(float));
    m.grads = calloc(m.nparams, sizeof(float));
    m.state = calloc(m.nstate + 1, sizeof(float));
    float *feat = malloc((size_t)N * D * sizeof(float)), *dfeat = calloc((size_t)N * D, sizeof(float));
    float *logits = malloc((size_t)N * C * sizeof(float)), *dlogits = malloc((size_t)N * C * sizeof(float));
    float *eval = malloc((size_t)N * C * sizeof(float));
    int *y = malloc((size_t)N * sizeof(int));
    tl_rng r;
    tl_rng_seed(&r, seed, TL_RNG_DATA);
    for (size_t j = 0; j < m.nparams; j++) m.params[j] = (float)tl_rng_normal(&r);
    for (size_t j = 0; j < (size_t)N * D; j++) feat[j] = (float)tl_rng_normal(&r);
    for (int i = 0; i < N; i++) y[i] = (int)tl_rng_below(&r, (uint64_t)C);
    /* head state: class margins in [1, 3]; centre buffers random, with class 0 not seen yet (zero) */
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        if (!ti->is_state) continue;
        int margins = strstr(ti->name, "margin") != NULL;
        for (size_t j = 0; j < ti->numel; j++)
            m.state[ti->off + j] = (float)(margins ? 1 + 2 * tl_rng_uniform(&r) : tl_rng_normal(&r));
        if (!margins) for (int j = 0; j < D; j++) m.state[ti->off + j] = 0;
    }
    const tl_tensor_info *w = tl_model_find(&m, "head.weight");
    if (edge && w) {
        const float *W = m.params + w->off;
        float scale[4] = {2, -3, 1.5f, -0.5f};
        for (int i = 0; i < 4 && i < N; i++)
            for (int j = 0; j < D; j++) {
                double noise = i < 2 ? 0 : 0.004 * tl_rng_normal(&r);
                feat[(size_t)i * D + j] = (float)(scale[i] * (W[(size_t)y[i] * D + j] + noise));
            }
    }
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%s%s", ti->is_state ? "state." : "param.", ti->name);
        put(d, cs, name, "F32", ti->ndim, ti->shape, (ti->is_state ? m.state : m.params) + ti->off, ti->numel * 4);
    }
    h->forwards = forwards;
    h->ops->forward(h, logits, feat, y, m.params);
    double L = h->ops->loss ? h->ops->loss(h, dlogits, logits, y) : ref_ce(dlogits, logits, y, N, C);
    if (h->ops->regularizer) L += h->ops->regularizer(h, NULL, m.grads, NULL, NULL, m.params);
    h->ops->backward(h, dfeat, m.grads, dlogits, feat, y, m.params);
    if (h->ops->step_end) {   /* projections and buffer moves, without an optimizer step */
        h->ops->step_end(h, m.params, m.state);
        for (int i = 0; i < m.ntensors; i++) {
            const tl_tensor_info *ti = &m.tensors[i];
            char name[128];
            snprintf(name, sizeof name, "after.%s", ti->name);
            put(d, cs, name, "F32", ti->ndim, ti->shape, (ti->is_state ? m.state : m.params) + ti->off, ti->numel * 4);
        }
    }
    h->ops->forward(h, eval, feat, NULL, m.params);
    int nd[2] = {N, D}, nc[2] = {N, C};
    float lf = (float)L;
    put(d, cs, "feat", "F32", 2, nd, feat, (size_t)N * D * 4);
    put(d, cs, "y", "I32", 1, &N, y, (size_t)N * 4);
    put(d, cs, "logits", "F32", 2, nc, logits, (size_t)N * C * 4);
    put(d, cs, "eval_logits", "F32", 2, nc, eval, (size_t)N * C * 4);
    put(d, cs, "loss", "F32", 0, NULL, &lf, 4);
    put(d, cs, "dfeat", "F32", 2, nd, dfeat, (size_t)N * D * 4);
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        if (ti->is_state) continue;
        char name[128];
        snprintf(name, sizeof name, "grad.%s", ti->name);
        put(d, cs, name, "F32", ti->ndim, ti->shape, m.grads + ti->off, ti->numel * 4);
    }
    char desc[256];
    snprintf(desc, sizeof desc, "%s forwards=%lld", spec, h->forwards);
    d->meta[2 * d->nmeta] = strdup(cs);
    d->meta[2 * d->nmeta + 1] = strdup(desc);
    d->nmeta++;
    tl_head_destroy(h);
    free(m.tensors); free(m.params); free(m.grads); free(m.state);
    free(feat); free(dfeat); free(logits); free(dlogits); free(eval); free(y);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: heads_dump OUT.safetensors\n"); return 2; }
    static dump d;
    static const struct { const char *name, *spec; int N, D, C, edge; } cases[] = {
        {"cosine", "cosine:s=16", 12, 9, 5, 1},
        {"cosface", "cosface:s=30,m=0.35", 12, 9, 5, 1},
        {"arc_hard", "arcface:s=30,m=0.5", 16, 6, 5, 1},
        {"arc_hard_wide", "arcface:s=8,m=1.2", 24, 3, 4, 1},
        {"arc_easy", "arcface:s=30,m=0.5,rule=easy", 16, 6, 5, 1},
        {"arc_none", "arcface:s=30,m=0.5,rule=none", 16, 6, 5, 1},
        {"arc_straight", "arcface:s=30,m=0.5,grad=straight", 16, 6, 5, 1},
        {"combined", "combined:s=30,m1=1,m2=0.3,m3=0.2", 16, 6, 5, 1},
        {"combined_fb", "combined:s=10,m1=1.5,m2=0.3,m3=0.1,fallback=1", 24, 3, 4, 1},
        {"combined_09", "combined:s=30,m1=0.9,m2=0.4,m3=0.15,grad=straight", 16, 6, 5, 1},
        {"lsoftmax4", "lsoftmax:m=4", 16, 6, 5, 1},
        {"lsoftmax2", "lsoftmax:m=2,base=2,gamma=0.5,power=1,lambda_min=0", 16, 6, 5, 1},
        {"lsoftmax3", "lsoftmax:m=3,base=100,gamma=0.1,power=2,lambda_min=0.2", 16, 6, 5, 1},
        {"sphere4", "sphereface:m=4,base=10,gamma=0.12,lambda_min=0.5", 16, 6, 5, 1},
        {"sphere1", "sphereface:m=1,lambda_min=0", 16, 6, 5, 1},
        {"uniform", "uniformface:s=30,m=0.35,lambda=1,alpha=0.5", 12, 6, 5, 1},
        {"uniform_l3", "uniformface:s=16,m=0.2,lambda=3,alpha=0.3", 20, 4, 6, 0},
        {"adaptive", "adaptiveface:s=30,lambda=70", 12, 6, 5, 1},
        {"adaptive_l1", "adaptiveface:s=10,lambda=1", 12, 6, 5, 0},
        {"unc", "uncertainty", 16, 6, 5, 1},
        {"unc_raw", "uncertainty:weights=raw,m=2.5,p=0.3,alpha=2,base=5,lambda_min=0.5", 16, 6, 5, 1},
        {"unc_union", "uncertainty:competitor=union,base=1,gamma=0.5,lambda_min=0", 16, 6, 5, 0},
        {"unc_wide", "uncertainty:base=10", 8, 128, 5, 0},
        {"unc_detach", "uncertainty:penalty_grad=detach,base=1,lambda_min=0.1,alpha=0.5", 16, 6, 5, 1},
        {"affinity1", "affinity:sigma=4,lambda=0.75", 10, 4, 5, 0},
        {"affinity3", "affinity:sigma=8,lambda=0.5,centres=3", 10, 4, 5, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        run_case(&d, cases[k].name, cases[k].spec, cases[k].N, cases[k].D, cases[k].C, cases[k].edge, 41, 100 + k);
    tl_error err;
    int rc = tl_st_write(argv[1], d.t, d.n, (const char *const *)d.meta, d.nmeta, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; i < d.n; i++) { free((void *)d.t[i].name); free((void *)d.t[i].data); }
    for (int i = 0; i < 2 * d.nmeta; i++) free(d.meta[i]);
    return rc ? 1 : 0;
}
