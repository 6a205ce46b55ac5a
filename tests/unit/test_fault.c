/* Fault injection (fault.h): model set-up, a training step (plain, KD, RKD), report writing and
 * safetensors writing each run once to count their allocations and oneDNN calls, then once per call
 * with that call failing. Each failing run must return -1 with a message (never a crash, an exit or a
 * NaN reported as divergence), and leave nothing behind: LeakSanitizer checks after each sweep in the
 * sanitizer build (and again at exit). Also: steps after the first allocate nothing, and the model's
 * thread count governs OpenBLAS. */
#include <cblas.h>
#include <dirent.h>
#include <string.h>
#include "check.h"
#include "fault.h"
#include "tmpfiles.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "eval/report.h"
#include "models/model_io.h"
#include "train/trainer.h"
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() (__lsan_do_recoverable_leak_check() == 0)
#else
#define LEAK_CHECK() 1
#endif

enum { C = 4, B = 8 };

/* An operation under test: runs to completion or fails cleanly (freeing what it made); undo releases
 * what a successful run made. */
typedef struct {
    const char *name;
    int (*run)(void *ctx, tl_error *err);
    void (*undo)(void *ctx);
    void *ctx;
} fault_op;

static const char *kind_name[FAULT_NKINDS] = {"allocation", "oneDNN call"};

/* Runs op once counting calls of `kind`, then once per call with that call failing. */
static void sweep(const fault_op *op, int kind) {
    tl_error err = {0};
    fault_arm(kind, 0);
    int rc = op->run(op->ctx, &err);
    long n = fault_count(kind);
    CHECK_MSG(rc == 0, "%s: %s", op->name, err.msg);
    if (rc) return;
    op->undo(op->ctx);
    long failed = 0;
    for (long i = 1; i <= n; i++) {
        memset(&err, 0, sizeof err);
        fault_arm(kind, i);
        rc = op->run(op->ctx, &err);
        int fired = atomic_load(&fault_fired);
        fault_disarm();
        if (!fired) { if (rc == 0) op->undo(op->ctx); continue; }  /* fewer calls this time (threads) */
        failed++;
        CHECK_MSG(rc == -1 && err.msg[0], "%s: %s %ld of %ld failed: rc %d, message '%s'", op->name, kind_name[kind],
                  i, n, rc, err.msg);
        CHECK_MSG(!strstr(err.msg, "non-finite") && !strstr(err.msg, "diverged"), "%s: %s %ld of %ld: '%s'", op->name,
                  kind_name[kind], i, n, err.msg);
        if (rc == 0) op->undo(op->ctx);
    }
    CHECK_MSG(LEAK_CHECK(), "%s: leaks after failing %s calls", op->name, kind_name[kind]);
    printf("     %s: %ld %ss, %ld failed in turn\n", op->name, n, kind_name[kind], failed);
}

/* ---- model set-up ---- */

typedef struct {
    tl_model m;
    tl_model_cfg cfg;
} model_ctx;

static int model_run(void *p, tl_error *err) {
    model_ctx *c = p;
    return tl_model_init(&c->m, &c->cfg, B, 1, 7, err);
}
static void model_undo(void *p) { tl_model_free(&((model_ctx *)p)->m); }

static void test_model_setup(void) {
    static const struct { const char *arch, *head; int c, h; } cases[] = {
        {"cnn", "linear", 1, 8}, {"resnet32", "linear", 3, 8}, {"mlp", "linear", 1, 4},
        {"cnn", "arcface:s=30,m=0.5", 1, 8}, {"cnn", "causal", 1, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        model_ctx c = {0};
        tl_error err = {0};
        CHECK(tl_model_cfg_default(&c.cfg, cases[i].arch, cases[i].c, cases[i].h, cases[i].h, C, &err) == 0);
        snprintf(c.cfg.head, sizeof c.cfg.head, "%s", cases[i].head);
        char name[96];
        snprintf(name, sizeof name, "tl_model_init %s, head %s", cases[i].arch, cases[i].head);
        fault_op op = {name, model_run, model_undo, &c};
        sweep(&op, FAULT_ALLOC);
        if (strcmp(cases[i].arch, "mlp")) sweep(&op, FAULT_DNNL);
    }
}

/* ---- training ---- */

typedef struct {
    tl_dataset train;
    int64_t count[C];
    tl_model m;
    tl_sampler sampler;
    tl_loss loss;
    tl_train_cfg cfg;
    const char *option, *hook; /* a hook's option (--distill, --synth) and spec, or NULL */
    const char *teacher;     /* the teacher's run folder */
    long step_allocs[16];    /* allocations counted at the end of each step */
    int nsteps;
} train_ctx;

static void on_step(void *p, const tl_step_info *s) {
    train_ctx *c = p;
    if (c->nsteps < 16) c->step_allocs[c->nsteps++] = fault_count(FAULT_ALLOC);
    (void)s;
}

/* tl_trainer_init, the hooks, and one epoch of tl_trainer_run, all freed again. */
static int train_run(void *p, tl_error *err) {
    train_ctx *c = p;
    tl_trainer tr;
    tl_hook hook = {0};
    c->nsteps = 0;
    if (tl_trainer_init(&tr, &c->m, &c->loss, &c->sampler, &c->cfg, &c->train, err)) return -1;
    int rc = 0;
    if (c->hook) {
        tl_hook_env env = {&c->m, &c->train, c->count, tr.mean, tr.std, c->teacher, c->cfg.epochs, 1, c->cfg.seed};
        rc = tl_hook_create(&hook, c->option, c->hook, &env, err);
        if (rc == 0) { tr.hooks = &hook; tr.nhooks = 1; }
    }
    tl_train_hooks hooks = {on_step, NULL, NULL, c};
    if (rc == 0) rc = tl_trainer_run(&tr, &c->train, NULL, tmp("ckpt.safetensors"), &hooks, err);
    tl_hook_destroy(&hook);
    tl_trainer_free(&tr);
    return rc;
}
static void train_undo(void *p) { (void)p; }

/* What a training run is made of. */
typedef struct {
    const char *head, *loss, *sampler, *option, *hook;
    int images, workers, epochs;   /* images: 8x8 gray images (else feature rows); loader threads; epochs */
} train_case;

/* A data set of `steps` batches per epoch and a cnn over it, as the case says. */
static int train_ctx_init(train_ctx *c, int steps, const train_case *tc, tl_error *err) {
    memset(c, 0, sizeof *c);
    int n = steps * B;
    tl_rng r;
    tl_rng_seed(&r, 3, 0);
    if (tc->images) {
        uint8_t *px;
        tl_images *im = tl_images_memory(n, 8, 8, 1, &px);
        if (!im) return tl_fail(err, "out of memory");
        for (int i = 0; i < n * 64; i++) px[i] = (uint8_t)(tl_rng_below(&r, 200) + 40 * ((i / 64) % C));
        int rc = tl_dataset_alloc_images(&c->train, im, n, C, "synthetic", err);
        tl_images_unref(im);
        if (rc) return -1;
    } else {
        if (tl_dataset_alloc(&c->train, n, 1, 8, 8, C, "synthetic", err)) return -1;
        for (int i = 0; i < n * 64; i++) c->train.x[i] = (float)tl_rng_uniform(&r) + 0.1f * (float)((i / 64) % C);
    }
    for (int i = 0; i < n; i++) {
        c->train.y[i] = i % C;
        c->count[i % C]++;
    }
    int epochs = tc->epochs ? tc->epochs : 1;
    tl_model_cfg mc;
    if (tl_model_cfg_default(&mc, "cnn", 1, 8, 8, C, err)) return -1;
    snprintf(mc.head, sizeof mc.head, "%s", tc->head ? tc->head : "linear");
    if (tl_model_init(&c->m, &mc, B, 1, 5, err)) return -1;
    if (tl_sampler_create(&c->sampler, tc->sampler ? tc->sampler : "instance", c->train.y, n, C, c->count, epochs, err))
        return -1;
    if (tl_loss_create(&c->loss, tc->loss ? tc->loss : "ce", C, c->count, &c->m.head, err)) return -1;
    c->option = tc->option;
    c->hook = tc->hook;
    c->cfg = (tl_train_cfg){.epochs = epochs, .batch = B, .threads = 1, .seed = 11, .workers = tc->workers,
                            .optim = {.kind = TL_OPTIM_SGD, .lr = 0.05, .momentum = 0.9, .wd = 5e-4}};
    return tl_schedule_parse(&c->cfg.sched, "constant", "--schedule", err);
}

static void train_ctx_free(train_ctx *c) {
    tl_loss_destroy(&c->loss);
    tl_sampler_destroy(&c->sampler);
    tl_model_free(&c->m);
    tl_dataset_free(&c->train);
}

/* A teacher run folder: a cnn saved as DIR/model.safetensors. */
static int make_teacher(const char *dir, tl_error *err) {
    train_ctx t;
    train_case tc = {0};
    if (train_ctx_init(&t, 1, &tc, err)) { train_ctx_free(&t); return -1; }
    float mean = 0, std = 1;
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = tl_model_save(&t.m, 0, &mean, &std, path, err);
    train_ctx_free(&t);
    return rc;
}

static const char *distills[] = {NULL, "kd:T=4,alpha=1", "rkd", "rkd:normalize=1,kd=1"};
#define NDISTILL (sizeof distills / sizeof *distills)

static void test_train_step_faults(void) {
    for (size_t i = 0; i < NDISTILL; i++) {
        train_ctx c;
        tl_error err = {0};
        train_case tc = {.option = "--distill", .hook = distills[i]};
        CHECK_MSG(train_ctx_init(&c, 1, &tc, &err) == 0, "%s", err.msg);
        c.teacher = tmpdir;
        char name[96];
        snprintf(name, sizeof name, "one training step of the cnn%s%s", i ? ", --distill " : "", i ? distills[i] : "");
        fault_op op = {name, train_run, train_undo, &c};
        sweep(&op, FAULT_ALLOC);
        sweep(&op, FAULT_DNNL);
        train_ctx_free(&c);
    }
}

/* Steps 2..N of an epoch allocate nothing: everything a step needs is made at set-up (epoch-level
 * work, such as a sampler's order or the uncertainty head's refresh, may allocate at the epoch's start). */
static void test_steps_allocate_nothing(void) {
    static const train_case cases[] = {
        {0}, {.workers = 1}, {.images = 1}, {.images = 1, .workers = 2},
        {.option = "--distill", .hook = "kd"}, {.option = "--distill", .hook = "rkd"},
        {.option = "--distill", .hook = "rkd:normalize=1,kd=1"},
        {.images = 1, .option = "--synth", .hook = "m2m:start=0,steps=2,gamma=0"},
        {.head = "cosine"}, {.head = "arcface"}, {.head = "cosface"}, {.head = "combined"}, {.head = "lsoftmax"},
        {.head = "sphereface"}, {.head = "affinity"}, {.head = "uniformface"}, {.head = "adaptiveface"},
        {.head = "causal"}, {.head = "rpl"}, {.head = "gcpl"}, {.head = "uncertainty"}, {.head = "sla:sd=1"},
        {.loss = "focal"}, {.loss = "sigmoid"}, {.head = "cosine:s=30", .loss = "ldam:drw=1,weights=effective", .epochs = 2}, {.loss = "logit-adjust"},
        {.loss = "balanced-softmax"}, {.sampler = "class"}, {.sampler = "sqrt"}, {.sampler = "progressive", .epochs = 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const train_case *tc = &cases[i];
        train_ctx c;
        tl_error err = {0};
        char what[160];
        snprintf(what, sizeof what, "%s data (%d workers), head %s, loss %s, sampler %s, %s %s",
                 tc->images ? "image" : "feature", tc->workers, tc->head ? tc->head : "linear", tc->loss ? tc->loss : "ce",
                 tc->sampler ? tc->sampler : "instance", tc->option ? tc->option : "", tc->hook ? tc->hook : "");
        CHECK_MSG(train_ctx_init(&c, 5, tc, &err) == 0, "%s: %s", what, err.msg);
        c.teacher = tmpdir;
        fault_arm(FAULT_ALLOC, 0);
        CHECK_MSG(train_run(&c, &err) == 0, "%s: %s", what, err.msg);
        CHECK_MSG(c.nsteps == 5 * c.cfg.epochs, "%s: %d steps", what, c.nsteps);
        for (int s = 1; s < c.nsteps; s++)
            if (s % 5) CHECK_MSG(c.step_allocs[s] == c.step_allocs[s - 1], "%s: epoch %d, step %d made %ld allocations",
                                 what, s / 5, s % 5, c.step_allocs[s] - c.step_allocs[s - 1]);
        train_ctx_free(&c);
    }
}

/* ---- report and safetensors writing ---- */

typedef struct {
    char *names[C];
    tl_report_info info;
    const char *dir;
} report_ctx;

/* No temporary file is left in dir. */
static int no_tmp_left(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 1;
    int ok = 1;
    for (struct dirent *e; (e = readdir(d));) if (strstr(e->d_name, ".tmp-")) ok = 0;
    closedir(d);
    return ok;
}

/* The metrics of a small test set, then report.json and report.md. */
static int report_run(void *p, tl_error *err) {
    static const int y[8] = {0, 0, 0, 0, 1, 1, 2, 3}, pred[8] = {0, 0, 1, 0, 1, 2, 2, 3};
    static const int64_t count[C] = {40, 20, 10, 5};
    static const float prob[8 * C] = {.7f, .1f, .1f, .1f, .6f, .2f, .1f, .1f, .3f, .4f, .2f, .1f, .5f, .3f, .1f, .1f,
                                      .1f, .6f, .2f, .1f, .1f, .3f, .5f, .1f, .1f, .1f, .7f, .1f, .1f, .1f, .1f, .7f};
    report_ctx *c = p;
    tl_metrics met;
    if (tl_metrics_init(&met, C, err)) return -1;
    int rc = tl_metrics_compute(&met, y, pred, prob, count, 8, err) ||
             tl_report_write(c->dir, &met, (const char *const *)c->names, &c->info, err) ? -1 : 0;
    tl_metrics_free(&met);
    if (!no_tmp_left(c->dir)) rc = tl_fail(err, "a temporary file was left behind");
    return rc;
}
static void nothing(void *p) { (void)p; }

static void test_report_write(void) {
    report_ctx c = {.dir = tmpdir, .names = {"zero", "one", "two", "three"}};
    tl_error err = {0};
    tl_report_info_init(&c.info);
    CHECK(tl_report_info_set(&c.info, "model", "cnn", &err) == 0);
    fault_op op = {"tl_metrics_init + tl_metrics_compute + tl_report_write", report_run, nothing, &c};
    sweep(&op, FAULT_ALLOC);
}

typedef struct {
    tl_model m;
    float mean, std;
    const char *path;
} save_ctx;

static int save_run(void *p, tl_error *err) {
    save_ctx *c = p;
    int rc = tl_model_save(&c->m, 3, &c->mean, &c->std, c->path, err);
    if (!no_tmp_left(tmpdir)) rc = tl_fail(err, "a temporary file was left behind");
    return rc;
}

static int st_run(void *p, tl_error *err) {
    save_ctx *c = p;
    tl_st_tensor t[2] = {{.name = "a", .dtype = "F32", .ndim = 1, .shape = {4}, .data = c->m.params},
                         {.name = "b", .dtype = "F32", .ndim = 2, .shape = {2, 2}, .data = c->m.params + 4}};
    const char *meta[] = {"format", "test"};
    return tl_st_write(c->path, t, 2, meta, 1, err);
}

static void test_safetensors_write(void) {
    save_ctx c = {.mean = 0.5f, .std = 2, .path = tmp("model.safetensors")};
    tl_model_cfg mc;
    tl_error err = {0};
    CHECK(tl_model_cfg_default(&mc, "cnn", 1, 8, 8, C, &err) == 0 && tl_model_init(&c.m, &mc, B, 1, 5, &err) == 0);
    fault_op save = {"tl_model_save", save_run, nothing, &c}, st = {"tl_st_write", st_run, nothing, &c};
    sweep(&save, FAULT_ALLOC);
    sweep(&st, FAULT_ALLOC);
    tl_model_free(&c.m);
}

/* ---- threads ---- */

/* The model's thread count governs OpenBLAS too (its own pool, separate from OpenMP's). */
static void test_threads_govern_openblas(void) {
    tl_model m;
    tl_model_cfg mc;
    tl_error err = {0};
    for (int nt = 1; nt <= 2; nt++) {
        CHECK(tl_model_cfg_default(&mc, "mlp", 1, 4, 4, C, &err) == 0 && tl_model_init(&m, &mc, B, nt, 5, &err) == 0);
        CHECK_MSG(openblas_get_num_threads() == nt, "model threads %d, OpenBLAS %d", nt, openblas_get_num_threads());
        tl_model_free(&m);
    }
}

int main(void) {
    if (tmpfiles_open("fault")) return 1;
    tl_error err = {0};
    if (make_teacher(tmpdir, &err)) { fprintf(stderr, "teacher: %s\n", err.msg); return 1; }
    RUN_TEST(test_model_setup);
    RUN_TEST(test_train_step_faults);
    RUN_TEST(test_steps_allocate_nothing);
    RUN_TEST(test_report_write);
    RUN_TEST(test_safetensors_write);
    RUN_TEST(test_threads_govern_openblas);
    tmpfiles_close();
    TEST_MAIN_END();
}
