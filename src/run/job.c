/* tl_job: the common part of the commands' jobs (src/run/train_job.c, retrain_job.c). */
#include <stdlib.h>
#include <string.h>
#include "run/job.h"
#include "core/error.h"
#include "run/retrain.h"
#include "run/train.h"

tl_job *tl_job_new(size_t size, const tl_job_ops *ops, int argc, char **argv, tl_error *err) {
    tl_error local;
    if (!err) err = &local;
    tl_job *j = calloc(1, size);
    if (!j) { tl_fail(err, "out of memory"); return NULL; }
    j->rd.fd = -1;
    j->ops = ops;
    if (ops->open(j, argc, argv, err)) {
        tl_job_free(j);
        return NULL;
    }
    return j;
}

const tl_option *tl_job_options(const char *command, int *n) {
    int train = command && !strcmp(command, "train"), retrain = command && !strcmp(command, "retrain");
    *n = train ? tl_train_noptdefs : retrain ? tl_retrain_noptdefs : 0;
    return train ? tl_train_optdefs : retrain ? tl_retrain_optdefs : NULL;
}

const char *tl_job_option(const tl_job *j, const char *name) { return tl_opt(&j->o, name); }
const char *tl_job_folder(const tl_job *j) { return j->rd.out; }
const char *tl_job_kept(const tl_job *j) { return j->kept ? j->rd.partial : NULL; }
const tl_evaluation *tl_job_report(const tl_job *j) { return j->report; }

int tl_job_run(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err) {
    int rc = j->ops->run(j, progress, user, cancel, err);
    /* A failed job's folder goes unless it holds what must not be thrown away. */
    if (rc < 0 && !j->kept) tl_run_dir_close(&j->rd, 1);
    return rc;
}

int tl_job_commit(tl_job *j, tl_error *err) { return tl_run_dir_commit(&j->rd, err); }

void tl_job_free(tl_job *j) {
    if (!j) return;
    if (j->ops->free) j->ops->free(j);
    tl_run_dir_close(&j->rd, 0);
    tl_evaluation_free(j->report);
    tl_opts_free(&j->o);
    free(j);
}
