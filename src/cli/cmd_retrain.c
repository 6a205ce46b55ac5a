/* tailor retrain: stage 2 of decoupled classifier learning (src/stage2). Reads a finished run
 * (config.json, model.safetensors), computes its training and validation features with the backbone
 * frozen in evaluation mode, fits the new classifier and writes a complete run folder: config.json
 * (the run's settings with the new head, so tailor eval --run works), model.safetensors,
 * report.json (with a "stage2" section), report.md, plots, and metrics.jsonl for trained methods. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "run/evaluate.h"
#include "run/retrain.h"
#include "run/train.h"
#include "run/bundle.h"
#include "progress.h"
#include "run/run_dir.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/error.h"
#include "eval/report.h"
#include "models/model_io.h"
#include "stage2/stage2.h"


static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

typedef struct {
    tl_progress bar;
    FILE *metrics;
    const char *metrics_path;
    int epochs;
} retrain_ctx;

static void on_step(void *p, const tl_step_info *s) {
    retrain_ctx *c = p;
    tl_train_status st = {.epoch = s->epoch, .epochs = c->epochs, .step = s->step, .steps = s->steps, .loss = s->loss,
                          .images_per_second = s->images_per_second};
    tl_progress_show(&c->bar, &st);
}

static int on_epoch(void *p, const tl_epoch_log *e, tl_error *err) {
    retrain_ctx *c = p;
    tl_train_status st = {.epoch = e->epoch, .epochs = c->epochs, .step = -1, .steps = -1, .epoch_end = 1, .lr = e->lr,
                          .train_loss = e->train_loss, .train_accuracy = e->train_acc, .val_accuracy = e->val_accuracy,
                          .val_balanced_accuracy = e->val_balanced_accuracy, .seconds = e->seconds,
                          .images_per_second = e->images_per_second};
    tl_progress_show(&c->bar, &st);
    return tl_metrics_line_write(c->metrics, e) ? tl_fail(err, "%s: cannot write: %s", c->metrics_path, strerror(errno)) : 0;
}

int tl_cmd_retrain(int argc, char **argv) {
    if (tl_opts_help(argc, argv, tl_retrain_optdefs, tl_retrain_noptdefs, "retrain", "--run DIR --method crt|ncm|tau|lws --out DIR2 [options]"))
        return 0;
    tl_error err = {{0}};
    tl_opts o, run = {0};
    tl_data_bundle data = {0};
    tl_model src = {0}, out = {0};
    tl_dataset ftrain = {0}, fval = {0};
    tl_st_file sf = {0};
    tl_stage2 s;
    tl_stage2_cfg cfg;
    retrain_ctx ctx = {0};
    float *mean = NULL, *std = NULL;
    char path[4200], ckpt[4400];
    tl_run_dir rd = {.fd = -1};
    int status = 1, have_sf = 0;
    long val;
    long long bn_steps = 0;
    if (tl_opts_parse(&o, tl_retrain_optdefs, tl_retrain_noptdefs, argc, argv, "retrain", &err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_opts_free(&o);
        return 2;
    }
    const char *dir = tl_opt(&o, "run"), *outdir = tl_opt(&o, "out");
    if (tl_run_check(dir, &err) || tl_train_settings(&run, dir, &err) ||
        tl_opt_int(&run, "val", 0, 1000000, &val, &err) || tl_retrain_cfg(&o, &cfg, &err))
        goto fail;
    if (tl_run_dir_init(&rd, outdir, "--out", &err) || tl_run_dir_check_free(rd.out, "--out", &err) ||
        tl_run_dir_check_no_partial(&rd, "left by a killed retrain, or a finished one whose rename failed: move it away or remove it", &err))
        goto fail;
    /* The stage-1 model, with its num_batches_tracked kept for the saved file. */
    if (tl_path_join(path, sizeof path, dir, "model.safetensors", &err) || tl_st_read(&sf, path, &err)) goto fail;
    have_sf = 1;
    tl_model_cfg mc;
    if (tl_model_cfg_from_file(&mc, &sf, path, &err) || tl_model_init(&src, &mc, 256, cfg.threads, 0, &err)) goto fail;
    mean = malloc((size_t)mc.in_c * sizeof *mean);
    std = malloc((size_t)mc.in_c * sizeof *std);
    if (!mean || !std) { tl_fail(&err, "out of memory"); goto fail; }
    if (tl_model_load_weights(&src, &sf, &bn_steps, path, &err) ||
        tl_model_norm_from_file(mean, std, mc.in_c, &sf, path, &err))
        goto fail;
    if (tl_stage2_create(&s, tl_opt(&o, "method"), &src, &err)) goto fail;
    if (tl_bundle_load(&data, tl_opt(&run, "data"), tl_opt(&run, "lt"), val, &err) || tl_bundle_input(&data, &run, &err))
        goto fail;
    const tl_dataset *test = data.test.n ? &data.test : &data.val;
    if (data.input.c != mc.in_c || data.input.h != mc.in_h || data.input.w != mc.in_w) {
        tl_fail(&err, "--run %s: its data set does not match its model", dir);
        goto fail;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (tl_run_dir_create(&rd, &err)) goto fail;
    double t0 = tl_clock_seconds();
    if (tl_stage2_features(&ftrain, &src, &data.train, mean, std, &err) ||
        (data.val.n && tl_stage2_features(&fval, &src, &data.val, mean, std, &err)))
        goto fail;
    if (tl_path_join(path, sizeof path, rd.partial, "metrics.jsonl", &err) ||
        tl_path_join(ckpt, sizeof ckpt, rd.partial, "stage2_checkpoint.safetensors", &err))
        goto fail;
    /* Under mpirun only rank 0 writes files (docs/distributed.md). */
    if (!(ctx.metrics = fopen(tl_dist_rank() ? "/dev/null" : path, "w"))) { tl_fail(&err, "%s: cannot write: %s", path, strerror(errno)); goto fail; }
    ctx.metrics_path = path;
    ctx.epochs = cfg.epochs ? cfg.epochs : s.ops->default_epochs;
    tl_progress_init(&ctx.bar, !!*tl_opt(&o, "quiet"));
    tl_train_hooks hooks = {on_step, on_epoch, &stop_flag, &ctx};
    cfg.hooks = &hooks;
    cfg.ckpt_path = ckpt;
    int rc = tl_stage2_run(&s, &out, &src, &ftrain, &fval, data.train_count, &cfg, 256, &err);
    tl_progress_done(&ctx.bar);
    if (fclose(ctx.metrics) != 0 && !rc) rc = tl_fail(&err, "%s: cannot write: %s", path, strerror(errno));
    ctx.metrics = NULL;
    if (tl_dist_rank() == 0) unlink(ckpt);
    if (rc) goto fail;
    if (!s.epochs && tl_dist_rank() == 0 && tl_path_join(path, sizeof path, rd.partial, "metrics.jsonl", &err) == 0) unlink(path);
    double seconds = tl_clock_seconds() - t0;
    if (s.nsweep) printf("tau: chose %g (validation balanced accuracy %.2f%%)\n", s.tau, 100 * s.sweep[(int)lround(s.tau * 10)].val_balanced_accuracy);

    /* The run folder: config.json (the stage-1 settings with the new head), report, model. */
    tl_atomic_file af;
    if (tl_opt_set(&run, "head", s.head, &err) || tl_path_join(path, sizeof path, rd.partial, "config.json", &err) ||
        tl_atomic_open(&af, path, &err))
        goto fail;
    tl_opts_write_config(&run, af.f);
    if (tl_atomic_commit(&af, &err)) goto fail;
    tl_metrics met;
    if (tl_evaluate_to_dir(&out, test, mean, std, data.train_count, rd.partial, &run, NULL, seconds, NAN, &met, &err)) goto fail;
    if (tl_retrain_splice_report(rd.partial, &s, dir, &cfg, &err) || tl_path_join(path, sizeof path, rd.partial, "model.safetensors", &err) ||
        tl_model_save_named(&out, bn_steps, mean, std, (const char *const *)data.train.class_names, path, &err)) {
        tl_metrics_free(&met);
        goto fail;
    }
    if (src.head.ops == &tl_head_linear && out.head.ops == &tl_head_linear) {
        /* Per-class weight norms of the stage-1 (joint) classifier and of this one. */
        int C = mc.num_classes, D = mc.feat_dim;
        float *nrm = malloc(2 * (size_t)C * sizeof *nrm);
        const float *series[2] = {nrm, nrm + C};
        const char *labels[2] = {"joint (stage 1)", s.text};
        char title[256];
        snprintf(title, sizeof title, "Classifier weight norms: joint vs %s", s.text);
        int bad = !nrm || tl_path_join(path, sizeof path, rd.partial, "weight_norms.png", &err);
        if (!bad) {
            tl_stage2_row_norms(nrm, src.params + tl_model_find(&src, "head.weight")->off, C, D);
            tl_stage2_row_norms(nrm + C, out.params + tl_model_find(&out, "head.weight")->off, C, D);
            bad = tl_stage2_plot_norms(path, series, labels, 2, data.train_count, C, title, &err);
        }
        free(nrm);
        if (bad) { tl_metrics_free(&met); if (!err.msg[0]) tl_fail(&err, "out of memory"); goto fail; }
    }
    if (!*tl_opt(&o, "quiet")) tl_report_print(stdout, &met, (const char *const *)test->class_names);
    tl_metrics_free(&met);
    if (tl_run_dir_commit(&rd, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); goto done; }  /* keeps the complete folder */
    printf("\nrun folder: %s\n", rd.out);
    status = 0;
    goto done;
fail:
    /* The stage-1 run is never touched and stage 2 takes seconds: a folder without the new model
     * goes; one with it (a later write failed) is kept, as a finished model is never thrown away. */
    if (ctx.metrics) fclose(ctx.metrics);
    if (rd.created && tl_path_join(path, sizeof path, rd.partial, "model.safetensors", NULL) == 0 && tl_file_exists(path))
        fprintf(stderr, "tailor: %s; the retrained model is kept in %s: once that is fixed, remove it and run this retrain again, or take it as it is: mv %s %s\n",
                err.msg, rd.partial, rd.partial, rd.out);
    else {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_run_dir_close(&rd, 1);
    }
done:
    tl_run_dir_close(&rd, 0);
    if (have_sf) tl_st_free(&sf);
    free(mean);
    free(std);
    tl_dataset_free(&ftrain);
    tl_dataset_free(&fval);
    tl_model_free(&out);
    tl_model_free(&src);
    tl_bundle_free(&data);
    tl_opts_free(&run);
    tl_opts_free(&o);
    return status;
}
