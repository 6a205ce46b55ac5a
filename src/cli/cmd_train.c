/* tailor train: load data, make the long-tailed view, train, evaluate, write the run folder (the run
 * layer's job, tl_job_train). The folder is built under OUT.partial and renamed to OUT only when
 * complete; an interrupted run leaves OUT.partial with a checkpoint that `tailor train --resume OUT`
 * continues. */
#include <signal.h>
#include <stdio.h>
#include "commands.h"
#include "help.h"
#include "progress.h"
#include "tailor.h"

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* The progress bar (stderr); Ctrl-C goes through the cancellation flag. */
static int on_progress(void *p, const tl_train_status *s) {
    tl_progress_show(p, s);
    return 0;
}

int tl_cmd_train(int argc, char **argv) {
    static const int families[] = {TL_FAMILY_MODEL, TL_FAMILY_SAMPLER, TL_FAMILY_LOSS, TL_FAMILY_HEAD, TL_FAMILY_SSL,
                                   TL_FAMILY_DISTILL, TL_FAMILY_SYNTH};
    int n;
    const tl_option *defs = tl_job_options("train", &n);
    if (tl_cli_help(argc, argv, defs, n, "train", "--data SPEC --out DIR [options]", families, sizeof families / sizeof *families)) return 0;
    tl_error err = {{0}};
    tl_job *j = tl_job_train(argc, argv, &err);
    if (!j) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    /* From here on Ctrl-C asks for a clean stop: a signal during set-up stops after the first step. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tl_progress bar;
    tl_progress_init(&bar, !!*tl_job_option(j, "quiet"));
    int rc = tl_job_run(j, on_progress, &bar, &stop_flag, &err), status = 1;
    tl_progress_done(&bar);
    if (rc == 1) {
        fprintf(stderr, "tailor: %s; continue with: tailor train --resume %s\n", err.msg, tl_job_folder(j));
        status = 130;
    } else if (rc < 0 && tl_job_kept(j)) {
        /* Once a checkpoint exists the run is never thrown away: it resumes once the cause is fixed. */
        fprintf(stderr, "tailor: %s; the run is kept in %s (its checkpoint included): once that is fixed, finish it with: tailor train --resume %s\n",
                err.msg, tl_job_kept(j), tl_job_folder(j));
    } else if (rc < 0) {
        fprintf(stderr, "tailor: %s\n", err.msg);
    } else {
        tl_evaluation_print(stdout, tl_job_report(j));
        if (tl_job_commit(j, &err)) fprintf(stderr, "tailor: %s\n", err.msg);
        else { printf("\nrun folder: %s\n", tl_job_folder(j)); status = 0; }
    }
    tl_job_free(j);
    return status;
}
