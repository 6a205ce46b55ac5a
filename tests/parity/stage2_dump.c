/* Runs the causal, ncm and lws heads on fixed random inputs and writes everything to one safetensors
 * file for tests/parity/test_stage2.py: per case (prefix "caseK.") the features, labels, the head's
 * tensors before the step, the training logits, the CE (mean) gradients of the features and of every
 * trained tensor, the state after the training forward (the causal moving average), and the
 * inference logits (causal: TDE). Metadata "caseK" = the head spec.
 * Usage: stage2_dump OUT.safetensors */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/safetensors.h"
#include "stage2/stage2.h"

#define MAX_T 256

typedef struct {
    tl_st_tensor t[MAX_T];
    void *own[MAX_T];
    int n;
} dump;

static void put(dump *d, const char *cs, const char *name, const char *dtype, const void *src, int64_t r, int64_t c) {
    tl_st_tensor *t = &d->t[d->n];
    char *full = malloc(strlen(cs) + strlen(name) + 2);
    sprintf(full, "%s.%s", cs, name);
    t->name = full;
    t->dtype = dtype;
    t->ndim = c ? 2 : 1;
    t->shape[0] = r;
    t->shape[1] = c;
    size_t bytes = (size_t)r * (c ? c : 1) * 4;
    t->data = d->own[d->n] = malloc(bytes);
    memcpy(d->own[d->n], src, bytes);
    d->n++;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: stage2_dump OUT.safetensors\n"); return 2; }
    static const char *specs[] = {"causal:heads=2,tau=16,gamma=0.03125,alpha=1.5,mu=0.9",
                                  "causal:heads=4,tau=10,gamma=0.2,alpha=3,mu=0.5", "ncm:metric=l2",
                                  "ncm:metric=cosine", "lws"};
    enum { NC = sizeof specs / sizeof *specs, N = 7, D = 8, C = 5 };
    dump d = {0};
    const char *meta[2 * NC];
    char names[NC][16];
    tl_error err;
    for (int k = 0; k < NC; k++) {
        char *cs = names[k];
        snprintf(cs, 16, "case%d", k);
        meta[2 * k] = cs;
        meta[2 * k + 1] = specs[k];
        tl_model m;
        if (tl_stage2_feature_model(&m, D, C, specs[k], N, 1, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tl_rng g;
        tl_rng_seed(&g, 100 + k, TL_RNG_DATA);
        float feat[N * D], dfeat[N * D] = {0};
        int y[N];
        for (size_t j = 0; j < m.nparams; j++) m.params[j] = (float)tl_rng_normal(&g);
        for (size_t j = 0; j < m.nstate; j++) m.state[j] = (float)tl_rng_normal(&g);
        for (int j = 0; j < N * D; j++) feat[j] = (float)tl_rng_normal(&g);
        for (int i = 0; i < N; i++) y[i] = (int)tl_rng_below(&g, C);
        put(&d, cs, "feat", "F32", feat, N, D);
        put(&d, cs, "y", "I32", y, N, 0);
        for (int i = 0; i < m.ntensors; i++) {
            const tl_tensor_info *t = &m.tensors[i];
            char nm[128];
            snprintf(nm, sizeof nm, "in/%s", t->name);
            put(&d, cs, nm, "F32", (t->is_state ? m.state : m.params) + t->off, t->shape[0], t->ndim == 2 ? t->shape[1] : 0);
        }
        tl_head *h = &m.head;
        h->ops->forward(h, m.logits, feat, y, m.params);
        for (int i = 0; i < N; i++) {
            const float *z = m.logits + i * C;
            double mx = z[0], s = 0;
            for (int j = 1; j < C; j++) mx = fmax(mx, z[j]);
            for (int j = 0; j < C; j++) s += exp(z[j] - mx);
            for (int j = 0; j < C; j++) m.dlogits[i * C + j] = (float)((exp(z[j] - mx) / s - (j == y[i])) / N);
        }
        memset(m.grads, 0, m.nparams * sizeof(float));
        h->ops->backward(h, dfeat, m.grads, m.dlogits, feat, y, m.params);
        put(&d, cs, "logits", "F32", m.logits, N, C);
        put(&d, cs, "dfeat", "F32", dfeat, N, D);
        for (int i = 0; i < m.ntensors; i++) {
            const tl_tensor_info *t = &m.tensors[i];
            char nm[128];
            snprintf(nm, sizeof nm, "%s/%s", t->is_state ? "out" : "grad", t->name);
            put(&d, cs, nm, "F32", (t->is_state ? m.state : m.grads) + t->off, t->shape[0], t->ndim == 2 ? t->shape[1] : 0);
        }
        h->ops->forward(h, m.logits, feat, NULL, m.params);
        put(&d, cs, "infer_logits", "F32", m.logits, N, C);
        tl_model_free(&m);
    }
    int rc = tl_st_write(argv[1], d.t, d.n, meta, NC, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    for (int i = 0; i < d.n; i++) { free(d.own[i]); free((char *)d.t[i].name); }
    return rc ? 1 : 0;
}
