/* tl_run: training in memory (tl_train), and a trained model saved to and opened from a run folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/run_dir.h"
#include "run/train.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json.h"
#include "data/file.h"
#include "eval/report.h"
#include "models/model_io.h"

void tl_run_free(tl_run *r) {
    if (!r) return;
    tl_strings_free(r->class_names, r->model.cfg.num_classes);
    tl_model_free(&r->model);
    free(r->mean);
    free(r->std);
    free(r->train_count);
    tl_opts_free(&r->cfg.o);
    free(r->logs);
    free(r->dir);
    free(r);
}

/* train_counts.json ({"train_count": [n0, n1, ...]}, written by tl_run_save) into count [C]. */
static int read_counts_file(int64_t *count, int C, const char *path, tl_error *err) {
    unsigned char *text;
    int64_t len;
    if (tl_file_read(&text, &len, path, err)) return -1;
    tl_json *j = tl_json_parse((const char *)text, (size_t)len, path, err);
    free(text);
    if (!j) return -1;
    const tl_json *a = tl_json_get(j, "train_count"), *v = a && a->type == TL_JSON_ARRAY ? a->child : NULL;
    int n = 0, bad = !a || a->type != TL_JSON_ARRAY;
    for (; v && !bad; v = v->next, n++)
        if (n >= C || v->type != TL_JSON_NUMBER || v->num < 0 || v->num > 1e15 || v->num != floor(v->num)) bad = 1;
        else count[n] = (int64_t)v->num;
    tl_json_free(j);
    if (bad || n != C) return tl_fail(err, "%s: \"train_count\" is not an array of %d counts (the model's classes)", path, C);
    return 0;
}

const int64_t *tl_run_counts(tl_run *r, const tl_data *d, tl_error *err) {
    if (d && d->b.train.n) return d->b.train_count;
    if (r->train_count) return r->train_count;
    char path[4300];
    int C = r->model.cfg.num_classes;
    /* A run the command finished: its report.json has the training counts (shot groups, logit
     * adjustment). A run saved by tl_run_save had them read from its train_counts.json on opening. */
    tl_report rep;
    if (!r->dir || tl_path_join(path, sizeof path, r->dir, "report.json", err) || !tl_file_exists(path)) {
        tl_fail(err, "the run's training counts are unknown (no report.json) and the data set has no training split");
        return NULL;
    }
    if (tl_report_read(&rep, path, err)) return NULL;
    int ok = rep.m.C == C;
    if (!ok) tl_fail(err, "%s: %d classes, the model has %d", path, rep.m.C, C);
    if (ok && !(r->train_count = malloc((size_t)C * sizeof *r->train_count))) { ok = 0; tl_fail(err, "out of memory"); }
    if (ok) memcpy(r->train_count, rep.m.train_count, (size_t)C * sizeof *r->train_count);
    tl_report_free(&rep);
    return ok ? r->train_count : NULL;
}

int tl_run_set_batch(tl_run *r, int batch, tl_error *err) {
    if (batch < 1 || batch > 65536) return tl_fail(err, "--batch: '%d' is not an integer in 1..65536", batch);
    if (batch == r->model.N && r->model.net.inference) return 0;
    tl_model m;
    if (tl_model_clone(&m, &r->model, batch, r->threads, err)) return -1;
    tl_model_free(&r->model);
    r->model = m;
    return 0;
}

/* A given data set's spec and view go into the run's options, so its config.json names them. */
static int record_data(tl_opts *o, const tl_data *d, tl_error *err) {
    char val[32];
    snprintf(val, sizeof val, "%d", d->val);
    if (!d->lt) return 0;   /* made from arrays without a view: the configuration's own values stay */
    return (d->spec && tl_opt_set(o, "data", d->spec, err)) || tl_opt_set(o, "lt", d->lt, err) ||
           tl_opt_set(o, "val", val, err) || tl_opt_set(o, "open", d->open, err);
}

/* The trained parts of t that the run keeps (the model moves; the rest is copied). */
static int take(tl_run *r, tl_training *t, const tl_data_bundle *b, tl_error *err) {
    int c = t->mcfg.in_c, C = t->mcfg.num_classes;
    r->mean = malloc((size_t)c * sizeof *r->mean);
    r->std = malloc((size_t)c * sizeof *r->std);
    r->train_count = malloc((size_t)C * sizeof *r->train_count);
    if (!r->mean || !r->std || !r->train_count) return tl_fail(err, "out of memory");
    memcpy(r->mean, t->tr.mean, (size_t)c * sizeof *r->mean);
    memcpy(r->std, t->tr.std, (size_t)c * sizeof *r->std);
    memcpy(r->train_count, b->train_count, (size_t)C * sizeof *r->train_count);
    if (tl_strings_copy(&r->class_names, b->train.class_names, C, err)) return -1;
    r->bn_steps = t->tr.prog.bn_steps;
    r->train_seconds = t->tr.prog.seconds;
    r->images_per_second = t->nlogs ? tl_training_images_per_second(t) : NAN;
    r->threads = t->tcfg.threads;
    r->logs = t->logs;
    r->nlogs = t->nlogs;
    t->logs = NULL;
    t->nlogs = t->cap = 0;
    r->model = t->model;   /* the trainer and hooks only borrowed it */
    memset(&t->model, 0, sizeof t->model);
    return 0;
}

tl_run *tl_train(const tl_config *cfg, tl_data *data, tl_train_fn progress, void *user, const volatile int *cancel,
                 tl_error *err) {
    tl_run *r = calloc(1, sizeof *r);
    tl_data_bundle own = {0}, *b = data ? &data->b : &own;
    tl_training t = {0};
    if (!r) { tl_fail(err, "out of memory"); return NULL; }
    int rc = tl_opts_copy(&r->cfg.o, &cfg->o, err);
    if (!rc && data) {
        const char *name = data->spec ? data->spec : "(arrays)";
        if (b->train.n == 0) rc = tl_fail(err, "--data %s: the training split is empty", name);
        if (!rc) rc = record_data(&r->cfg.o, data, err) || tl_bundle_check_classes(&b->train, &b->test, &b->open, name, err);
    }
    if (!rc && !data && !*tl_opt(&r->cfg.o, "data")) rc = tl_fail(err, "--data: no data set given (set it, or pass a tl_data)");
    if (!rc) rc = tl_training_setup(&t, &r->cfg.o, b, !data, err) || tl_training_build(&t, 1, err);
    if (!rc) {
        t.progress = progress;
        t.user = user;
        t.cancel = cancel;
        int s = tl_training_run(&t, NULL, err);
        if (s == 1) rc = tl_fail(err, "training stopped at epoch %d, step %d", t.tr.prog.epoch, t.tr.prog.step);
        else rc = s;
    }
    if (!rc) rc = take(r, &t, b, err);
    tl_training_free(&t);
    tl_bundle_free(&own);
    if (rc) { tl_run_free(r); return NULL; }
    return r;
}

int tl_run_save(const tl_run *r, const char *dir, tl_error *err) {
    tl_run_dir rd = {.fd = -1};
    char path[4300];
    if (tl_run_dir_init(&rd, dir ? dir : "", "tl_run_save", err) || tl_run_dir_check_free(rd.out, rd.option, err) ||
        tl_run_dir_check_no_partial(&rd, "left by an interrupted save: remove it", err) || tl_run_dir_create(&rd, err))
        return -1;
    tl_atomic_file af;
    int rc = tl_path_join(path, sizeof path, rd.partial, "config.json", err) || tl_atomic_open(&af, path, err);
    if (!rc) {
        tl_opts_write_config(&r->cfg.o, af.f);
        rc = tl_atomic_commit(&af, err);
    }
    if (!rc && r->nlogs) {
        rc = tl_path_join(path, sizeof path, rd.partial, "metrics.jsonl", err) || tl_atomic_open(&af, path, err);
        if (!rc) {
            for (int i = 0; i < r->nlogs; i++) tl_metrics_line_write(af.f, &r->logs[i]);
            rc = tl_atomic_commit(&af, err);
        }
    }
    /* The training counts, so that a rule that needs them (logit adjustment, ...) works on the run
     * opened again. A run opened from a folder reads them on first use (remembered in r). */
    tl_error ignored;
    const int64_t *count = r->train_count ? r->train_count : tl_run_counts((tl_run *)r, NULL, &ignored);
    if (!rc && count) {
        rc = tl_path_join(path, sizeof path, rd.partial, "train_counts.json", err) || tl_atomic_open(&af, path, err);
        if (!rc) {
            fprintf(af.f, "{\"train_count\": [");
            for (int k = 0; k < r->model.cfg.num_classes; k++) fprintf(af.f, "%s%lld", k ? ", " : "", (long long)count[k]);
            fprintf(af.f, "]}\n");
            rc = tl_atomic_commit(&af, err);
        }
    }
    if (!rc) rc = tl_path_join(path, sizeof path, rd.partial, "model.safetensors", err) ||
                  tl_model_save_named(&r->model, r->bn_steps, r->mean, r->std, (const char *const *)r->class_names, path, err);
    if (!rc) rc = tl_run_dir_commit(&rd, err);
    tl_run_dir_close(&rd, rc != 0);
    return rc;
}

tl_run *tl_run_open(const char *dir, int threads, tl_error *err) {
    if (threads < 1 || threads > 256) { tl_fail(err, "tl_run_open: threads %d is not in 1..256", threads); return NULL; }
    tl_run *r = calloc(1, sizeof *r);
    if (!r) { tl_fail(err, "out of memory"); return NULL; }
    char path[4300];
    r->threads = threads;
    r->train_seconds = r->images_per_second = NAN;
    int rc = tl_run_check(dir, err) || tl_train_settings(&r->cfg.o, dir, err) ||
             tl_path_join(path, sizeof path, dir, "model.safetensors", err) ||
             tl_model_load_steps(&r->model, path, 256, threads, 1, &r->mean, &r->std, &r->bn_steps, err) ||
             tl_model_load_names(&r->class_names, path, r->model.cfg.num_classes, err);
    if (!rc && !(r->dir = strdup(dir))) rc = tl_fail(err, "out of memory");
    /* Read at once: the folder may be gone when they are needed (a pickled model's). */
    if (!rc && tl_path_join(path, sizeof path, dir, "train_counts.json", err) == 0 && tl_file_exists(path)) {
        int C = r->model.cfg.num_classes;
        if (!(r->train_count = malloc((size_t)C * sizeof *r->train_count))) rc = tl_fail(err, "out of memory");
        else rc = read_counts_file(r->train_count, C, path, err);
    }
    if (rc) { tl_run_free(r); return NULL; }
    return r;
}

int tl_run_num_classes(const tl_run *r) { return r->model.cfg.num_classes; }
int tl_run_batch(const tl_run *r) { return r->model.N; }
int tl_run_feature_dim(const tl_run *r) { return r->model.cfg.feat_dim; }

void tl_run_input_shape(const tl_run *r, int *c, int *h, int *w) {
    if (c) *c = r->model.cfg.in_c;
    if (h) *h = r->model.cfg.in_h;
    if (w) *w = r->model.cfg.in_w;
}

const tl_config *tl_run_config(const tl_run *r) { return &r->cfg; }

const char *tl_run_class_name(const tl_run *r, int k) {
    return r->class_names && k >= 0 && k < r->model.cfg.num_classes ? r->class_names[k] : NULL;
}
