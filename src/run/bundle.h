/* A data set as a run sees it: the data spec loaded with its long-tailed view, validation split and
 * open-set hold-out, and the input (transforms, channels, size) the model takes; plus the checks and
 * folder helpers the commands share. */
#ifndef TL_RUN_BUNDLE_H
#define TL_RUN_BUNDLE_H
#include <stdint.h>
#include "run/options.h"
#include "data/dataset.h"
#include "data/file.h"

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
/* The same from data sets already loaded (full: the training file, test, shipped: its own validation
 * split, each may have n = 0), which it takes over (they are left empty); data names them in
 * messages. lt, val and open are parsed again, so the checks are the same. */
int tl_bundle_from_sets(tl_data_bundle *b, tl_dataset *full, tl_dataset *test, tl_dataset *shipped, const char *data,
                        const char *lt, long val, const char *open, tl_error *err);
/* Recomputes b->train_count from b->train (on failure b is freed). */
int tl_bundle_count(tl_data_bundle *b, tl_error *err);
/* Every class (but the held-out ones of op) must have training rows; the message names data, the
 * first empty class and where the largest label is. */
int tl_bundle_check_classes(const tl_dataset *train, const tl_dataset *test, const tl_open *op, const char *data,
                            tl_error *err);
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

/* Creates a directory (one level); an existing one is an error naming the option. */
int tl_mkdir_new(const char *path, const char *option, tl_error *err);
/* Checks --run DIR names an existing folder ("--run DIR: no such run folder"). */
int tl_run_check(const char *dir, tl_error *err);
/* Whether anything (file or folder) exists at path. */
int tl_path_exists(const char *path);
/* Removes a folder tailor created and the files in it (one level deep). */
void tl_rmdir_files(const char *path);

#endif
