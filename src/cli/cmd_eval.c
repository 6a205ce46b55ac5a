/* tailor eval: re-evaluate a finished run (its model.safetensors) on its test set or another data
 * set, writing report.json, report.md and plots into a new folder (default RUN/eval). */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "help.h"
#include "tailor.h"

static const tl_option eval_opts[] = {
    {"run", NULL, "finished run folder", 0, 0, 0},
    {"data", "", "data set to evaluate on (default: the run's)", 0, 0, 0},
    {"out", "", "report folder to create (default RUN/eval)", 0, 0, 0},
    {"posthoc", "", "inference rule applied to the logits (one of the list below; tau=auto, alpha=auto: chosen on the run's --val set)", 0, 0, 0},
    {"split", "test", "split to evaluate: test, or val (the run's --val split, e.g. to choose between runs without touching the test set)", 0, 0, 0},
    {"batch", "256", "batch size", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
};
#define NOPTS ((int)(sizeof eval_opts / sizeof *eval_opts))

int tl_cmd_eval(int argc, char **argv) {
    static const int families[] = {TL_FAMILY_POSTHOC};
    if (tl_cli_help(argc, argv, eval_opts, NOPTS, "eval", "--run DIR [--data SPEC] [--posthoc RULE] [--out DIR]", families, 1))
        return 0;
    tl_error err = {{0}}, terr = {{0}};
    tl_options *o = tl_options_parse(eval_opts, NOPTS, argc, argv, "eval", &err);
    if (!o) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    tl_run *run = NULL;
    tl_data *data = NULL, *other = NULL;
    tl_folder *out = NULL, *run_lock = NULL;
    tl_evaluation *e = NULL;
    char path[4200];
    int status = 1;
    long batch, threads = 1, val;
    const char *dir = tl_options_get(o, "run");
    /* The run's own settings give the training view (for the per-class training counts). */
    int bad_threads = tl_options_int(o, "threads", 1, 256, &threads, &terr);
    if (!(run = tl_run_open(dir, bad_threads ? 1 : (int)threads, &err))) goto fail;
    const tl_config *cfg = tl_run_config(run);
    if (tl_options_int(o, "batch", 1, 65536, &batch, &err)) goto fail;
    if (bad_threads) { err = terr; goto fail; }
    if (tl_config_int(cfg, "val", 0, 1000000, &val, &err)) goto fail;
    /* The default report folder RUN/eval is written into the run: the run's lock refuses a second writer. */
    if (*tl_options_get(o, "out")) snprintf(path, sizeof path, "%s", tl_options_get(o, "out"));
    else if ((size_t)snprintf(path, sizeof path, "%s/eval", dir) >= sizeof path) {
        snprintf(err.msg, sizeof err.msg, "path too long: %s/eval", dir);
        goto fail;
    } else if (!(run_lock = tl_folder_lock(dir, "--run", &err))) goto fail;
    /* A report folder left by an interrupted eval goes. */
    if (!(out = tl_folder_create(path, "--out", 1, &err))) goto fail;
    /* --open runs: the same classes are held out of any data set evaluated. */
    const char *open = tl_config_get(cfg, "open");
    if (!(data = tl_data_open(tl_config_get(cfg, "data"), tl_config_get(cfg, "lt"), (int)val, open, &err))) goto fail;
    if (*tl_options_get(o, "data")) {
        if (!(other = tl_data_open(tl_options_get(o, "data"), "none", 0, open, &err)) ||
            tl_data_replace_test(data, other, &err))
            goto fail;
    }
    const char *which = tl_options_get(o, "split");
    int on_val = !strcmp(which, "val");
    if (!on_val && strcmp(which, "test")) {
        snprintf(err.msg, sizeof err.msg, "--split %s: valid: test, val", which);
        goto fail;
    }
    if (on_val && (*tl_options_get(o, "data") || *open)) {
        snprintf(err.msg, sizeof err.msg, "--split val: evaluates the run's own validation split, so not with %s",
                 *open ? "an --open run" : "--data");
        goto fail;
    }
    if (on_val && !tl_data_rows(data, TL_SPLIT_VAL)) {
        snprintf(err.msg, sizeof err.msg, "--split val: the run %s has no validation split (train it with --val N)", dir);
        goto fail;
    }
    int split = !on_val && tl_data_rows(data, TL_SPLIT_TEST) ? TL_SPLIT_TEST : TL_SPLIT_VAL;
    if (!tl_data_rows(data, split)) {
        snprintf(err.msg, sizeof err.msg, "--run %s: its data set has no test set; give --data", dir);
        goto fail;
    }
    if (tl_run_set_batch(run, (int)batch, &err)) goto fail;
    const char *rule = tl_options_get(o, "posthoc");
    if (!(e = tl_evaluate(run, data, split, *rule ? rule : NULL, &err)) || tl_evaluation_write(e, tl_folder_path(out), &err))
        goto fail;
    tl_evaluation_print(stdout, e);
    if (tl_folder_commit(out, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); goto done; }  /* keeps the complete folder */
    printf("\nreport folder: %s\n", tl_folder_name(out));
    status = 0;
    goto done;
fail:
    /* Nothing here is costly to redo (the run itself is never touched): a half-written report goes. */
    fprintf(stderr, "tailor: %s\n", err.msg);
    tl_folder_close(out, 1);
    out = NULL;
done:
    tl_folder_close(out, 0);
    tl_folder_unlock(run_lock);
    tl_evaluation_free(e);
    tl_data_free(other);
    tl_data_free(data);
    tl_run_free(run);
    tl_options_free(o);
    return status;
}
