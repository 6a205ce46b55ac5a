/* tailor eval: re-evaluate a finished run (its model.safetensors) on its test set or another data
 * set, writing report.json, report.md and plots into a new folder (default RUN/eval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_dir.h"
#include "core/error.h"
#include "eval/posthoc.h"
#include "eval/report.h"
#include "models/model_io.h"
#include "train/trainer.h"

static const tl_optdef eval_opts[] = {
    {"run", NULL, "finished run folder", 0, 0},
    {"data", "", "data set to evaluate on (default: the run's)", 0, 0},
    {"out", "", "report folder to create (default RUN/eval)", 0, 0},
    {"posthoc", "", "inference rule: logit-adjust[:tau=T|auto] (auto: best balanced accuracy on the run's --val set over tau = 0, 0.1, ..., 2), tde[:alpha=A|auto] (causal head; auto: the same over alpha = 0, 0.1, ..., 3), tau-norm[:tau=T] (linear head), sla[:infer=agg|single|sd] (--ssl sla runs)", 0, 0},
    {"split", "test", "split to evaluate: test, or val (the run's --val split, e.g. to choose between runs without touching the test set)", 0, 0},
    {"batch", "256", "batch size", 0, 0},
    {"threads", "2", "threads", 0, 0},
};
#define NOPTS ((int)(sizeof eval_opts / sizeof *eval_opts))

int tl_cmd_eval(int argc, char **argv) {
    if (tl_opts_help(argc, argv, eval_opts, NOPTS, "eval", "--run DIR [--data SPEC] [--posthoc RULE] [--out DIR]")) return 0;
    tl_error err = {{0}};
    tl_opts o, run = {0};
    tl_data_bundle data = {0};
    tl_model model = {0};
    float *mean = NULL, *std = NULL, *vlogits = NULL;
    tl_posthoc rule = {0};
    int *vpred = NULL;
    char path[4200], out[4200];
    tl_run_dir rd = {.fd = -1};
    int status = 1, run_lock = -1;
    long batch, threads, val;
    if (tl_opts_parse(&o, eval_opts, NOPTS, argc, argv, "eval", &err)) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    const char *dir = tl_opt(&o, "run");
    /* The run's own settings give the training view (for the per-class training counts). */
    if (tl_run_check(dir, &err) || tl_train_settings(&run, dir, &err) ||
        tl_opt_int(&o, "batch", 1, 65536, &batch, &err) || tl_opt_int(&o, "threads", 1, 256, &threads, &err) ||
        tl_opt_int(&run, "val", 0, 1000000, &val, &err))
        goto fail;
    /* The default report folder RUN/eval is written into the run: the run's lock refuses a second writer. */
    if (*tl_opt(&o, "out")) snprintf(out, sizeof out, "%s", tl_opt(&o, "out"));
    else if (tl_path_join(out, sizeof out, dir, "eval", &err) || tl_dir_lock(&run_lock, dir, "--run", &err)) goto fail;
    if (tl_run_dir_init(&rd, out, "--out", &err) || tl_run_dir_check_free(rd.out, "--out", &err) ||
        tl_run_dir_remove_stale(&rd, &err) || tl_run_dir_create(&rd, &err))  /* a report folder left by an interrupted eval */
        goto fail;
    /* --open runs: the same classes are held out of any data set evaluated. */
    const char *open = tl_opt(&run, "open");
    if (tl_bundle_load_open(&data, tl_opt(&run, "data"), tl_opt(&run, "lt"), val, open, &err)) goto fail;
    if (*tl_opt(&o, "data")) {
        tl_data_bundle other;
        if (tl_bundle_load_open(&other, tl_opt(&o, "data"), "none", 0, open, &err)) goto fail;
        tl_dataset_free(&data.test);
        tl_dataset_free(&data.unknown);
        data.test = other.test;
        data.unknown = other.unknown;
        other.test = other.unknown = (tl_dataset){0};
        tl_bundle_free(&other);
    }
    if (tl_bundle_input(&data, &run, &err)) goto fail;
    const char *split = tl_opt(&o, "split");
    int on_val = !strcmp(split, "val");
    if (!on_val && strcmp(split, "test")) { tl_fail(&err, "--split %s: valid: test, val", split); goto fail; }
    if (on_val && (*tl_opt(&o, "data") || *open)) {
        tl_fail(&err, "--split val: evaluates the run's own validation split, so not with %s", *open ? "an --open run" : "--data");
        goto fail;
    }
    if (on_val && data.val.n == 0) {
        tl_fail(&err, "--split val: the run %s has no validation split (train it with --val N)", dir);
        goto fail;
    }
    const tl_dataset *test = on_val || !data.test.n ? &data.val : &data.test;
    if (test->n == 0) { tl_fail(&err, "--run %s: its data set has no test set; give --data", dir); goto fail; }
    if (tl_path_join(path, sizeof path, dir, "model.safetensors", &err) ||
        tl_model_load(&model, path, (int)batch, (int)threads, &mean, &std, &err))
        goto fail;
    if (data.input.c != model.cfg.in_c || data.input.h != model.cfg.in_h || data.input.w != model.cfg.in_w ||
        test->num_classes > model.cfg.num_classes) {
        tl_fail(&err, "--data: its shape or classes do not match the run's model");
        goto fail;
    }
    if (*tl_opt(&o, "posthoc")) {
        if (tl_posthoc_create(&rule, tl_opt(&o, "posthoc"), data.train_count, model.cfg.num_classes, &err)) goto fail;
        if ((rule.tau_auto || rule.alpha_auto) && data.val.n == 0) {
            tl_fail(&err, "--posthoc %s: %s=auto needs the run's validation set (train it with --val N)", tl_opt(&o, "posthoc"),
                    rule.tau_auto ? "tau" : "alpha");
            goto fail;
        }
        if (rule.alpha_auto) {
            /* α from the run's validation set, never from the test set. */
            double bal;
            if (tl_posthoc_choose_alpha(&rule, &model, &data.val, mean, std, &bal, &err)) goto fail;
            printf("posthoc: chose alpha = %g (validation balanced accuracy %.2f%%)\n", rule.alpha, 100 * bal);
        }
        if (rule.tau_auto) {
            /* τ from the run's balanced validation set, never from the test set. */
            const tl_dataset *v = &data.val;
            vlogits = malloc((size_t)v->n * model.cfg.num_classes * sizeof *vlogits);
            vpred = malloc((size_t)v->n * sizeof *vpred);
            if (!vlogits || !vpred) { tl_fail(&err, "out of memory"); goto fail; }
            if (tl_predict(&model, v, mean, std, vlogits, NULL, vpred, &err)) goto fail;
            double bal;
            tl_posthoc_set_tau(&rule, tl_posthoc_choose_tau(&rule, vlogits, v->y, v->n, &bal));
            printf("posthoc: chose tau = %g (validation balanced accuracy %.2f%%)\n", rule.tau, 100 * bal);
        }
    }
    tl_metrics met;
    tl_openset_report openr;
    if (tl_evaluate_open_to_dir(&model, &data, test, mean, std, rd.partial, &run, *tl_opt(&o, "posthoc") ? &rule : NULL,
                                NAN, NAN, &met, &openr, &err))
        goto fail;
    tl_report_print(stdout, &met, (const char *const *)test->class_names);
    if (data.open.n) { fputc('\n', stdout); tl_report_print_open(stdout, &openr); }
    tl_metrics_free(&met);
    if (tl_run_dir_commit(&rd, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); goto done; }  /* keeps the complete folder */
    printf("\nreport folder: %s\n", rd.out);
    status = 0;
    goto done;
fail:
    /* Nothing here is costly to redo (the run itself is never touched): a half-written report goes. */
    fprintf(stderr, "tailor: %s\n", err.msg);
    tl_run_dir_close(&rd, 1);
done:
    tl_run_dir_close(&rd, 0);
    tl_dir_unlock(&run_lock);
    free(vlogits);
    free(vpred);
    tl_posthoc_free(&rule);
    free(mean);
    free(std);
    tl_model_free(&model);
    tl_bundle_free(&data);
    tl_opts_free(&run);
    tl_opts_free(&o);
    return status;
}
