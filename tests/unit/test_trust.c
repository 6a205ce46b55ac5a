/* Issue #20 at the library level: the spec range table, the validation of loaded tensors, the
 * trainer's NaN and divergence traps, and CSV cells that round-trip through the writer and reader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "tmpfiles.h"
#include "core/error.h"
#include "data/dataset.h"
#include "models/model_io.h"
#include "spec/spec.h"
#include "train/trainer.h"

static int fails_with(int rc, const tl_error *err, const char *want) {
    if (rc == 0) { fprintf(stderr, "  expected an error containing '%s', got success\n", want); return 0; }
    if (!strstr(err->msg, want)) { fprintf(stderr, "  '%s' lacks '%s'\n", err->msg, want); return 0; }
    return 1;
}

/* Each key's bounds: the value just inside passes, the one just outside fails with the range. */
static void test_range_table(void) {
    static const struct { const char *option, *text, *key, *want; double ok, bad; } cases[] = {
        {"--optim", "sgd", "lr", "lr=11 must be <= 10", 10, 11},
        {"--optim", "sgd", "lr", "lr=0 must be > 0", 1e-9, 0},
        {"--optim", "sgd", "momentum", "momentum=1 must be in [0, 1)", 0.99, 1},
        {"--optim", "adam", "eps", "eps=0 must be > 0", 1e-12, 0},
        {"--schedule", "step", "gamma", "gamma=1.5 must be <= 1", 1, 1.5},
        {"--loss", "ce", "beta", "beta=1 must be in (0, 1)", 0.9999, 1},
        {"--loss", "focal", "gamma", "gamma=11 must be <= 10", 10, 11},
        {"--head", "arcface", "m", "m=3.2 must be in [0, 3.14159)", 3.1, 3.2},
        {"--head", "cosface", "m", "m=2.5 must be <= 2", 2, 2.5},
        {"--head", "cosine", "s", "s=1001 must be <= 1000", 1000, 1001},
        {"--head", "uniformface", "alpha", "alpha=1.5 must be in [0, 1]", 1, 1.5},
        {"--posthoc", "tau-norm", "tau", "tau=1e+308 must be <= 10", 10, 1e308},
        {"--sampler", "power", "q", "q=2 must be in [0, 1]", 1, 2},
        {"--distill", "kd", "T", "T=0 must be > 0", 100, 0},
        {"--synth", "m2m", "gamma", "gamma=-0.5 must be in [0, 1]", 0, -0.5},
        {"--somewhere", "new", "newkey", "newkey=2e+06 must be in [-1e+06, 1e+06]", 1e6, 2e6},  /* no entry: +-1e6 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[128];
        tl_spec s;
        tl_error err = {{0}};
        double v;
        snprintf(text, sizeof text, "%s:%s=%.17g", cases[i].text, cases[i].key, cases[i].ok);
        CHECK_MSG(tl_spec_parse(&s, text, cases[i].option, &err) == 0 && tl_spec_double(&s, cases[i].key, 0, &v, &err) == 0,
                  "%s %s: %s", cases[i].option, text, err.msg);
        snprintf(text, sizeof text, "%s:%s=%.17g", cases[i].text, cases[i].key, cases[i].bad);
        CHECK(tl_spec_parse(&s, text, cases[i].option, &err) == 0);
        CHECK_MSG(fails_with(tl_spec_double(&s, cases[i].key, 0, &v, &err), &err, cases[i].want), "%s", text);
    }
    /* integers and lists go through the same table */
    tl_spec s;
    tl_error err;
    int k;
    double list[4];
    int n;
    CHECK(tl_spec_parse(&s, "rpl:points=2000", "--head", &err) == 0);
    CHECK(fails_with(tl_spec_int(&s, "points", 1, &k, &err), &err, "--head rpl: points=2000 must be in 1..1024"));
    CHECK(tl_spec_parse(&s, "x:v=1/2e6", "--other", &err) == 0);
    CHECK(fails_with(tl_spec_doubles(&s, "v", list, 4, &n, &err), &err, "v=2e+06"));
}

/* A tiny mlp to load into, corrupt and train. */
static int mlp(tl_model *m, int C, int N, tl_error *err) {
    tl_model_cfg cfg;
    if (tl_model_cfg_default(&cfg, "mlp", 2, 1, 1, C, err)) return -1;
    cfg.nhidden = 1;
    cfg.hidden[0] = 4;
    snprintf(cfg.head, sizeof cfg.head, "linear");
    return tl_model_init(m, &cfg, N, 1, 1, err);
}

static void test_check_values(void) {
    tl_model m;
    tl_error err;
    if (mlp(&m, 3, 4, &err)) { CHECK_MSG(0, "%s", err.msg); return; }
    CHECK(tl_model_check_values(&m, "m.st", &err) == 0);
    const tl_tensor_info *w = tl_model_find(&m, "head.weight"), *var = tl_model_find(&m, "backbone.bn1.running_var");
    CHECK(w && var);
    if (!w || !var) { tl_model_free(&m); return; }
    m.params[w->off + 2] = INFINITY;
    CHECK(fails_with(tl_model_check_values(&m, "m.st", &err), &err, "m.st: tensor 'head.weight' holds a non-finite value (inf at element 2)"));
    m.params[w->off + 2] = 0;
    m.state[var->off + 1] = -0.5f;
    CHECK(fails_with(tl_model_check_values(&m, "m.st", &err), &err, "tensor 'backbone.bn1.running_var' holds a negative variance"));
    float mean[2] = {0, NAN}, std[2] = {1, 1};
    CHECK(fails_with(tl_norm_check(mean, std, 2, "f", "mu", "sd", &err), &err, "f: 'mu' holds a non-finite value (nan for channel 1)"));
    mean[1] = 0;
    std[0] = 0;
    CHECK(fails_with(tl_norm_check(mean, std, 2, "f", "mu", "sd", &err), &err, "'sd' must be finite and > 0 (0 for channel 0)"));
    tl_model_free(&m);
}

/* A model no machine can hold is refused before anything big is allocated, naming the shapes. */
static void test_model_fits(void) {
    tl_model_cfg cfg;
    tl_model m;
    tl_error err;
    CHECK(tl_model_cfg_default(&cfg, "cnn", 3, 4096, 4096, 10, &err) == 0);
    snprintf(cfg.head, sizeof cfg.head, "linear");
    CHECK(fails_with(tl_model_init(&m, &cfg, 65536, 1, 0, &err), &err,
                     "--model cnn: one activation of a batch of 65536 3x4096x4096 inputs takes"));
    CHECK(tl_model_cfg_default(&cfg, "mlp", 1, 1, 1, 100000, &err) == 0);
    cfg.nhidden = 1;
    cfg.hidden[0] = 1 << 24;   /* 1.7e12 parameters: terabytes, beyond any machine this runs on */
    snprintf(cfg.head, sizeof cfg.head, "linear");
    CHECK(fails_with(tl_model_init(&m, &cfg, 1, 1, 0, &err), &err, "parameters (feature size 16777216, 100000 classes) take"));
}

/* Trains one epoch of 16 rows from a model whose weight w0 was set to `poison`; returns the trainer's rc. */
static int train_poisoned(float poison, tl_error *err) {
    enum { N = 16, C = 2 };
    tl_dataset d;
    if (tl_dataset_alloc(&d, N, 2, 1, 1, C, "rows", err)) return -2;
    for (int i = 0; i < N; i++) { d.x[2 * i] = (float)i; d.x[2 * i + 1] = (float)(i % 3); d.y[i] = i % 2; }
    int64_t count[C] = {N / 2, N / 2};
    tl_model m;
    tl_loss loss = {0};
    tl_sampler smp = {0};
    tl_trainer t = {0};
    tl_train_cfg cfg = {.epochs = 1, .batch = 4, .threads = 1, .seed = 1};
    int rc = -2;
    if (mlp(&m, C, 4, err)) { tl_dataset_free(&d); return -2; }
    if (!tl_optim_parse(&cfg.optim, "sgd:lr=0.1", "--optim", err) && !tl_schedule_parse(&cfg.sched, "constant", "--schedule", err) &&
        !tl_transform_parse(&cfg.aug, "none", "--augment", err) && !tl_loss_create(&loss, "ce", C, count, &m.head, err) &&
        !tl_sampler_create(&smp, "instance", d.y, d.n, C, count, 1, err) && !tl_trainer_init(&t, &m, &loss, &smp, &cfg, &d, err)) {
        m.params[tl_model_find(&m, "head.weight")->off] = poison;
        rc = tl_trainer_run(&t, &d, NULL, tmp("ckpt.safetensors"), NULL, err);
    }
    tl_trainer_free(&t);
    tl_sampler_destroy(&smp);
    tl_loss_destroy(&loss);
    tl_model_free(&m);
    tl_dataset_free(&d);
    return rc;
}

static void test_traps(void) {
    tl_error err;
    CHECK_MSG(train_poisoned(0.5f, &err) == 0, "%s", err.msg);
    CHECK(fails_with(train_poisoned(NAN, &err), &err, "non-finite value at epoch 0, step 0, first in the head's logits"));
    CHECK(fails_with(train_poisoned(3e37f, &err), &err, "training diverged at epoch 0, step 0: the loss is"));
}

static void test_csv_cells(void) {
    static const char *const names[] = {"plain", "a, b", "say \"hi\"", " padded ", "x"};
    FILE *f = fopen(tmp("cells.csv"), "w");
    if (!f) { CHECK(0); return; }
    fputs("v,label\n", f);
    for (int i = 0; i < 5; i++) { fprintf(f, "%d,", i); tl_csv_write_cell(f, names[i]); fputc('\n', f); }
    fclose(f);
    tl_dataset tr, te;
    tl_error err;
    CHECK_MSG(tl_csv_load(&tr, &te, tmp("cells.csv"), NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.num_classes == 5 && tr.class_names);
    for (int i = 0; tr.class_names && i < 5; i++) CHECK_MSG(!strcmp(tr.class_names[i], names[i]), "'%s'", tr.class_names[i]);
    tl_dataset_free(&tr);
    tl_dataset_free(&te);
}

/* fuzz_csv found it: with rownames=skip, a row longer than the header read one cell past the array. */
static void test_csv_rownames_long_row(void) {
    FILE *f = fopen(tmp("long.csv"), "w");
    if (!f) { CHECK(0); return; }
    fputs("\"\",a,label\n1,0.5,0\n2,0.5,1,7,8\n", f);
    fclose(f);
    tl_csv_opts o = {.header = -1, .skip_rownames = 1};
    tl_dataset tr, te;
    tl_error err;
    CHECK(fails_with(tl_csv_load_opts(&tr, &te, tmp("long.csv"), NULL, &o, &err), &err, "long.csv:3: 3 columns, expected 2"));
}

int main(void) {
    if (tmpfiles_open("trust")) return 1;
    RUN_TEST(test_range_table);
    RUN_TEST(test_check_values);
    RUN_TEST(test_model_fits);
    RUN_TEST(test_traps);
    RUN_TEST(test_csv_cells);
    RUN_TEST(test_csv_rownames_long_row);
    tmpfiles_close();
    TEST_MAIN_END();
}
