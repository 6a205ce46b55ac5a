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

/* What the model sees of an image data set: the transforms (--augment, --eval-transform, defaults
 * resolved) and the input size c x h x w they produce. */
typedef struct {
    tl_transform aug, eval;
    int c, h, w;
} tl_input;

typedef struct {
    tl_dataset train, val, test;    /* train = the long-tailed view; val/test may be empty */
    int64_t *train_count;           /* [C] */
    tl_open open;                   /* --open: the held-out classes (open.n = 0: closed set) */
    tl_dataset unknown;             /* --open: test images of the held-out classes (original labels) */
    int *known_classes;             /* --open: [C] original label of each known class */
    int skipped;                    /* files of an image folder that are not images */
    tl_input input;                 /* set by tl_bundle_input */
} tl_data_bundle;

/* Loads --data, applies --lt and --val (option values given as strings). */
int tl_bundle_load(tl_data_bundle *b, const char *data, const char *lt, long val, tl_error *err);
/* The same with --open CLASSES ("" = none): the held-out classes leave train and val, the known ones
 * are relabelled 0..C−1 (data/dataset.h tl_open_split) before --val and --lt, and their test images go
 * to b->unknown. Fails when the data set has no test set or no test image of a held-out class. */
int tl_bundle_load_open(tl_data_bundle *b, const char *data, const char *lt, long val, const char *open, tl_error *err);
void tl_bundle_free(tl_data_bundle *b);
/* Settles how the bundle's images reach the model from a run's options (--size, --augment,
 * --eval-transform, --channels, --cache-mb; options a table lacks take their defaults): the channel
 * count (images converted to it), the load side and cache of image files, both transforms, and the
 * input size, set on b->input; every data set's eval_tf points at b->input.eval. Feature rows get
 * empty transforms and their own shape. Fails on transforms that do not give one fixed size, or a
 * training and an evaluation size that differ. */
int tl_bundle_input(tl_data_bundle *b, const tl_opts *o, tl_error *err);
/* Image files given on their own (tailor predict): d's images are converted to the model's c channels
 * and go through the run's evaluation transform (its config.json value), set in *input; the loader
 * then checks each image reaches the model's h x w. */
int tl_input_for_predict(tl_input *input, tl_dataset *d, const tl_opts *run, int c, int h, int w, tl_error *err);

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
/* Checks --run DIR names an existing folder ("--run DIR: no such run folder"). */
int tl_run_check(const char *dir, tl_error *err);
/* Whether anything (file or folder) exists at path. */
int tl_path_exists(const char *path);
/* Removes a folder tailor created and the files in it (one level deep). */
void tl_rmdir_files(const char *path);

#endif
