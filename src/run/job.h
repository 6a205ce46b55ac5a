/* A job: what `tailor train` and `tailor retrain` do, in the run layer behind tl_job of
 * include/tailor.h: the command line read and the run folder checked (tl_job_train, tl_job_retrain),
 * the work done into OUT.partial (tl_job_run), the folder committed; the command itself only
 * prints. Each kind (train_job.c, retrain_job.c) embeds the common part first and gives its
 * operations. */
#ifndef TL_RUN_JOB_H
#define TL_RUN_JOB_H
#include "tailor.h"
#include "run/options.h"
#include "run/run_dir.h"

/* A kind's operations: reading its command line into a new job (options, folder checks), the work
 * into rd.partial (0 done, 1 stopped, -1 failed; sets kept when it leaves the folder on purpose), and
 * the release of what the kind holds (may be NULL). */
typedef struct tl_job_ops {
    int (*open)(tl_job *j, int argc, char **argv, tl_error *err);
    int (*run)(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err);
    void (*free)(tl_job *j);
} tl_job_ops;

struct tl_job {
    const tl_job_ops *ops;
    tl_opts o;                   /* the command's options (train: resolved, written to config.json) */
    tl_run_dir rd;               /* OUT and OUT.partial; rd.fd = -1 until created or opened */
    tl_evaluation *report;       /* the finished run's evaluation, or NULL */
    int kept;                    /* a failed run left OUT.partial on purpose (its checkpoint or model) */
};

/* A job of `size` bytes (the kind's struct, with tl_job first) opened from argv by ops->open; NULL
 * with err (may be NULL) when that fails or memory runs out. */
tl_job *tl_job_new(size_t size, const tl_job_ops *ops, int argc, char **argv, tl_error *err);

#endif
