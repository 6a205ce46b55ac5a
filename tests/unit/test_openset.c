/* Open-set recognition: the rpl and gcpl heads (finite differences of logits and regularizers, hand
 * cases of their outputs and unknown scores, key errors), the --open split and relabelling, and the
 * open-set metrics on hand cases (threshold, AUROC, AUPR-In/Out, (K+1)-way accuracy and macro F1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "eval/openset.h"
#include "heads/head.h"
#include "models/model.h"

enum { N = 6, IN = 5, D = 4, C = 3 };

/* An mlp model whose head is `head`; its features are set by the tests, not by the backbone. */
static int make_model(tl_model *m, const char *head) {
    tl_model_cfg cfg;
    tl_error err = {{0}};
    if (tl_model_cfg_default(&cfg, "mlp", IN, 1, 1, C, &err)) return -1;
    cfg.nhidden = 1;
    cfg.hidden[0] = D;
    snprintf(cfg.head, sizeof cfg.head, "%s", head);
    if (tl_model_init(m, &cfg, N, 1, 7, &err)) { fprintf(stderr, "  %s\n", err.msg); return -1; }
    return 0;
}

/* J = Σ r·logits + regularizer, in double from the head's float outputs. */
static double objective(tl_model *m, const float *feat, const int *y, const float *r) {
    float logits[N * C], dfeat[N * D];
    tl_head *h = &m->head;
    h->ops->forward(h, logits, feat, y, m->params);
    double J = 0;
    for (int i = 0; i < N * C; i++) J += (double)r[i] * logits[i];
    float *scratch = calloc(m->nparams, sizeof(float));
    memset(dfeat, 0, sizeof dfeat);
    J += tl_head_regularizer(h, dfeat, scratch, feat, y, m->params);
    free(scratch);
    return J;
}

/* Central differences on every feature and head parameter against backward + regularizer. */
static void fd_check(const char *head) {
    tl_model m;
    if (make_model(&m, head)) { CHECK(0); return; }
    tl_rng rng;
    tl_rng_seed(&rng, 11, TL_RNG_DATA);
    float feat[N * D], r[N * C], dfeat[N * D] = {0}, logits[N * C];
    int y[N];
    for (int i = 0; i < N * D; i++) feat[i] = (float)tl_rng_normal(&rng);
    for (int i = 0; i < N * C; i++) r[i] = (float)tl_rng_normal(&rng);
    for (int i = 0; i < N; i++) y[i] = i % C;
    for (size_t j = m.head_begin; j < m.nparams; j++) m.params[j] += (float)(0.3 * tl_rng_normal(&rng));
    tl_head *h = &m.head;
    tl_model_zero_grad(&m);
    h->ops->forward(h, logits, feat, y, m.params);
    h->ops->backward(h, dfeat, m.grads, r, feat, y, m.params);
    tl_head_regularizer(h, dfeat, m.grads, feat, y, m.params);
    const float step = 0.01f;
    double worst = 0;
    for (int k = 0; k < N * D + (int)(m.nparams - m.head_begin); k++) {
        float *v = k < N * D ? &feat[k] : &m.params[m.head_begin + (size_t)(k - N * D)];
        double g = k < N * D ? dfeat[k] : m.grads[m.head_begin + (size_t)(k - N * D)];
        float v0 = *v, up = v0 + step, dn = v0 - step;
        *v = up;
        double Jp = objective(&m, feat, y, r);
        *v = dn;
        double Jm = objective(&m, feat, y, r);
        *v = v0;
        double fd = (Jp - Jm) / ((double)up - dn);
        double e = fabs(fd - g) / fmax(1e-2, fabs(fd) + fabs(g));
        if (e > worst) worst = e;
    }
    CHECK_MSG(worst < 1e-3, "%s: worst relative error %g", head, worst);
    tl_model_free(&m);
}

static void test_rpl_gradients(void) { fd_check("rpl"); fd_check("rpl:points=3,gamma=1.7,lambda=0.4"); }
static void test_rpl_per_class_radius_gradients(void) { fd_check("rpl:points=2,radius=per-class,lambda=1"); }
static void test_gcpl_gradients(void) { fd_check("gcpl"); fd_check("gcpl:points=2,gamma=0.6,lambda=0.5"); }

/* Points of class 0 at the origin, class 1 at (2,0,0,0), class 2 at (0,4,0,0). */
static void set_points(tl_model *m, const char *name) {
    const tl_tensor_info *t = tl_model_find(m, name);
    float *q = m->params + t->off;
    memset(q, 0, t->numel * sizeof *q);
    q[1 * D + 0] = 2;
    q[2 * D + 1] = 4;
}

static void test_rpl_outputs(void) {
    tl_model m;
    if (make_model(&m, "rpl:gamma=2,lambda=0.5")) { CHECK(0); return; }
    set_points(&m, "head.points");
    m.params[tl_model_find(&m, "head.radius")->off] = 0.5f;
    float feat[N * D] = {0}, logits[N * C], score[N], dfeat[N * D] = {0};
    int y[N] = {0, 1, 2, 0, 1, 2};
    /* sample 0 at the origin: d_e = (0, 4/4, 16/4) = (0, 1, 4) -> logits 2·d, predicted class 2 */
    feat[1 * D + 0] = 2;   /* sample 1 at class 1's point: d_e = (1, 0, (4+16)/4 = 5) */
    m.head.ops->forward(&m.head, logits, feat, y, m.params);
    CHECK_CLOSE(logits[0], 0, 1e-6);
    CHECK_CLOSE(logits[1], 2, 1e-6);
    CHECK_CLOSE(logits[2], 8, 1e-6);
    CHECK_CLOSE(logits[3], 2, 1e-6);
    CHECK_CLOSE(logits[4], 0, 1e-6);
    CHECK_CLOSE(logits[5], 10, 1e-6);
    /* open-space loss 0.5·mean_i (d_e(x_i, y_i) − 0.5)²: samples 0, 3 (d 0), 1, 4 (d 0), 2, 5 (d 4) */
    double reg = tl_head_regularizer(&m.head, dfeat, m.grads, feat, y, m.params);
    CHECK_CLOSE(reg, 0.5 * (4 * 0.25 + 2 * 3.5 * 3.5) / N, 1e-6);
    tl_head_unknown_score(&m.head, score, logits, feat, m.params);
    CHECK_CLOSE(score[0], 1 / (1 + exp(-8.0) + exp(-6.0)), 1e-6);   /* max softmax probability */
    tl_model_free(&m);
    if (make_model(&m, "rpl:gamma=2,score=logit")) { CHECK(0); return; }
    set_points(&m, "head.points");
    m.head.ops->forward(&m.head, logits, feat, NULL, m.params);
    tl_head_unknown_score(&m.head, score, logits, feat, m.params);
    CHECK_CLOSE(score[0], 8, 1e-6);
    CHECK_CLOSE(score[1], 10, 1e-6);
    tl_model_free(&m);
}

static void test_gcpl_outputs(void) {
    tl_model m;
    if (make_model(&m, "gcpl:lambda=0.5")) { CHECK(0); return; }
    set_points(&m, "head.prototypes");
    float feat[N * D] = {0}, logits[N * C], score[N], dfeat[N * D] = {0};
    int y[N] = {0, 1, 2, 0, 1, 2};
    feat[1 * D + 0] = 2;
    m.head.ops->forward(&m.head, logits, feat, y, m.params);
    int pred0 = 0, pred1 = 0;
    for (int k = 1; k < C; k++) { pred0 = logits[k] > logits[pred0] ? k : pred0; pred1 = logits[C + k] > logits[C + pred1] ? k : pred1; }
    CHECK(pred0 == 0 && pred1 == 1);   /* the nearest prototype */
    CHECK_CLOSE(logits[2], -4, 1e-6);
    /* prototype loss 0.5·Σ_i d_e(x_i, y_i)/(2N): d = 0, 0, 4, 0, 1, 4 (sample 4 sits at the origin) */
    double reg = tl_head_regularizer(&m.head, dfeat, m.grads, feat, y, m.params);
    CHECK_CLOSE(reg, 0.5 * 9.0 / (2 * N), 1e-6);
    tl_head_unknown_score(&m.head, score, logits, feat, m.params);
    CHECK_CLOSE(score[0], 1 / (1 + exp(-1.0) + exp(-4.0)), 1e-6);
    tl_model_free(&m);
}

static void test_default_score_and_no_regularizer(void) {
    tl_model m;
    if (make_model(&m, "linear")) { CHECK(0); return; }
    float logits[N * C] = {1, 2, 3, -1, -1, -1}, score[N], dfeat[N * D] = {0}, feat[N * D] = {0};
    int y[N] = {0};
    tl_head_unknown_score(&m.head, score, logits, feat, m.params);
    CHECK_CLOSE(score[0], exp(3.0) / (exp(1.0) + exp(2.0) + exp(3.0)), 1e-6);
    CHECK_CLOSE(score[1], 1.0 / 3, 1e-6);
    CHECK(tl_head_regularizer(&m.head, dfeat, m.grads, feat, y, m.params) == 0);
    tl_model_free(&m);
}

static void test_bad_keys(void) {
    const char *bad[] = {"rpl:points=0", "rpl:gamma=0", "rpl:lambda=-1", "rpl:radius=each", "rpl:score=energy",
                         "gcpl:radius=shared", "gcpl:points=x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tl_model m;
        tl_model_cfg cfg;
        tl_error err = {{0}};
        tl_model_cfg_default(&cfg, "mlp", IN, 1, 1, C, &err);
        snprintf(cfg.head, sizeof cfg.head, "%s", bad[i]);
        CHECK_MSG(tl_model_init(&m, &cfg, N, 1, 1, &err) != 0 && strstr(err.msg, "--head"), "%s: %s", bad[i], err.msg);
    }
}

/* 10 rows of 5 classes, x = the row index, names c0..c4. */
static void five_classes(tl_dataset *d) {
    tl_error err = {{0}};
    tl_dataset_alloc(d, 10, 1, 1, 1, 5, "test", &err);
    const int y[10] = {0, 1, 2, 3, 4, 4, 3, 2, 1, 0};
    d->class_names = calloc(5, sizeof(char *));
    for (int k = 0; k < 5; k++) { d->class_names[k] = malloc(16); snprintf(d->class_names[k], 16, "c%d", k); }
    for (int i = 0; i < 10; i++) { d->x[i] = (float)i; d->y[i] = y[i]; }
}

static void test_open_split(void) {
    tl_error err = {{0}};
    tl_open o;
    tl_dataset d, known, unknown;
    five_classes(&d);
    CHECK(tl_open_parse(&o, "3,1", &err) == 0 && o.n == 2 && o.classes[0] == 3 && o.classes[1] == 1);
    CHECK(tl_open_split(&d, &o, &known, &unknown, &err) == 0);
    CHECK(known.n == 6 && known.num_classes == 3 && unknown.n == 4 && unknown.num_classes == 5);
    const float kx[6] = {0, 2, 4, 5, 7, 9};
    const int ky[6] = {0, 1, 2, 2, 1, 0}, ux[4] = {1, 3, 6, 8}, uy[4] = {1, 3, 3, 1};
    for (int i = 0; i < 6; i++) CHECK(known.x[i] == kx[i] && known.y[i] == ky[i]);
    for (int i = 0; i < 4; i++) CHECK(unknown.x[i] == ux[i] && unknown.y[i] == uy[i]);
    CHECK(!strcmp(known.class_names[0], "c0") && !strcmp(known.class_names[1], "c2") && !strcmp(known.class_names[2], "c4"));
    CHECK(!strcmp(unknown.class_names[3], "c3"));
    int map[5];
    CHECK(tl_open_known(map, &o, 5) == 3 && map[0] == 0 && map[1] == 2 && map[2] == 4);
    tl_dataset_free(&known);
    tl_dataset_free(&unknown);
    CHECK(tl_open_parse(&o, "7/8/9", &err) == 0 && o.n == 3);
    CHECK(tl_open_split(&d, &o, &known, NULL, &err) == -1 && strstr(err.msg, "out of range") && known.n == 0);
    CHECK(tl_open_parse(&o, "0,1,2,3", &err) == 0);
    CHECK(tl_open_split(&d, &o, &known, NULL, &err) == -1 && strstr(err.msg, "at least 2"));
    CHECK(tl_open_parse(&o, "", &err) == 0 && o.n == 0);
    const char *bad[] = {"1,,3", "1,1", "-1", "x", "1,", "2.5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(tl_open_parse(&o, bad[i], &err) == -1 && strstr(err.msg, "--open"), "%s", bad[i]);
    tl_dataset_free(&d);
}

static void test_threshold(void) {
    float s[100];
    for (int i = 0; i < 20; i++) s[i] = (float)(20 - i);
    CHECK(tl_openset_threshold(s, 20, 0.95) == 2);        /* 19 of 20 accepted */
    for (int i = 0; i < 100; i++) s[i] = (float)i;
    CHECK(tl_openset_threshold(s, 100, 0.95) == 5);       /* exactly 95 of 100, despite 0.95·100 > 95 in binary */
    const float tie[4] = {5, 5, 1, 5};
    CHECK(tl_openset_threshold(tie, 4, 0.95) == 1);       /* ceil(3.8) = 4th largest */
    CHECK(tl_openset_threshold(tie, 4, 0.5) == 5);        /* 2nd largest is tied: 3 of 4 accepted */
}

static void test_openset_metrics(void) {
    tl_error err = {{0}};
    tl_openset r;
    const int y[3] = {0, 1, 1}, p[3] = {0, 1, 0}, pu[2] = {1, 0};
    const float s[3] = {0.9f, 0.8f, 0.4f}, su[2] = {0.5f, 0.8f};
    CHECK(tl_openset_compute(&r, y, p, s, 3, pu, su, 2, 2, 0.45, &err) == 0);
    CHECK_CLOSE(r.auroc, 3.5 / 6, 1e-12);                       /* one tie (0.8, 0.8) counts ½ */
    CHECK_CLOSE(r.aupr_in, (1 + 2.0 / 3 + 0.6) / 3, 1e-12);
    CHECK_CLOSE(r.aupr_out, 0.5, 1e-12);
    /* labels 0 1 1 U U, predictions 0 1 U 1 0: accuracy 2/5; F1 (2/3, 1/2, 0) */
    CHECK_CLOSE(r.accuracy_at_threshold, 0.4, 1e-12);
    CHECK_CLOSE(r.macro_f1_at_threshold, (2.0 / 3 + 0.5) / 3, 1e-12);
    CHECK_CLOSE(r.known_accepted, 2.0 / 3, 1e-12);
    CHECK(r.unknown_rejected == 0 && r.threshold == 0.45 && r.known == 3 && r.unknown == 2);
    CHECK(tl_openset_compute(&r, y, p, s, 3, pu, su, 2, 2, NAN, &err) == 0);
    CHECK(isnan(r.threshold) && isnan(r.accuracy_at_threshold) && isnan(r.macro_f1_at_threshold) && r.auroc > 0.5);
    CHECK(tl_openset_compute(&r, y, p, s, 3, pu, su, 0, 2, 0.45, &err) == -1);
    const int bad[3] = {0, 2, 1};
    CHECK(tl_openset_compute(&r, y, bad, s, 3, pu, su, 2, 2, 0.45, &err) == -1 && strstr(err.msg, "out of range"));
}

int main(void) {
    RUN_TEST(test_rpl_gradients);
    RUN_TEST(test_rpl_per_class_radius_gradients);
    RUN_TEST(test_gcpl_gradients);
    RUN_TEST(test_rpl_outputs);
    RUN_TEST(test_gcpl_outputs);
    RUN_TEST(test_default_score_and_no_regularizer);
    RUN_TEST(test_bad_keys);
    RUN_TEST(test_open_split);
    RUN_TEST(test_threshold);
    RUN_TEST(test_openset_metrics);
    TEST_MAIN_END();
}
