/* Pieces shared by the subcommands: loading a data set with its long-tailed view, the run folder,
 * and the final evaluation that writes a report. */
#ifndef TL_CLI_COMMON_H
#define TL_CLI_COMMON_H
#include <stdint.h>
#include "cli/options.h"
#include "data/dataset.h"
#include "data/file.h"
#include "eval/metrics.h"
#include "eval/posthoc.h"
#include "models/model.h"

typedef struct {
    tl_dataset train, val, test;    /* train = the long-tailed view; val/test may be empty */
    int64_t *train_count;           /* [C] */
} tl_data_bundle;

/* Loads --data, applies --lt and --val (option values given as strings). */
int tl_bundle_load(tl_data_bundle *b, const char *data, const char *lt, long val, tl_error *err);
void tl_bundle_free(tl_data_bundle *b);

/* Evaluates m on d (the test set), writes report.json/report.md and the plots into dir, and
 * leaves the metrics in *out (caller frees with tl_metrics_free). rule: an inference rule applied
 * to the logits before argmax and softmax (recorded as "posthoc" in the report), or NULL. */
int tl_evaluate_to_dir(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                       const char *dir, const tl_opts *o, const tl_posthoc *rule, double train_seconds,
                       double images_per_second, tl_metrics *out, tl_error *err);

/* Creates a directory (one level); an existing one is an error naming the option. */
int tl_mkdir_new(const char *path, const char *option, tl_error *err);
/* Removes a folder tailor created and the files in it (one level deep). */
void tl_rmdir_files(const char *path);

#endif
