/* The job of `tailor retrain` (tl_job_retrain): stage 2 of decoupled classifier learning (src/stage2)
 * on a finished run (config.json, model.safetensors): its training and validation features computed
 * with the backbone frozen in evaluation mode, the new classifier fitted, and a complete run folder
 * written: config.json (the run's settings with the new head, so tailor eval --run works),
 * model.safetensors, report.json (with a "stage2" section), report.md, plots, and metrics.jsonl for
 * trained methods. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run/job.h"
#include "run/evaluate.h"
#include "run/handles.h"
#include "run/retrain.h"
#include "run/train.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/dist.h"
#include "core/error.h"
#include "core/log.h"
#include "data/file.h"
#include "models/model_io.h"

typedef struct {
    tl_job j;
    tl_opts run;                 /* the stage-1 run's options (its config.json), then with the new head */
    tl_data_bundle data;
    tl_model_cfg mc;
    tl_model src, out;
    tl_dataset ftrain, fval;
    tl_st_file sf;
    int have_sf;
    float *mean, *std;
    /* Progress: the caller's callback and cancellation, the epochs, and metrics.jsonl. */
    tl_train_fn progress;
    void *user;
    const volatile int *cancel;
    volatile sig_atomic_t stop;
    int epochs;
    FILE *metrics;
    const char *metrics_path;
} retrain_job;

static void poll_stop(retrain_job *rj, int want) {
    if (want || (rj->cancel && *rj->cancel)) rj->stop = 1;
}

static void on_step(void *p, const tl_step_info *s) {
    retrain_job *rj = p;
    tl_train_status st = {.epoch = s->epoch, .epochs = rj->epochs, .step = s->step, .steps = s->steps, .loss = s->loss,
                          .images_per_second = s->images_per_second};
    poll_stop(rj, rj->progress && rj->progress(rj->user, &st));
}

static int on_epoch(void *p, const tl_epoch_log *e, tl_error *err) {
    retrain_job *rj = p;
    tl_train_status st = {.epoch = e->epoch, .epochs = rj->epochs, .step = -1, .steps = -1, .epoch_end = 1, .lr = e->lr,
                          .train_loss = e->train_loss, .train_accuracy = e->train_acc, .val_accuracy = e->val_accuracy,
                          .val_balanced_accuracy = e->val_balanced_accuracy, .seconds = e->seconds,
                          .images_per_second = e->images_per_second};
    poll_stop(rj, rj->progress && rj->progress(rj->user, &st));
    return tl_metrics_line_write(rj->metrics, e) ? tl_fail(err, "%s: cannot write: %s", rj->metrics_path, strerror(errno)) : 0;
}

/* weight_norms.png: the per-class weight norms of the stage-1 (joint) classifier and of this one. */
static int plot_norms(retrain_job *rj, const tl_stage2 *s, const char *path, tl_error *err) {
    int C = rj->mc.num_classes, D = rj->mc.feat_dim;
    float *nrm = malloc(2 * (size_t)C * sizeof *nrm);
    if (!nrm) return tl_fail(err, "out of memory");
    const float *series[2] = {nrm, nrm + C};
    const char *labels[2] = {"joint (stage 1)", s->text};
    char title[256];
    snprintf(title, sizeof title, "Classifier weight norms: joint vs %s", s->text);
    tl_stage2_row_norms(nrm, rj->src.params + tl_model_find(&rj->src, "head.weight")->off, C, D);
    tl_stage2_row_norms(nrm + C, rj->out.params + tl_model_find(&rj->out, "head.weight")->off, C, D);
    int rc = tl_stage2_plot_norms(path, series, labels, 2, rj->data.train_count, C, title, err);
    free(nrm);
    return rc;
}

/* Everything after the options: the stage-1 run read, stage 2 run into OUT.partial, its report. */
static int retrain_run(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err) {
    retrain_job *rj = (retrain_job *)j;
    tl_stage2 s;
    tl_stage2_cfg cfg;
    char path[4200], ckpt[4400];
    long val;
    long long bn_steps = 0;
    const char *dir = tl_opt(&j->o, "run");
    if (tl_run_check(dir, err) || tl_train_settings(&rj->run, dir, err) ||
        tl_opt_int(&rj->run, "val", 0, 1000000, &val, err) || tl_retrain_cfg(&j->o, &cfg, err))
        return -1;
    if (tl_run_dir_init(&j->rd, tl_opt(&j->o, "out"), "--out", err) || tl_run_dir_check_free(j->rd.out, "--out", err) ||
        tl_run_dir_check_no_partial(&j->rd, "left by a killed retrain, or a finished one whose rename failed: move it away or remove it", err))
        return -1;
    /* The stage-1 model, with its num_batches_tracked kept for the saved file. */
    if (tl_path_join(path, sizeof path, dir, "model.safetensors", err) || tl_st_read(&rj->sf, path, err)) return -1;
    rj->have_sf = 1;
    tl_model_cfg *mc = &rj->mc;
    if (tl_model_cfg_from_file(mc, &rj->sf, path, err) || tl_model_init(&rj->src, mc, 256, cfg.threads, 0, err)) return -1;
    rj->mean = malloc((size_t)mc->in_c * sizeof *rj->mean);
    rj->std = malloc((size_t)mc->in_c * sizeof *rj->std);
    if (!rj->mean || !rj->std) return tl_fail(err, "out of memory");
    if (tl_model_load_weights(&rj->src, &rj->sf, &bn_steps, path, err) ||
        tl_model_norm_from_file(rj->mean, rj->std, mc->in_c, &rj->sf, path, err))
        return -1;
    if (tl_stage2_create(&s, tl_opt(&j->o, "method"), &rj->src, err)) return -1;
    tl_data_bundle *data = &rj->data;
    if (tl_bundle_load(data, tl_opt(&rj->run, "data"), tl_opt(&rj->run, "lt"), val, err) || tl_bundle_input(data, &rj->run, err))
        return -1;
    const tl_dataset *test = data->test.n ? &data->test : &data->val;
    if (data->input.c != mc->in_c || data->input.h != mc->in_h || data->input.w != mc->in_w)
        return tl_fail(err, "--run %s: its data set does not match its model", dir);

    if (tl_run_dir_create(&j->rd, err)) return -1;
    double t0 = tl_clock_seconds();
    if (tl_stage2_features(&rj->ftrain, &rj->src, &data->train, rj->mean, rj->std, err) ||
        (data->val.n && tl_stage2_features(&rj->fval, &rj->src, &data->val, rj->mean, rj->std, err)))
        return -1;
    if (tl_path_join(path, sizeof path, j->rd.partial, "metrics.jsonl", err) ||
        tl_path_join(ckpt, sizeof ckpt, j->rd.partial, "stage2_checkpoint.safetensors", err))
        return -1;
    /* Under mpirun only rank 0 writes files (docs/distributed.md). */
    if (!(rj->metrics = fopen(tl_dist_writes() ? path : "/dev/null", "w"))) return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    rj->metrics_path = path;
    rj->epochs = cfg.epochs ? cfg.epochs : s.ops->default_epochs;
    rj->progress = progress;
    rj->user = user;
    rj->cancel = cancel;
    tl_train_hooks hooks = {on_step, on_epoch, &rj->stop, rj};
    cfg.hooks = &hooks;
    cfg.ckpt_path = ckpt;
    poll_stop(rj, 0);
    int rc = tl_stage2_run(&s, &rj->out, &rj->src, &rj->ftrain, &rj->fval, data->train_count, &cfg, 256, err);
    if (fclose(rj->metrics) != 0 && !rc) rc = tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    rj->metrics = NULL;
    if (tl_dist_writes()) unlink(ckpt);
    if (rc) return -1;
    if (!s.epochs && tl_dist_writes() && tl_path_join(path, sizeof path, j->rd.partial, "metrics.jsonl", err) == 0) unlink(path);
    double seconds = tl_clock_seconds() - t0;
    if (s.nsweep) tl_log(TL_LOG_INFO, "tau: chose %g (validation balanced accuracy %.2f%%)", s.tau, 100 * s.sweep[(int)lround(s.tau * 10)].val_balanced_accuracy);

    /* The run folder: config.json (the stage-1 settings with the new head), report, model. */
    tl_atomic_file af;
    if (tl_opt_set(&rj->run, "head", s.head, err) || tl_path_join(path, sizeof path, j->rd.partial, "config.json", err) ||
        tl_atomic_open(&af, path, err))
        return -1;
    tl_opts_write_config(&rj->run, af.f);
    if (tl_atomic_commit(&af, err)) return -1;
    tl_metrics met;
    if (tl_evaluate_to_dir(&rj->out, test, rj->mean, rj->std, data->train_count, j->rd.partial, &rj->run, NULL, seconds, NAN,
                           &met, err))
        return -1;
    char model[4300] = "";
    rc = tl_retrain_splice_report(j->rd.partial, &s, dir, &cfg, err) ||
         tl_path_join(model, sizeof model, j->rd.partial, "model.safetensors", err) ||
         tl_model_save_named(&rj->out, bn_steps, rj->mean, rj->std, (const char *const *)data->train.class_names, model, err);
    /* The stage-1 run is never touched and stage 2 takes seconds: a folder without the new model goes;
     * one with it (a later write failed) is kept, as a finished model is never thrown away. */
    j->kept = *model && tl_file_exists(model);
    if (!rc && rj->src.head.ops == &tl_head_linear && rj->out.head.ops == &tl_head_linear &&
        (tl_path_join(path, sizeof path, j->rd.partial, "weight_norms.png", err) || plot_norms(rj, &s, path, err)))
        rc = -1;
    if (!rc && !(j->report = tl_evaluation_take(&met, (const char *const *)test->class_names, NULL, NULL, err))) rc = -1;
    tl_metrics_free(&met);
    return rc ? -1 : 0;
}

static void retrain_free(tl_job *j) {
    retrain_job *rj = (retrain_job *)j;
    if (rj->metrics) fclose(rj->metrics);
    if (rj->have_sf) tl_st_free(&rj->sf);
    free(rj->mean);
    free(rj->std);
    tl_dataset_free(&rj->ftrain);
    tl_dataset_free(&rj->fval);
    tl_model_free(&rj->out);
    tl_model_free(&rj->src);
    tl_bundle_free(&rj->data);
    tl_opts_free(&rj->run);
}

/* The options alone: the folders are checked when it runs (exit status 1, not 2, as before). */
static int retrain_open(tl_job *j, int argc, char **argv, tl_error *err) {
    return tl_opts_parse(&j->o, tl_retrain_optdefs, tl_retrain_noptdefs, argc, argv, "retrain", err);
}

tl_job *tl_job_retrain(int argc, char **argv, tl_error *err) {
    static const tl_job_ops ops = {retrain_open, retrain_run, retrain_free};
    return tl_job_new(sizeof(retrain_job), &ops, argc, argv, err);
}
