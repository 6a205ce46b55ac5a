/* tailor train: load data, make the long-tailed view, train, evaluate, write the run folder.
 * The folder is built under OUT.partial and renamed to OUT only when complete; an interrupted run
 * leaves OUT.partial with a checkpoint that `tailor train --resume OUT` continues. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "progress.h"
#include "run/evaluate.h"
#include "run/run_dir.h"
#include "run/train.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/plot.h"
#include "eval/report.h"
#include "models/model_io.h"
#include "spec/spec.h"
#include "train/trainer.h"

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* The progress bar (stderr) and Ctrl-C, through the run layer's progress callback. */
static int on_progress(void *p, const tl_train_status *s) {
    tl_progress_show(p, s);
    return 0;
}

/* The options of `tailor train --resume DIR ...`: the run's own settings (DIR.partial/config.json).
 * A resumed run continues to the result the uninterrupted one would have reached, so any other option
 * given must repeat the run's value (the schedule, sampler and every random stream depend on them);
 * --quiet alone may change. */
static int resume_opts(tl_opts *o, const tl_run_dir *rd, int argc, char **argv, tl_error *err) {
    char path[4300];
    if (tl_path_join(path, sizeof path, rd->partial, "config.json", err)) return -1;
    if (!tl_file_exists(path))
        return tl_fail(err, "--resume %s: no interrupted run there (%s missing)", rd->out, path);
    char **args = malloc((size_t)(argc + 4) * sizeof *args);
    if (!args) return tl_fail(err, "out of memory");
    char *base[] = {"--config", path, "--out", (char *)rd->out};
    int n = 4;
    memcpy(args, base, sizeof base);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) { i++; continue; }
        if (strncmp(argv[i], "--resume=", 9)) args[n++] = argv[i];
    }
    tl_opts given;
    int rc = tl_opts_parse(&given, tl_train_optdefs, tl_train_noptdefs, n, args, "train", err);
    if (rc == 0) {
        args[4] = "--quiet";
        rc = tl_opts_parse(o, tl_train_optdefs, tl_train_noptdefs, *tl_opt(&given, "quiet") ? 5 : 4, args, "train", err);
        if (rc) tl_opts_free(&given);
    }
    free(args);
    if (rc) return -1;
    /* Every differing option in one message, with the command that would apply them. */
    char diff[300] = "", redo[300] = "";
    size_t nd = 0, nr = 0;
    for (int i = 0; i < tl_train_noptdefs && rc == 0; i++) {
        const char *name = tl_train_optdefs[i].name, *was = o->value[i], *now = given.value[i];
        if (!strcmp(was, now)) continue;
        if (!strcmp(name, "out"))
            rc = tl_fail(err, "--resume %s: --out %s conflicts with it: a resumed run is finished in %s; drop --out", rd->out, now, rd->out);
        if (nd < sizeof diff) nd += (size_t)snprintf(diff + nd, sizeof diff - nd, "%s--%s %s (the run's: '%s')", nd ? ", " : "", name, now, was);
        if (nr < sizeof redo) nr += (size_t)snprintf(redo + nr, sizeof redo - nr, " --%s %s", name, now);
    }
    if (!rc && nd)
        rc = tl_fail(err, "--resume %s: %s differ%s from the run's settings in %s; a resumed run keeps them: drop %s, or start a new run: "
                     "tailor train --config %s%s --out NEW", rd->out, diff, strchr(diff, ',') ? "" : "s", path,
                     strchr(diff, ',') ? "those options" : "that option", path, redo);
    tl_opts_free(&given);
    if (rc) tl_opts_free(o);
    return rc;
}

/* How a failed run that keeps its folder is finished (appended to the error of a kept run). */
static void print_kept(const tl_error *err, const tl_run_dir *rd) {
    fprintf(stderr, "tailor: %s; the run is kept in %s (its checkpoint included): once that is fixed, finish it with: tailor train --resume %s\n",
            err->msg, rd->partial, rd->out);
}

int tl_cmd_train(int argc, char **argv) {
    tl_error err = {{0}};
    tl_opts o;
    tl_run_dir rd;
    if (tl_opts_help(argc, argv, tl_train_optdefs, tl_train_noptdefs, "train", "--data SPEC --out DIR [options]")) return 0;
    /* --resume DIR (or DIR.partial): the settings come from DIR.partial/config.json. */
    const char *resume = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") && i + 1 < argc) resume = argv[i + 1];
        else if (!strncmp(argv[i], "--resume=", 9)) resume = argv[i] + 9;
    }
    char path[4400];
    int rc;
    if (resume) {
        char name[4096];
        size_t l = strlen(resume);
        snprintf(name, sizeof name, "%.*s", (int)(l > 8 && !strcmp(resume + l - 8, ".partial") ? l - 8 : l), resume);
        rc = tl_run_dir_init(&rd, name, "--resume", &err) || resume_opts(&o, &rd, argc, argv, &err);
        /* Locked before anything is read or cleaned, so a second resume of the same run is refused. */
        if (!rc && tl_run_dir_open(&rd, &err)) { tl_opts_free(&o); rc = -1; }
    } else {
        rc = tl_opts_parse(&o, tl_train_optdefs, tl_train_noptdefs, argc, argv, "train", &err);
        if (!rc && tl_run_dir_init(&rd, tl_opt(&o, "out"), "--out", &err)) { tl_opts_free(&o); rc = -1; }
    }
    if (rc) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (tl_run_dir_check_free(rd.out, rd.option, &err)) {
        fprintf(stderr, "tailor: %s%s\n", err.msg, resume ? "; move it away to finish the run in its .partial folder" : "");
        tl_run_dir_close(&rd, 0);
        tl_opts_free(&o);
        return 2;
    }
    snprintf(path, sizeof path, "an interrupted run: continue it with tailor train --resume %s, or remove it", rd.out);
    if (!resume && tl_run_dir_check_no_partial(&rd, path, &err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_opts_free(&o);
        return 2;
    }

    /* From here on Ctrl-C asks for a clean stop: a signal during set-up stops after the first step. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tl_data_bundle data = {0};
    tl_training t = {0};
    tl_progress bar;
    char ckpt[4200] = "";
    int status = 1;
    if (tl_training_setup(&t, &o, &data, 1, &err)) goto fail;
    if (!resume) {
        if (tl_run_dir_create(&rd, &err)) goto fail;
        tl_atomic_file af;
        if (tl_path_join(path, sizeof path, rd.partial, "config.json", &err) || tl_atomic_open(&af, path, &err)) goto fail;
        tl_opts_write_config(&o, af.f);
        if (tl_atomic_commit(&af, &err)) goto fail;
    }
    /* --init starts the run; a resumed run continues from its checkpoint (if it got to write one). */
    if (tl_path_join(path, sizeof path, rd.partial, "checkpoint.safetensors", &err) ||
        tl_training_build(&t, !(resume && tl_file_exists(path)), &err))
        goto fail;
    if (tl_path_join(ckpt, sizeof ckpt, rd.partial, "checkpoint.safetensors", &err) ||
        tl_path_join(t.metrics_path, sizeof t.metrics_path, rd.partial, "metrics.jsonl", &err))
        goto fail;
    if (resume && tl_training_resume(&t, rd.partial, ckpt, &err)) goto fail;
    tl_progress_init(&bar, !!*tl_opt(&o, "quiet"));
    t.progress = on_progress;
    t.user = &bar;
    t.cancel = &stop_flag;
    int r = tl_training_run(&t, ckpt, &err);
    tl_progress_done(&bar);
    if (r < 0) goto fail;
    if (r == 1) {
        fprintf(stderr, "tailor: stopped at epoch %d, step %d; continue with: tailor train --resume %s\n",
                t.tr.prog.epoch, t.tr.prog.step, rd.out);
        status = 130;
        goto done;
    }
    /* Final evaluation on the test set (the validation set when there is none), the model, plots. */
    tl_metrics met;
    tl_openset_report open;
    const tl_dataset *test = data.test.n ? &data.test : &data.val;
    if (tl_evaluate_open_to_dir(&t.model, &data, test, t.tr.mean, t.tr.std, rd.partial, &o, NULL,
                                *t.init_note ? t.init_note : NULL, t.tr.prog.seconds,
                                tl_training_images_per_second(&t), &met, &open, &err))
        goto fail;
    if (tl_path_join(path, sizeof path, rd.partial, "training_curves.png", &err) ||
        tl_plot_training_curves(path, t.logs, t.nlogs, "Training curves", &err) ||
        tl_path_join(path, sizeof path, rd.partial, "model.safetensors", &err) ||
        tl_model_save_named(&t.model, t.tr.prog.bn_steps, t.tr.mean, t.tr.std, (const char *const *)data.train.class_names,
                            path, &err)) {
        tl_metrics_free(&met);
        goto fail;
    }
    for (int i = 0; i < t.tr.nhooks; i++)
        if (t.hooks[i].ops->finish && t.hooks[i].ops->finish(&t.hooks[i], rd.partial, &err)) {
            tl_metrics_free(&met);
            goto fail;
        }
    tl_report_print(stdout, &met, (const char *const *)test->class_names);
    if (data.open.n) { fputc('\n', stdout); tl_report_print_open(stdout, &open); }
    tl_metrics_free(&met);
    if (tl_run_dir_commit(&rd, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); goto done; }
    printf("\nrun folder: %s\n", rd.out);
    status = 0;
    goto done;
fail:
    /* Once a checkpoint exists the run is never thrown away: it resumes once the cause is fixed. */
    if (*ckpt && tl_file_exists(ckpt)) print_kept(&err, &rd);
    else {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_run_dir_close(&rd, 1);
    }
done:
    tl_run_dir_close(&rd, 0);
    tl_training_free(&t);
    tl_bundle_free(&data);
    tl_opts_free(&o);
    return status;
}
