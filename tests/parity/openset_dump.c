/* Writes fixed random inputs and the rpl/gcpl heads' outputs for test_openset.py.
 * Usage: openset_dump OUTDIR. For each case k, OUTDIR/case<k>.safetensors holds feat [N, D], labels [N],
 * dlogits [N, C], the head's tensors (head.points, head.radius or head.prototypes), and the outputs:
 * logits, score (the unknown score), bwd.feat and bwd.<tensor> (backward from dlogits), reg.feat and
 * reg.<tensor> (the regularizer's gradients); metadata: head (the spec), reg (its value, %.17g). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "models/model.h"

typedef struct { const char *head; int N, D, C; } dump_case;

static int dump(const char *dir, int k, const dump_case *dc, tl_error *err) {
    int N = dc->N, D = dc->D, C = dc->C;
    tl_model_cfg cfg;
    tl_model m;
    if (tl_model_cfg_default(&cfg, "mlp", 3, 1, 1, C, err)) return -1;
    cfg.nhidden = 1;
    cfg.hidden[0] = D;
    snprintf(cfg.head, sizeof cfg.head, "%s", dc->head);
    if (tl_model_init(&m, &cfg, N, 2, 100 + (uint64_t)k, err)) return -1;
    size_t nd = (size_t)N * D, nc = (size_t)N * C, hp = m.nparams - m.head_begin;
    float *feat = malloc(nd * sizeof *feat), *dlogits = malloc(nc * sizeof *dlogits), *logits = malloc(nc * sizeof *logits);
    float *score = malloc((size_t)N * sizeof *score), *bfeat = calloc(nd, sizeof *bfeat), *rfeat = calloc(nd, sizeof *rfeat);
    float *bgrad = calloc(m.nparams, sizeof *bgrad), *rgrad = calloc(m.nparams, sizeof *rgrad);
    int32_t *labels = malloc((size_t)N * sizeof *labels);
    int *y = malloc((size_t)N * sizeof *y);
    int rc = -1;
    if (!feat || !dlogits || !logits || !score || !bfeat || !rfeat || !bgrad || !rgrad || !labels || !y) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto done;
    }
    tl_rng rng;
    tl_rng_seed(&rng, 500 + (uint64_t)k, TL_RNG_DATA);
    for (size_t i = 0; i < nd; i++) feat[i] = (float)(0.2 + tl_rng_normal(&rng));
    for (size_t i = 0; i < nc; i++) dlogits[i] = (float)(0.1 * tl_rng_normal(&rng));
    for (int i = 0; i < N; i++) labels[i] = y[i] = (int)tl_rng_below(&rng, (uint64_t)C);
    /* Trained-looking head tensors: points spread around the features, radii near the distances. */
    for (size_t j = 0; j < hp; j++) m.params[m.head_begin + j] += (float)(0.5 * tl_rng_normal(&rng) + 0.4);
    tl_head *h = &m.head;
    h->ops->forward(h, logits, feat, y, m.params);
    h->ops->backward(h, bfeat, bgrad, dlogits, feat, y, m.params);
    double reg = tl_head_regularizer(h, rfeat, rgrad, feat, y, m.params);
    tl_head_unknown_score(h, score, logits, feat, m.params);
    tl_st_tensor t[32];
    char names[8][128];
    int n = 0, nn = 0;
    t[n++] = (tl_st_tensor){.name = "feat", .dtype = "F32", .ndim = 2, .shape = {N, D}, .data = feat};
    t[n++] = (tl_st_tensor){.name = "labels", .dtype = "I32", .ndim = 1, .shape = {N}, .data = labels};
    t[n++] = (tl_st_tensor){.name = "dlogits", .dtype = "F32", .ndim = 2, .shape = {N, C}, .data = dlogits};
    t[n++] = (tl_st_tensor){.name = "logits", .dtype = "F32", .ndim = 2, .shape = {N, C}, .data = logits};
    t[n++] = (tl_st_tensor){.name = "score", .dtype = "F32", .ndim = 1, .shape = {N}, .data = score};
    t[n++] = (tl_st_tensor){.name = "bwd.feat", .dtype = "F32", .ndim = 2, .shape = {N, D}, .data = bfeat};
    t[n++] = (tl_st_tensor){.name = "reg.feat", .dtype = "F32", .ndim = 2, .shape = {N, D}, .data = rfeat};
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        if (ti->group != TL_GROUP_HEAD) continue;
        tl_st_tensor base = {.name = ti->name, .dtype = "F32", .ndim = ti->ndim, .data = m.params + ti->off};
        for (int d = 0; d < ti->ndim; d++) base.shape[d] = ti->shape[d];
        t[n++] = base;
        snprintf(names[nn], sizeof names[nn], "bwd.%s", ti->name);
        t[n] = base; t[n].name = names[nn++]; t[n++].data = bgrad + ti->off;
        snprintf(names[nn], sizeof names[nn], "reg.%s", ti->name);
        t[n] = base; t[n].name = names[nn++]; t[n++].data = rgrad + ti->off;
    }
    char v[40], path[4096];
    snprintf(v, sizeof v, "%.17g", reg);
    const char *meta[4] = {"head", dc->head, "reg", v};
    snprintf(path, sizeof path, "%s/case%d.safetensors", dir, k);
    rc = tl_st_write(path, t, n, meta, 2, err);
done:
    free(feat); free(dlogits); free(logits); free(score); free(bfeat); free(rfeat); free(bgrad); free(rgrad);
    free(labels); free(y);
    tl_model_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: openset_dump OUTDIR\n"); return 2; }
    const dump_case cases[] = {
        {"rpl", 16, 12, 5},
        {"rpl:points=3,gamma=2,lambda=0.3,radius=per-class", 24, 16, 4},
        {"rpl:score=logit,gamma=0.5", 64, 128, 7},
        {"gcpl", 16, 12, 5},
        {"gcpl:points=2,gamma=0.5,lambda=0.7,score=logit", 24, 16, 4},
        {"gcpl:gamma=3", 64, 128, 7},
    };
    for (int k = 0; k < (int)(sizeof cases / sizeof *cases); k++) {
        tl_error err = {{0}};
        if (dump(argv[1], k, &cases[k], &err)) { fprintf(stderr, "openset_dump: case %d: %s\n", k, err.msg); return 1; }
    }
    return 0;
}
