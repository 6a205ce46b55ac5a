/* Dumps one model's parity data for tests/parity/test_models.py and test_resnets.py:
 *   model_dump ARCH OUT.safetensors [HEAD]
 *   model_dump MODEL.safetensors OUT.safetensors     (a model file: its model and weights)
 * Builds ARCH for batch 8 (or loads the model file), saves its initial weights (the model file
 * OUT.model), then runs one training-mode forward/backward of mean cross-entropy on a fixed batch
 * and dumps the input, labels, logits, features, every parameter gradient and the updated running
 * statistics; then 3 SGD steps (lr 0.02, momentum 0.9, wd 5e-4, nesterov) on further fixed batches
 * and the final parameters; finally an evaluation-mode forward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "losses/softmax.h"
#include "models/model.h"
#include "models/model_io.h"
#include "train/optim.h"

#define N 8

static void fill_batch(tl_model *m, int *y, tl_rng *r) {
    size_t n = (size_t)N * m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
    float *x = tl_model_input(m);
    for (size_t i = 0; i < n; i++) x[i] = (float)tl_rng_normal(r);
    for (int i = 0; i < N; i++) y[i] = (int)tl_rng_below(r, (uint64_t)m->cfg.num_classes);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) { fprintf(stderr, "usage: model_dump ARCH OUT [HEAD]\n"); return 2; }
    const char *arch = argv[1], *out = argv[2];
    tl_error err;
    tl_model_cfg cfg;
    tl_model m;
    size_t la = strlen(arch);
    if (la > 12 && !strcmp(arch + la - 12, ".safetensors")) {
        if (tl_model_load(&m, arch, N, 2, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        cfg = m.cfg;
    } else {
        int in_c = 1, hw = 28, C = 10;
        if (!strcmp(arch, "resnet32")) { in_c = 3; hw = 32; }
        if (!strcmp(arch, "mlp")) { in_c = 20; hw = 1; C = 5; }
        if (tl_model_cfg_default(&cfg, arch, in_c, hw, hw, C, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        if (!strcmp(arch, "cnn")) cfg.feat_dim = 16;
        if (argc == 4) snprintf(cfg.head, sizeof cfg.head, "%s", argv[3]);
        if (tl_model_init(&m, &cfg, N, 2, 7, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    }
    int in_c = cfg.in_c, hw = cfg.in_h, C = cfg.num_classes;
    char path[4096];
    snprintf(path, sizeof path, "%s.model", out);
    if (tl_model_save(&m, 0, NULL, NULL, path, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }

    tl_rng r;
    tl_rng_seed(&r, 11, TL_RNG_DATA);
    int y[N];
    fill_batch(&m, y, &r);
    size_t nin = (size_t)N * in_c * hw * hw;
    float *x0 = malloc(nin * sizeof *x0);
    memcpy(x0, tl_model_input(&m), nin * sizeof *x0);
    tl_model_zero_grad(&m);
    if (tl_model_forward(&m, 1, y, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double loss = tl_softmax_ce(m.dlogits, m.logits, y, N, C);
    if (tl_model_backward(&m, 1, y, 1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }

    int cap = 2 * m.ntensors + 16, k = 0;
    tl_st_tensor *t = calloc((size_t)cap, sizeof *t);
    char (*names)[128] = calloc((size_t)cap, sizeof *names), fname[128];
    float *grads0 = malloc(m.nparams * sizeof *grads0), *state1 = malloc(m.nstate * sizeof *state1);
    float *input_grad = malloc(nin * sizeof *input_grad);
    memcpy(grads0, m.grads, m.nparams * sizeof *grads0);
    memcpy(state1, m.state, m.nstate * sizeof *state1);
    memcpy(input_grad, m.net.grad[0], nin * sizeof *input_grad);
    float *logits0 = malloc((size_t)N * C * sizeof(float)), lossf = (float)loss;
    memcpy(logits0, m.logits, (size_t)N * C * sizeof(float));
#define ADD(nm, dt, nd, s0, s1, s2, s3, ptr) do { t[k] = (tl_st_tensor){.name = nm, .dtype = dt, .ndim = nd, \
    .shape = {s0, s1, s2, s3}, .data = ptr}; k++; } while (0)
    ADD("x", "F32", 4, N, in_c, hw, hw, x0);
    ADD("y", "I32", 1, N, 0, 0, 0, y);
    ADD("logits", "F32", 2, N, C, 0, 0, logits0);
    ADD("loss", "F32", 0, 0, 0, 0, 0, &lossf);
    ADD("input_grad", "F32", 4, N, in_c, hw, hw, input_grad);
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        snprintf(names[k], sizeof names[k], "%s/%s", ti->is_state ? "state1" : "grad",
                 tl_model_file_name(&cfg, ti->name, fname, sizeof fname));
        t[k] = (tl_st_tensor){.name = names[k], .dtype = "F32", .ndim = ti->ndim,
                              .data = (ti->is_state ? state1 : grads0) + ti->off};
        for (int d = 0; d < ti->ndim; d++) t[k].shape[d] = ti->shape[d];
        k++;
    }

    /* Three SGD steps on fresh batches. */
    tl_optim_cfg oc = {.kind = TL_OPTIM_SGD, .lr = 0.02, .momentum = 0.9, .wd = 5e-4, .nesterov = 1};
    float *ostate = calloc(tl_optim_state_floats(&oc, m.nparams), sizeof(float));
    tl_param_group g = {.begin = 0, .end = m.nparams, .lr_mult = 1, .decay = 1};
    int ys[3][N];
    float *xs = malloc(3 * nin * sizeof *xs);
    for (int s = 0; s < 3; s++) {
        if (s) fill_batch(&m, ys[s], &r); else memcpy(ys[s], y, sizeof y);
        memcpy(xs + s * nin, tl_model_input(&m), nin * sizeof *xs);
        if (s) {
            tl_model_zero_grad(&m);
            if (tl_model_forward(&m, 1, ys[s], NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            tl_softmax_ce(m.dlogits, m.logits, ys[s], N, C);
            if (tl_model_backward(&m, 1, ys[s], 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        }
        tl_optim_step(m.params, ostate, m.grads, m.nparams, &g, 1, &oc, oc.lr, s + 1, 2);
    }
    ADD("steps/x", "F32", 5, 3, N, in_c, hw, xs);
    t[k - 1].shape[4] = hw;
    ADD("steps/y", "I32", 2, 3, N, 0, 0, ys);
    for (int i = 0; i < m.ntensors; i++) {
        const tl_tensor_info *ti = &m.tensors[i];
        snprintf(names[k], sizeof names[k], "final/%s", tl_model_file_name(&cfg, ti->name, fname, sizeof fname));
        t[k] = (tl_st_tensor){.name = names[k], .dtype = "F32", .ndim = ti->ndim,
                              .data = (ti->is_state ? m.state : m.params) + ti->off};
        for (int d = 0; d < ti->ndim; d++) t[k].shape[d] = ti->shape[d];
        k++;
    }
    /* Evaluation-mode forward on the first batch with the final weights. */
    memcpy(tl_model_input(&m), x0, nin * sizeof *x0);
    if (tl_model_forward(&m, 0, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ADD("eval_logits", "F32", 2, N, C, 0, 0, m.logits);
    if (tl_st_write(out, t, k, NULL, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    free(t); free(names); free(grads0); free(state1); free(input_grad); free(logits0); free(x0); free(xs); free(ostate);
    tl_model_free(&m);
    return 0;
}
