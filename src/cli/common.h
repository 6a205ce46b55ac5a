/* Pieces shared by the subcommands: loading a data set with its long-tailed view, the run folder,
 * and the final evaluation that writes a report. */
#ifndef TL_CLI_COMMON_H
#define TL_CLI_COMMON_H
#include <stdint.h>
#include "cli/options.h"
#include "data/dataset.h"
#include "data/file.h"
#include "eval/metrics.h"
#include "eval/openset.h"
#include "eval/posthoc.h"
#include "models/model.h"

typedef struct {
    tl_dataset train, val, test;    /* train = the long-tailed view; val/test may be empty */
    int64_t *train_count;           /* [C] */
    tl_open open;                   /* --open: the held-out classes (open.n = 0: closed set) */
    tl_dataset unknown;             /* --open: test images of the held-out classes (original labels) */
    int *known_classes;             /* --open: [C] original label of each known class */
} tl_data_bundle;

/* Loads --data, applies --lt and --val (option values given as strings). */
int tl_bundle_load(tl_data_bundle *b, const char *data, const char *lt, long val, tl_error *err);
/* The same with --open CLASSES ("" = none): the held-out classes leave train and val, the known ones
 * are relabelled 0..C−1 (data/dataset.h tl_open_split) before --val and --lt, and their test images go
 * to b->unknown. Fails when the data set has no test set or no test image of a held-out class. */
int tl_bundle_load_open(tl_data_bundle *b, const char *data, const char *lt, long val, const char *open, tl_error *err);
void tl_bundle_free(tl_data_bundle *b);

/* Evaluates m on d (the test set), writes report.json/report.md and the plots into dir, and
 * leaves the metrics in *out (caller frees with tl_metrics_free). rule: an inference rule applied
 * to the logits before argmax and softmax (recorded as "posthoc" in the report), or NULL. */
int tl_evaluate_to_dir(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                       const char *dir, const tl_opts *o, const tl_posthoc *rule, double train_seconds,
                       double images_per_second, tl_metrics *out, tl_error *err);

/* As tl_evaluate_to_dir, plus, when b holds held-out classes (b->open.n > 0), the open-set metrics
 * of d (its known test images) and b->unknown with the head's known-ness score, the threshold chosen
 * on b->val (none when empty); they go into the report and *open_out (may be NULL; its arrays point
 * into b). */
int tl_evaluate_open_to_dir(tl_model *m, const tl_data_bundle *b, const tl_dataset *d, const float *mean,
                            const float *std, const char *dir, const tl_opts *o, const tl_posthoc *rule,
                            double train_seconds, double images_per_second, tl_metrics *out,
                            tl_openset_report *open_out, tl_error *err);

/* Creates a directory (one level); an existing one is an error naming the option. */
int tl_mkdir_new(const char *path, const char *option, tl_error *err);
/* Checks a folder (or file) path to create, before any work: not empty, not ending in '/', not "."
 * or "..", short enough for DIR.partial and the files inside, nothing (not even a dangling symbolic
 * link) there yet, and its parent an existing folder. The message starts "OPTION PATH: ". */
int tl_out_check(const char *path, const char *option, tl_error *err);
/* Checks --run DIR names an existing folder ("--run DIR: no such run folder"). */
int tl_run_check(const char *dir, tl_error *err);
/* Whether anything (file or folder) exists at path. */
int tl_path_exists(const char *path);
/* Removes a folder tailor created and the files in it (one level deep). */
void tl_rmdir_files(const char *path);

#endif
