/* Dumps SLA's parity data for tests/parity/test_sla.py (docs/methods.md §11):
 *   sla_dump OUT.safetensors
 * "k.*": the kernels on fixed float32 joint logits J [N·M, C·M], labels and distilled-head logits h:
 * the aggregate and single logits, the joint loss (plain and large_loss) with dJ, and the SD loss at
 * T = 1 and T = 2.5 with dh, the target being the aggregate.
 * "m<i>.*": a whole cnn with the sla head (OUT.m<i>.model holds its initial weights; the metadata
 * entry m<i> its head spec): one training-mode forward on fixed images, the head's training objective
 * (its loss and regulariser, as the trainer computes it) and the backward, dumping the class logits,
 * the loss, the features [N·M, D] and their gradient, the gradient of the backbone input (the rotated
 * copies), every parameter gradient and the updated BN statistics; then evaluation-mode logits of
 * each inference the head allows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "heads/sla.h"
#include "models/model.h"
#include "models/model_io.h"

#define M TL_SLA_M
#define MAX_T 256

static tl_st_tensor T[MAX_T];
static int nt;

/* Records a copy of src under prefix.name. */
static void put(const char *prefix, const char *name, const char *dtype, int ndim, const int *shape, const void *src) {
    if (nt == MAX_T) { fprintf(stderr, "sla_dump: too many tensors\n"); exit(1); }
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
    char *full = malloc(strlen(prefix) + strlen(name) + 2);
    void *copy = malloc(n * 4 + 4);
    if (!full || !copy) { fprintf(stderr, "sla_dump: out of memory\n"); exit(1); }
    sprintf(full, "%s.%s", prefix, name);
    memcpy(copy, src, n * 4);
    T[nt] = (tl_st_tensor){.name = full, .dtype = dtype, .ndim = ndim, .data = copy};
    for (int d = 0; d < ndim; d++) T[nt].shape[d] = shape[d];
    nt++;
}

static void put_f(const char *p, const char *name, int ndim, const int *shape, const float *v) { put(p, name, "F32", ndim, shape, v); }
static void put_scalar(const char *p, const char *name, double v) {
    float f = (float)v;
    put(p, name, "F32", 0, NULL, &f);
}

static void kernels(void) {
    enum { N = 5, C = 4, K = C * M };
    static float J[N * M * K], dJ[N * M * K], h[N * C], dh[N * C], agg[N * C], single[N * C];
    int y[N] = {3, 0, 1, 3, 2};
    tl_rng g;
    tl_rng_seed(&g, 31, TL_RNG_DATA);
    for (int j = 0; j < N * M * K; j++) J[j] = (float)(2 * tl_rng_normal(&g));
    for (int j = 0; j < N * C; j++) h[j] = (float)(2 * tl_rng_normal(&g));
    tl_sla_aggregate(agg, J, N, C, -1);
    tl_sla_aggregate(single, J, N, C, 0);
    put_f("k", "J", 2, (int[]){N * M, K}, J);
    put("k", "y", "I32", 1, (int[]){N}, y);
    put_f("k", "h", 2, (int[]){N, C}, h);
    put_f("k", "agg", 2, (int[]){N, C}, agg);
    put_f("k", "single", 2, (int[]){N, C}, single);
    put_scalar("k", "joint_loss", tl_sla_joint_loss(dJ, J, y, N, C, 1));
    put_f("k", "joint_dJ", 2, (int[]){N * M, K}, dJ);
    put_scalar("k", "joint_loss_large", tl_sla_joint_loss(dJ, J, y, N, C, M));
    put_f("k", "joint_dJ_large", 2, (int[]){N * M, K}, dJ);
    put_scalar("k", "sd_loss_T1", tl_sla_sd_loss(dh, h, agg, y, N, C, 1));
    put_f("k", "sd_dh_T1", 2, (int[]){N, C}, dh);
    put_scalar("k", "sd_loss_T2.5", tl_sla_sd_loss(dh, h, agg, y, N, C, 2.5));
    put_f("k", "sd_dh_T2.5", 2, (int[]){N, C}, dh);
}

static int model_case(const char *prefix, const char *spec, const char *out) {
    enum { N = 6, IC = 2, H = 12, C = 5, D = 16 };
    tl_error err;
    tl_model_cfg cfg;
    tl_model m;
    if (tl_model_cfg_default(&cfg, "cnn", IC, H, H, C, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    cfg.feat_dim = D;
    snprintf(cfg.head, sizeof cfg.head, "%s", spec);
    if (tl_model_init(&m, &cfg, N, 2, 13, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    char path[4200];
    snprintf(path, sizeof path, "%s.%s.model", out, prefix);
    if (tl_model_save(&m, 0, NULL, NULL, path, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    tl_rng g;
    tl_rng_seed(&g, 17, TL_RNG_DATA);
    int y[N];
    float *x = tl_model_input(&m);
    for (int j = 0; j < N * IC * H * H; j++) x[j] = (float)tl_rng_normal(&g);
    for (int i = 0; i < N; i++) y[i] = (int)tl_rng_below(&g, C);
    put_f(prefix, "x", 4, (int[]){N, IC, H, H}, x);
    put(prefix, "y", "I32", 1, (int[]){N}, y);
    tl_model_zero_grad(&m);
    if (tl_model_forward(&m, 1, y, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    float *dfeat = m.net.grad[m.feat_buf];
    double loss = tl_head_train_loss(&m.head, NULL, m.dlogits, m.logits, y, dfeat, m.grads, tl_model_features(&m), m.params);
    if (tl_model_backward(&m, 1, y, 1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    put_f(prefix, "logits", 2, (int[]){N, C}, m.logits);
    put_scalar(prefix, "loss", loss);
    put_f(prefix, "feat", 2, (int[]){N * M, D}, tl_model_features(&m));
    put_f(prefix, "dfeat", 2, (int[]){N * M, D}, dfeat);
    put_f(prefix, "input_grad", 4, (int[]){N * M, IC, H, H}, m.net.grad[0]);
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%s/%s", ti->is_state ? "state1" : "grad", ti->name);
        put_f(prefix, name, ti->ndim, ti->shape, (ti->is_state ? m.state : m.grads) + ti->off);
    }
    static const char *const modes[] = {"agg", "single", "sd"};
    for (int md = 0; md < 3; md++) {
        if (tl_sla_set_inference(&m.head, md, &err)) continue;   /* sd needs sla:sd=1 */
        if (tl_model_forward(&m, 0, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        char name[32];
        snprintf(name, sizeof name, "eval_%s", modes[md]);
        put_f(prefix, name, 2, (int[]){N, C}, m.logits);
    }
    tl_model_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: sla_dump OUT.safetensors\n"); return 2; }
    static const char *const specs[] = {"sla", "sla:sd=1,T=2,training_agg=1,large_loss=1"};
    const char *meta[4] = {"m0", specs[0], "m1", specs[1]};
    kernels();
    if (model_case("m0", specs[0], argv[1]) || model_case("m1", specs[1], argv[1])) return 1;
    tl_error err;
    if (tl_st_write(argv[1], T, nt, meta, 2, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    for (int i = 0; i < nt; i++) { free((void *)T[i].name); free((void *)T[i].data); }
    return 0;
}
