/* tailor retrain: stage 2 of decoupled classifier learning on a finished run, into a new run folder
 * (the run layer's job, tl_job_retrain: src/run/retrain_job.c says what the folder holds). */
#include <signal.h>
#include <stdio.h>
#include "commands.h"
#include "help.h"
#include "progress.h"
#include "tailor.h"

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static int on_progress(void *p, const tl_train_status *s) {
    tl_progress_show(p, s);
    return 0;
}

int tl_cmd_retrain(int argc, char **argv) {
    static const int families[] = {TL_FAMILY_STAGE2, TL_FAMILY_SAMPLER};
    int n;
    const tl_option *defs = tl_job_options("retrain", &n);
    if (tl_cli_help(argc, argv, defs, n, "retrain", "--run DIR --method crt|ncm|tau|lws --out DIR2 [options]", families, sizeof families / sizeof *families)) return 0;
    tl_error err = {{0}};
    tl_job *j = tl_job_retrain(argc, argv, &err);
    if (!j) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int quiet = !!*tl_job_option(j, "quiet"), status = 1;
    tl_progress bar;
    tl_progress_init(&bar, quiet);
    int rc = tl_job_run(j, on_progress, &bar, &stop_flag, &err);
    tl_progress_done(&bar);
    if (rc && tl_job_kept(j)) {
        fprintf(stderr, "tailor: %s; the retrained model is kept in %s: once that is fixed, remove it and run this retrain again, or take it as it is: mv %s %s\n",
                err.msg, tl_job_kept(j), tl_job_kept(j), tl_job_folder(j));
    } else if (rc) {
        fprintf(stderr, "tailor: %s\n", err.msg);
    } else {
        if (!quiet) tl_evaluation_print(stdout, tl_job_report(j));
        if (tl_job_commit(j, &err)) fprintf(stderr, "tailor: %s\n", err.msg);   /* keeps the complete folder */
        else { printf("\nrun folder: %s\n", tl_job_folder(j)); status = 0; }
    }
    tl_job_free(j);
    return status;
}
