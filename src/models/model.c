#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "core/threads.h"
#include "models/model.h"
#include "spec/spec.h"

static const tl_model_arch archs[] = {
    {"cnn", "", "the seed CNN: three 3x3 convolution-BatchNorm-ReLU blocks with average pooling, then global average pooling, 128 features (--feat-dim; images of at least 4x4)"},
    {"resnet32", "", "the CIFAR ResNet-32 of the LDAM-DRW code: 3 stages of 5 basic blocks, option-A shortcuts, 64 features"},
    {"mlp", "", "a multilayer perceptron for tabular rows: --hidden sizes (256/128), --feat-dim the last"},
    {"resnet10", "zero_init_residual=0", "torchvision's ResNet with one basic block per stage, 512 features (images of at least 32x32)"},
    {"resnet18", "zero_init_residual=0", "torchvision's resnet18, 512 features (images of at least 32x32)"},
    {"resnet34", "zero_init_residual=0", "torchvision's resnet34, 512 features (images of at least 32x32)"},
    {"resnet50", "zero_init_residual=0", "torchvision's resnet50 (bottleneck blocks), 2048 features (images of at least 32x32)"},
    {"resnext50", "zero_init_residual=0", "torchvision's resnext50_32x4d, 2048 features (images of at least 32x32)"},
};
#define NARCHS ((int)(sizeof archs / sizeof *archs))

const tl_model_arch *tl_model_table(int *n) {
    *n = NARCHS;
    return archs;
}

int tl_model_cfg_default(tl_model_cfg *cfg, const char *text, int in_c, int in_h, int in_w, int num_classes,
                         tl_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->in_c = in_c; cfg->in_h = in_h; cfg->in_w = in_w;
    cfg->num_classes = num_classes;
    tl_spec spec;
    if (tl_spec_parse(&spec, text, "--model", err)) return -1;
    const char *arch = spec.name;
    if (tl_resnet_is(arch)) {
        /* Five stride-2 steps: 32 pixels leave 1x1 maps in the last stage. */
        if (in_h < 32 || in_w < 32)
            return tl_fail(err, "--model %s: needs images of at least 32x32, got %dx%d", arch, in_h, in_w);
        cfg->feat_dim = tl_resnet_feat_dim(arch);
        if (tl_spec_bool(&spec, "zero_init_residual", 0, &cfg->zero_init_residual, err)) return -1;
    } else if (!strcmp(arch, "cnn")) {
        cfg->feat_dim = 128;
        if (in_h < 4 || in_w < 4) return tl_fail(err, "--model cnn: needs images of at least 4x4, got %dx%d", in_h, in_w);
    } else if (!strcmp(arch, "resnet32")) {
        cfg->feat_dim = 64;
        if (in_h < 4 || in_w < 4) return tl_fail(err, "--model resnet32: needs images of at least 4x4, got %dx%d", in_h, in_w);
    } else if (!strcmp(arch, "mlp")) {
        cfg->nhidden = 2; cfg->hidden[0] = 256; cfg->hidden[1] = 128;
        cfg->feat_dim = 128;
    } else {
        return tl_spec_lookup(&spec, archs, sizeof *archs, NARCHS, err);
    }
    if (tl_spec_check_unused(&spec, err)) return -1;
    snprintf(cfg->head, sizeof cfg->head, "linear");
    /* Every valid name fits; the check only tells the compiler so. */
    if ((size_t)snprintf(cfg->arch, sizeof cfg->arch, "%s", arch) >= sizeof cfg->arch) return tl_fail(err, "--model: too long");
    return 0;
}

size_t tl_model_add_tensor(tl_model *m, const char *name, int ndim, const int *shape, int group, int is_state,
                           int init, int fan_in) {
    if (m->ntensors == m->cap_tensors) {
        int cap = m->cap_tensors ? m->cap_tensors * 2 : 64;
        tl_tensor_info *t = realloc(m->tensors, (size_t)cap * sizeof *t);
        if (!t) { m->tensors_oom = 1; return TL_NONE; }
        m->tensors = t;
        m->cap_tensors = cap;
    }
    tl_tensor_info *t = &m->tensors[m->ntensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) { t->shape[d] = shape[d]; t->numel *= (size_t)shape[d]; }
    t->group = group;
    t->is_state = is_state;
    t->init = init;
    t->fan_in = fan_in;
    size_t *counter = is_state ? &m->nstate : &m->nparams;
    t->off = *counter;
    *counter += t->numel;
    return t->off;
}

const tl_tensor_info *tl_model_find(const tl_model *m, const char *name) {
    for (int i = 0; i < m->ntensors; i++) if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

static void init_tensors(tl_model *m, uint64_t seed) {
    tl_rng rng;
    tl_rng_seed(&rng, seed, TL_RNG_INIT);
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *t = &m->tensors[i];
        float *p = (t->is_state ? m->state : m->params) + t->off;
        switch (t->init) {
        case TL_INIT_ZEROS: memset(p, 0, t->numel * sizeof *p); break;
        case TL_INIT_ONES: for (size_t j = 0; j < t->numel; j++) p[j] = 1.0f; break;
        case TL_INIT_DEFAULT: tl_init_uniform(p, t->numel, 1.0f / sqrtf((float)t->fan_in), &rng); break;
        case TL_INIT_KAIMING_NORMAL: tl_init_kaiming_normal(p, t->numel, t->fan_in, &rng); break;
        case TL_INIT_UNIT_ROWS:
            tl_init_uniform(p, t->numel, 1.0f, &rng);
            for (size_t r = 0; r < t->numel / (size_t)t->fan_in; r++) {
                float *row = p + r * (size_t)t->fan_in;
                double ss = 0;
                for (int j = 0; j < t->fan_in; j++) ss += (double)row[j] * row[j];
                for (int j = 0; j < t->fan_in; j++) row[j] = (float)(row[j] / sqrt(ss));
            }
            break;
        }
    }
}

/* Before allocating: a model whose largest activation, or whose parameters with their gradients and
 * optimizer state, cannot fit in this machine's memory even alone is refused with the shapes that
 * make it so (a lower bound of the need, so no model that fits is refused). */
static int check_fits(const tl_model *m, int N, tl_error *err) {
    double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE), big = 0;
    if (!(ram > 0)) return 0;
    for (int b = 0; b < m->net.nbufs; b++) {
        double v = (double)tl_chw_size(m->net.shape[b]);
        if (v > big) big = v;
    }
    double act = 4.0 * big * N * m->views, par = 4.0 * 4.0 * (double)m->nparams, gib = 1024.0 * 1024.0 * 1024.0;
    const tl_model_cfg *c = &m->cfg;
    if (act > ram)
        return tl_fail(err, "--model %s: one activation of a batch of %d %dx%dx%d inputs takes %.1f GiB, more than this "
                       "machine's %.1f GiB of memory (lower --batch, or use smaller inputs)", c->arch, N, c->in_c, c->in_h,
                       c->in_w, act / gib, ram / gib);
    if (par > ram)
        return tl_fail(err, "--model %s: %zu parameters (feature size %d, %d classes) take %.1f GiB with their gradients "
                       "and optimizer state, more than this machine's %.1f GiB of memory", c->arch, m->nparams,
                       c->feat_dim, c->num_classes, par / gib, ram / gib);
    return 0;
}

static int init(tl_model *m, const tl_model_cfg *cfg, int N, int nthreads, uint64_t seed, int inference,
                tl_error *err) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->N = N;
    tl_threads_set_blas(nthreads);
    int feat;
    if (tl_net_input(&m->net, (tl_chw){cfg->in_c, cfg->in_h, cfg->in_w}) < 0) feat = -1;
    else if (!strcmp(cfg->arch, "cnn")) feat = tl_build_cnn(m);
    else if (!strcmp(cfg->arch, "resnet32")) feat = tl_build_resnet32(m);
    else if (!strcmp(cfg->arch, "mlp")) feat = tl_build_mlp(m);
    else if (tl_resnet_is(cfg->arch)) feat = tl_build_resnet(m);
    else {
        tl_spec s;
        tl_model_free(m);
        return tl_spec_parse(&s, cfg->arch, "--model", err) ? -1 : tl_spec_lookup(&s, archs, sizeof *archs, NARCHS, err);
    }
    if (feat < 0 || m->tensors_oom) { tl_model_free(m); return tl_fail(err, "out of memory building the %s model", cfg->arch); }
    m->feat_buf = feat;
    m->cfg.feat_dim = (int)tl_chw_size(m->net.shape[feat]);
    m->net.nthreads = nthreads;
    int C = cfg->num_classes;
    m->head_begin = m->nparams;
    if (tl_head_create(&m->head, cfg->head[0] ? cfg->head : "linear", m, err)) { tl_model_free(m); return -1; }
    if (m->tensors_oom) { tl_model_free(m); return tl_fail(err, "out of memory creating the %s head", cfg->head); }
    m->views = m->head.views;
    if (m->views > 1) m->images = malloc((size_t)N * tl_chw_size(m->net.shape[0]) * sizeof(float));
    if (check_fits(m, N, err)) { tl_model_free(m); return -1; }
    m->params = calloc(m->nparams, sizeof(float));
    m->grads = inference ? NULL : calloc(m->nparams, sizeof(float));
    m->state = calloc(m->nstate ? m->nstate : 1, sizeof(float));
    m->logits = calloc((size_t)N * C, sizeof(float));
    m->dlogits = inference ? NULL : calloc((size_t)N * C, sizeof(float));
    m->net.recompute_conv = 1;
    m->net.inference = inference;
    if (!m->params || (!inference && (!m->grads || !m->dlogits)) || !m->state || !m->logits ||
        (m->views > 1 && !m->images) ||
        tl_net_alloc(&m->net, N * m->views, nthreads)) {
        tl_model_free(m);
        return tl_fail(err, "out of memory allocating the %s model for batch %d", cfg->arch, N);
    }
    m->head.state = m->state;
    init_tensors(m, seed);
    return 0;
}

int tl_model_init(tl_model *m, const tl_model_cfg *cfg, int N, int nthreads, uint64_t seed, tl_error *err) {
    return init(m, cfg, N, nthreads, seed, 0, err);
}

int tl_model_init_inference(tl_model *m, const tl_model_cfg *cfg, int N, int nthreads, tl_error *err) {
    return init(m, cfg, N, nthreads, 0, 1, err);
}

/* Whether a backbone tensor (name without "backbone.") belongs to the stem or stages 1..stages. */
static int in_front(const char *name, int stages) {
    if (!strncmp(name, "conv1.", 6) || !strncmp(name, "bn1.", 4)) return 1;
    int k;
    return sscanf(name, "layer%d.", &k) == 1 && k >= 1 && k <= stages;
}

int tl_model_freeze_end(const tl_model *m, const char *what, size_t *end, tl_error *err) {
    if (!strcmp(what, "backbone")) { *end = m->head_begin; return 0; }
    int stages = -1;
    char extra;
    if (!strcmp(what, "stem")) stages = 0;
    else if (sscanf(what, "layer%d%c", &stages, &extra) != 1 || stages < 1)
        return tl_fail(err, "--freeze: unknown value '%s' (valid: none, backbone, stem, layer1, layer2, ...)", what);
    /* The frozen tensors must be the leading ones (the builders register the stem, then the stages in order). */
    int matched = 0, last_k = 0, past = 0;
    *end = m->head_begin;
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *t = &m->tensors[i];
        const char *name = !strncmp(t->name, "backbone.", 9) ? t->name + 9 : t->name;
        int k;
        if (sscanf(name, "layer%d.", &k) == 1 && k > last_k) last_k = k;
        if (t->is_state || t->group != TL_GROUP_BACKBONE) continue;
        if (!in_front(name, stages)) {
            if (!past) *end = t->off;
            past = 1;
            continue;
        }
        if (past) return tl_fail(err, "--freeze %s: the %s model's tensors are not in stage order", what, m->cfg.arch);
        matched++;
    }
    if (!matched || (stages > 0 && last_k < stages) || !strcmp(m->cfg.arch, "cnn") || !strcmp(m->cfg.arch, "mlp"))
        return tl_fail(err, "--freeze %s: the %s model has no such part (it freezes: backbone%s)", what, m->cfg.arch,
                       last_k ? ", stem, layer1 .. layerN" : "");
    return 0;
}

void tl_model_freeze(tl_model *m, size_t end) { tl_net_freeze(&m->net, end); }

void tl_model_free(tl_model *m) {
    tl_head_destroy(&m->head);
    tl_net_free(&m->net);
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->state);
    free(m->logits);
    free(m->dlogits);
    free(m->images);
    memset(m, 0, sizeof *m);
}

int tl_model_backbone(tl_model *m, int train, tl_rng *dropout_rng, tl_error *err) {
    if (m->images) {
        tl_chw s = m->net.shape[0];
        m->head.ops->expand(&m->head, m->net.act[0], m->images, m->N, s.c, s.h, s.w);
    }
    return tl_net_forward(&m->net, m->params, m->state, train, dropout_rng, err);
}

int tl_model_forward(tl_model *m, int train, const int *labels, tl_rng *dropout_rng, tl_error *err) {
    if (tl_model_backbone(m, train, dropout_rng, err)) return -1;
    m->head.ops->forward(&m->head, m->logits, tl_model_features(m), labels, m->params);
    return 0;
}

/* A model built by tl_model_init_inference has no gradients. */
static int no_grads(const tl_model *m, tl_error *err) {
    return m->grads ? 0 : tl_fail(err, "the %s model was built for inference: it has no gradients", m->cfg.arch);
}

int tl_model_backward(tl_model *m, int train, const int *labels, int need_input_grad, tl_error *err) {
    if (no_grads(m, err)) return -1;
    m->head.ops->backward(&m->head, m->net.grad[m->feat_buf], m->grads, m->dlogits, tl_model_features(m), labels,
                          m->params);
    return tl_net_backward(&m->net, m->params, m->grads, m->state, train, need_input_grad, err);
}

int tl_model_input_grad(tl_model *m, int train, tl_error *err) {
    if (no_grads(m, err)) return -1;
    tl_net_zero_grad(&m->net);
    memset(m->grads + m->head_begin, 0, (m->nparams - m->head_begin) * sizeof *m->grads);
    m->head.ops->backward(&m->head, m->net.grad[m->feat_buf], m->grads, m->dlogits, tl_model_features(m), NULL,
                          m->params);
    return tl_net_backward(&m->net, m->params, NULL, m->state, train, 1, err);
}

void tl_model_zero_grad(tl_model *m) {
    memset(m->grads, 0, m->nparams * sizeof *m->grads);
    tl_net_zero_grad(&m->net);
}
