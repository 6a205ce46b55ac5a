/* The job of `tailor train` (tl_job_train): the command line read (a new run, or --resume DIR with the
 * run's own settings), the run folder checked and locked, then training into OUT.partial with a
 * checkpoint that --resume continues, the final evaluation, plots and model. An interrupted run
 * leaves OUT.partial with its checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/job.h"
#include "run/evaluate.h"
#include "run/handles.h"
#include "run/train.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/file.h"
#include "eval/plot.h"
#include "models/model_io.h"

typedef struct {
    tl_job j;
    int resume;
    tl_data_bundle data;
    tl_training t;
    char ckpt[4200];
} train_job;

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

/* Options, folder checks and lock: everything `tailor train` refuses with exit status 2. */
static int train_open(tl_job *j, int argc, char **argv, tl_error *err) {
    train_job *tj = (train_job *)j;
    /* --resume DIR (or DIR.partial): the settings come from DIR.partial/config.json. */
    const char *resume = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") && i + 1 < argc) resume = argv[i + 1];
        else if (!strncmp(argv[i], "--resume=", 9)) resume = argv[i] + 9;
    }
    tj->resume = !!resume;
    if (resume) {
        char name[4096];
        size_t l = strlen(resume);
        snprintf(name, sizeof name, "%.*s", (int)(l > 8 && !strcmp(resume + l - 8, ".partial") ? l - 8 : l), resume);
        if (tl_run_dir_init(&j->rd, name, "--resume", err) || resume_opts(&j->o, &j->rd, argc, argv, err)) return -1;
        /* Locked before anything is read or cleaned, so a second resume of the same run is refused. */
        if (tl_run_dir_open(&j->rd, err)) return -1;
    } else if (tl_opts_parse(&j->o, tl_train_optdefs, tl_train_noptdefs, argc, argv, "train", err) ||
               tl_run_dir_init(&j->rd, tl_opt(&j->o, "out"), "--out", err)) {
        return -1;
    }
    if (tl_run_dir_check_free(j->rd.out, j->rd.option, err)) {
        size_t l = strlen(err->msg);
        if (resume) snprintf(err->msg + l, sizeof err->msg - l, "; move it away to finish the run in its .partial folder");
        return -1;
    }
    char why[4400];
    snprintf(why, sizeof why, "an interrupted run: continue it with tailor train --resume %s, or remove it", j->rd.out);
    return !resume && tl_run_dir_check_no_partial(&j->rd, why, err) ? -1 : 0;
}

/* The final evaluation (report folder files in OUT.partial), the training curves, the model, the
 * hooks' own files, and the report kept for the command to print. */
static int train_finish(train_job *tj, tl_error *err) {
    tl_job *j = &tj->j;
    tl_training *t = &tj->t;
    tl_data_bundle *data = &tj->data;
    char path[4400];
    tl_metrics met;
    tl_openset_report open;
    const tl_dataset *test = data->test.n ? &data->test : &data->val;
    if (tl_evaluate_open_to_dir(&t->model, data, test, t->tr.mean, t->tr.std, j->rd.partial, &j->o, NULL,
                                *t->init_note ? t->init_note : NULL, t->tr.prog.seconds,
                                tl_training_images_per_second(t), &met, &open, err))
        return -1;
    int rc = tl_path_join(path, sizeof path, j->rd.partial, "training_curves.png", err) ||
             tl_plot_training_curves(path, t->logs, t->nlogs, "Training curves", err) ||
             tl_path_join(path, sizeof path, j->rd.partial, "model.safetensors", err) ||
             tl_model_save_named(&t->model, t->tr.prog.bn_steps, t->tr.mean, t->tr.std,
                                 (const char *const *)data->train.class_names, path, err);
    for (int i = 0; i < t->tr.nhooks && !rc; i++)
        if (t->hooks[i].ops->finish) rc = t->hooks[i].ops->finish(&t->hooks[i], j->rd.partial, err);
    if (!rc && !(j->report = tl_evaluation_take(&met, (const char *const *)test->class_names, data->open.n ? &open : NULL,
                                                data, err)))
        rc = -1;
    tl_metrics_free(&met);
    return rc ? -1 : 0;
}

/* Set-up, training into OUT.partial (checkpointed), then the final evaluation on the test set (the
 * validation set when there is none), the training curves, the model and the hooks' files. */
static int train_run(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err) {
    train_job *tj = (train_job *)j;
    tl_training *t = &tj->t;
    tl_data_bundle *data = &tj->data;
    char path[4400];
    if (tl_training_setup(t, &j->o, data, 1, err)) return -1;
    if (!tj->resume) {
        if (tl_run_dir_create(&j->rd, err)) return -1;
        tl_atomic_file af;
        if (tl_path_join(path, sizeof path, j->rd.partial, "config.json", err) || tl_atomic_open(&af, path, err)) return -1;
        tl_opts_write_config(&j->o, af.f);
        if (tl_atomic_commit(&af, err)) return -1;
    }
    /* --init starts the run; a resumed run continues from its checkpoint (if it got to write one). */
    if (tl_path_join(path, sizeof path, j->rd.partial, "checkpoint.safetensors", err) ||
        tl_training_build(t, !(tj->resume && tl_file_exists(path)), err))
        return -1;
    if (tl_path_join(tj->ckpt, sizeof tj->ckpt, j->rd.partial, "checkpoint.safetensors", err) ||
        tl_path_join(t->metrics_path, sizeof t->metrics_path, j->rd.partial, "metrics.jsonl", err))
        return -1;
    /* Once a checkpoint exists the run is never thrown away: it resumes once the cause is fixed. */
    int rc = tj->resume ? tl_training_resume(t, j->rd.partial, tj->ckpt, err) : 0;
    if (!rc) {
        t->progress = progress;
        t->user = user;
        t->cancel = cancel;
        rc = tl_training_run(t, tj->ckpt, err);
    }
    if (rc == 1) tl_fail(err, "stopped at epoch %d, step %d", t->tr.prog.epoch, t->tr.prog.step);
    if (!rc) rc = train_finish(tj, err);
    j->kept = rc < 0 && tl_file_exists(tj->ckpt);
    return rc;
}

static void train_free(tl_job *j) {
    train_job *tj = (train_job *)j;
    tl_training_free(&tj->t);
    tl_bundle_free(&tj->data);
}

tl_job *tl_job_train(int argc, char **argv, tl_error *err) {
    static const tl_job_ops ops = {train_open, train_run, train_free};
    return tl_job_new(sizeof(train_job), &ops, argc, argv, err);
}
