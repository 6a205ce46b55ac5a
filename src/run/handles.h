/* What the opaque handles of include/tailor.h hold: run-layer structures, one per handle, shared by
 * the files of src/run that implement the public API. */
#ifndef TL_RUN_HANDLES_H
#define TL_RUN_HANDLES_H
#include "eval/epoch_log.h"
#include "eval/metrics.h"
#include "eval/openset.h"
#include "eval/posthoc.h"
#include "eval/report.h"
#include "models/model.h"
#include "run/bundle.h"
#include "run/options.h"

struct tl_config {
    tl_opts o;                  /* over tl_train_optdefs */
};

struct tl_data {
    tl_data_bundle b;
    int images;                 /* rows are images (else feature rows) */
    int dim, h, w, c;           /* arrays: the row shape (dim = c*h*w) */
    char *spec, *lt, *open;     /* tl_data_open / tl_data_view: what made it (recorded in a run's config), or NULL */
    int val;
    int input_set;              /* tl_data_open_input: the input is the run's already (not reconfigured) */
};

struct tl_run {
    tl_model model;
    float *mean, *std;          /* [in_c] input normalisation */
    int64_t *train_count;       /* [C] training rows per class, or NULL when unknown */
    char **class_names;         /* [C] or NULL */
    tl_config cfg;              /* the options it was trained with (resolved) */
    tl_epoch_log *logs;
    int nlogs, threads;
    long long bn_steps;
    double train_seconds, images_per_second;   /* NAN when unknown */
    char *dir;                  /* the run folder it was opened from (its report.json gives the counts), or NULL */
};

struct tl_evaluation {
    tl_metrics m;
    char **names;               /* [m.C] class names, or NULL */
    int has_open;
    tl_openset_report open;     /* arrays below */
    int *open_classes, *known_classes;
    char **open_names;          /* [norig] original class names, or NULL */
    int norig;
    tl_opts cfg;                /* the run's options, for the report's "run" section */
    char rule[96];              /* the inference rule as resolved, "" = none */
    char sweep[TL_POSTHOC_SWEEP * 24 + 16];  /* tau=auto, alpha=auto: every value tried on validation, "" = none */
    int on_val;                 /* evaluated on the validation split (the report says "split": "val") */
    double train_seconds, images_per_second;
    int read;                   /* read back from report.json: the numbers live in rep */
    tl_report rep;
};

/* The training counts for r on d: d's training split's, else r's own (a run opened from a folder:
 * read from its report.json the first time); NULL with a message when neither has them. */
const int64_t *tl_run_counts(tl_run *r, const tl_data *d, tl_error *err);
/* *dst = a copy of src's parameters and state in a model built for batch size N and nthreads. */
int tl_model_clone(tl_model *dst, const tl_model *src, int N, int nthreads, tl_error *err);

/* An evaluation holding *m (moved into it; *m is left zeroed, so tl_metrics_free on it is harmless),
 * a copy of class_names [m->C] (may be NULL) and, when open is not NULL, of the open-set report open
 * (whose arrays point into b): the report a command prints after writing it. */
tl_evaluation *tl_evaluation_take(tl_metrics *m, const char *const *class_names, const tl_openset_report *open,
                                  const tl_data_bundle *b, tl_error *err);

/* Copies n strings (NULL: *out = NULL). */
int tl_strings_copy(char ***out, char *const *src, int n, tl_error *err);
void tl_strings_free(char **s, int n);

#endif
