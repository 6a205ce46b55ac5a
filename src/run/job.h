/* A job: what `tailor train` and `tailor retrain` do, in the run layer behind tl_job of
 * include/tailor.h: the command line read and the run folder checked (tl_job_train, tl_job_retrain),
 * the work done into OUT.partial (run), the folder committed; the command itself only prints. Each
 * kind fills the common part and its two operations. */
#ifndef TL_RUN_JOB_H
#define TL_RUN_JOB_H
#include "tailor.h"
#include "run/options.h"
#include "run/run_dir.h"

struct tl_job {
    tl_opts o;                   /* the command's options (train: resolved, written to config.json) */
    tl_run_dir rd;               /* OUT and OUT.partial; rd.fd = -1 until created or opened */
    tl_evaluation *report;       /* the finished run's evaluation, or NULL */
    int kept;                    /* a failed run left OUT.partial on purpose (its checkpoint or model) */
    /* The kind's work into rd.partial (0 done, 1 stopped, -1 failed) and its release (may be NULL). */
    int (*run)(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err);
    void (*free)(tl_job *j);
};

/* A zeroed job of the given operations (rd.fd = -1); NULL when out of memory. */
tl_job *tl_job_alloc(size_t size, int (*run)(tl_job *, tl_train_fn, void *, const volatile int *, tl_error *),
                     void (*release)(tl_job *), tl_error *err);

#endif
