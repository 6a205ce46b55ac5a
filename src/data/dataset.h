/* Data sets, long-tailed views, normalisation, augmentation and the batch loader.
 *
 * The pipeline:  tl_data_load (files -> train + test)  ->  tl_view_apply (val split, LT cut)
 *             -> tl_norm_stats (per-channel mean/std of the training view)
 *             -> tl_loader (epoch order -> augmented, normalised float batches, prepared in the background).
 *
 * Ownership: every tl_dataset filled by a function here owns its arrays; release it with
 * tl_dataset_free (safe on a zeroed or already freed struct). Functions that fail return -1 with a
 * message naming the file or option, and leave their output datasets empty (n = 0, NULL arrays). */
#ifndef TL_DATA_DATASET_H
#define TL_DATA_DATASET_H
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "tailor.h"
#include "core/rng.h"

/* Limits checked before anything is allocated from a header's or a list's claims. */
#define TL_DATA_MAX_BYTES   ((int64_t)1 << 33)  /* 8 GiB of file content (also bounds gzip expansion) */
#define TL_DATA_MAX_VALUES  ((int64_t)1 << 31)  /* n*c*h*w floats held by one data set (8 GiB) */
#define TL_DATA_MAX_CLASSES 100000
#define TL_DATA_MAX_SIDE    65536               /* image height or width */

/* A labelled data set held in memory.
 * x: [n][c*h*w] float, row-major, each row an image in CHW order holding the raw file values
 *    (pixels 0..255 for images; the numeric cells for CSV, where h = w = 1 and c = #features).
 * y: [n] labels in 0..num_classes-1.
 * class_names: NULL, or num_classes strings (Fashion-MNIST, CIFAR-10, CIFAR-100 when
 *    fine_label_names.txt is present, CSV with text labels). */
typedef struct {
    int n, c, h, w;
    int num_classes;
    float *x;
    int *y;
    char **class_names;
} tl_dataset;

/* ---- dataset.c: the struct ---- */
/* Allocates x and y for n rows (zeroed), names NULL. Returns -1 (message names `what`) on overflow
 * of TL_DATA_MAX_VALUES or out of memory. */
int tl_dataset_alloc(tl_dataset *d, int n, int c, int h, int w, int num_classes, const char *what, tl_error *err);
void tl_dataset_free(tl_dataset *d);
/* counts[k] = number of rows with label k, k < d->num_classes. */
void tl_class_counts(const tl_dataset *d, int *counts);
/* Deep copy of src's class names into dst (dst->num_classes must equal src's). Returns -1 on OOM. */
int tl_dataset_copy_names(tl_dataset *dst, const tl_dataset *src, tl_error *err);
/* Checks every label of d is in 0..d->num_classes-1; the message names `what` and the row. */
int tl_dataset_check_labels(const tl_dataset *d, const char *what, tl_error *err);

/* ---- spec.c: the data spec of the command line ----
 *   fashion-mnist                 IDX files under /usr/share/datasets/fashion-mnist (class names set)
 *   mnist:DIR, idx:DIR            train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                                 t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)
 *   cifar10:DIR                   data_batch_1..5.bin + test_batch.bin
 *   cifar100:DIR                  train.bin + test.bin, fine labels
 *   csv:TRAIN[,TEST][,KEY=V...]   see tl_csv_load_opts; without TEST the test set is empty (n = 0)
 *   list:ROOT,TRAIN.txt,TEST.txt  see tl_imagelist_load
 * num_classes is the same in train and test: max label + 1 over both (10 / 100 for CIFAR). */
int tl_data_load(const char *spec, tl_dataset *train, tl_dataset *test, tl_error *err);

/* ---- idx.c: MNIST-style IDX (magic 0x00000803 images [n,rows,cols] u8, 0x00000801 labels [n] u8),
 * raw or gzip (detected from the content). The header is checked against the real content size and
 * TL_DATA_MAX_VALUES before the float array is allocated. num_classes = max label + 1 of this file.
 * labels_path may be NULL (images to predict): every label is 0 and num_classes 1. */
int tl_idx_load(tl_dataset *d, const char *images_path, const char *labels_path, tl_error *err);
/* Loads DIR's four standard files (plain name first, then name.gz); num_classes shared by both. */
int tl_idx_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err);

/* ---- cifar.c: CIFAR binary records (<label u8> or <coarse u8><fine u8>, then 3072 bytes RGB planes).
 * num_classes = 10 or 100; a label byte outside that range is an error naming the file and record. */
int tl_cifar_load(tl_dataset *d, const char *const *paths, int npaths, int num_classes, tl_error *err);
int tl_cifar10_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err);
int tl_cifar100_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err);

/* ---- csv.c: comma-separated numeric features plus one label column, read as pandas.read_csv does
 * (a UTF-8 BOM skipped, quoted cells may hold commas) or refused with a message.
 * label: a header name, a 0-based index (after rownames=skip), or NULL for the last column. The first
 * row is a header when header = 1, or (header = -1, auto) when label is a name or one of its feature
 * cells is not a number; a first row of column numbers 0,1,2.. or 1,2,3.. asks for header=0|1.
 * Labels: whole numbers (1 or 1.0) >= 0 are used as is; text labels become classes numbered in
 * order of first appearance (train, then test), or in the order of classes[] when given (a label
 * not in it is an error); numbers mixed with text, or fractions, are refused. Feature cells must be
 * finite numbers; a missing one (pandas' NA strings, an empty cell) is an error unless na says
 * otherwise. An unnamed first column holding the row numbers (R's write.csv) is refused unless
 * skip_rownames drops it. nfeatures > 0 (predict): a file of exactly that many columns has no label
 * column (labels 0, num_classes = nclasses or 1). test_path may be NULL (empty test set). Messages
 * name file, line and column. */
enum { TL_CSV_NA_ERROR, TL_CSV_NA_DROP, TL_CSV_NA_MEAN };
typedef struct {
    const char *label;
    const char *const *classes;   /* [nclasses] or NULL */
    int nclasses;
    int header;                   /* -1 auto, 0 none, 1 the first row */
    int skip_rownames;
    int na;                       /* TL_CSV_NA_*: refuse, drop the row, fill with the training mean */
    int nfeatures;
} tl_csv_opts;
int tl_csv_load_opts(tl_dataset *train, tl_dataset *test, const char *train_path, const char *test_path,
                     const tl_csv_opts *opts, tl_error *err);
/* The same with the defaults (header auto, na refused) and label_col as opts->label. */
int tl_csv_load(tl_dataset *train, tl_dataset *test, const char *train_path, const char *test_path,
                const char *label_col, tl_error *err);
/* Writes s as one CSV cell, quoted (with "" for a quote) when it holds a comma, a quote, a line
 * break or surrounding blanks, so this reader gives s back. */
void tl_csv_write_cell(FILE *f, const char *s);
/* Parses the arguments of a csv data spec ("TRAIN[,TEST][,label=COL][,classes=a/b/c][,header=0|1]
 * [,rownames=skip][,na=drop|mean]") in place in buf into paths[2] and o (whose strings point into
 * buf; the classes array is malloc'ed, caller frees *classes). */
int tl_csv_spec_parse(char *buf, const char *paths[2], tl_csv_opts *o, char ***classes, tl_error *err);

/* ---- imagelist.c: a text file of "PATH LABEL" lines (PATH relative to root, may contain spaces; the
 * last token is the integer label), as ImageNet-LT ships. PNG (libpng) and JPEG (libjpeg) decoded by
 * content; grayscale stays 1 channel, colour becomes 3 (alpha dropped, composited on black). Every
 * image of both lists must have the same height, width and channel count. */
int tl_imagelist_load(tl_dataset *train, tl_dataset *test, const char *root, const char *train_list,
                      const char *test_list, tl_error *err);
/* One PNG or JPEG image as a data set of one row (label 0). */
int tl_image_load(tl_dataset *d, const char *path, tl_error *err);

/* ---- view.c: long-tailed views and the validation split (methods.md 1.1, 1.2, 1.4) ----
 *   ""/"none"            all training images
 *   exp:IF               class i keeps n_i = trunc(n_max * (1/IF)^(i/(C-1))) (double), IF >= 1
 *   step:IF:CLASSES      the listed classes keep trunc(n_max/IF), all others keep everything;
 *                        CLASSES = even | upper (classes C/2 .. C-1) | a list like 1/3/5
 * n_max is the largest class after the validation hold-out; a class never keeps more than it has.
 * The kept images of each class are its FIRST n_i in file order (no RNG). */
enum { TL_VIEW_FULL, TL_VIEW_EXP, TL_VIEW_STEP };
enum { TL_STEP_LIST, TL_STEP_EVEN, TL_STEP_UPPER };
#define TL_VIEW_MAX_LIST 256
typedef struct {
    int kind;                     /* TL_VIEW_* */
    double imb;                   /* imbalance factor IF */
    int step_set;                 /* TL_STEP_* */
    int nlist;
    int list[TL_VIEW_MAX_LIST];   /* class ids for TL_STEP_LIST */
    char text[128];               /* the spec as given, for messages */
} tl_view;

int tl_view_parse(const char *lt_spec, tl_view *v, tl_error *err);
/* kept[k] for each class from avail[k] images available per class (after the val hold-out).
 * Fails on a class id out of range, C < 2 for exp, or a class left empty. */
int tl_view_counts(int *kept, const int *avail, int num_classes, const tl_view *v, tl_error *err);
/* Holds out the LAST val_per_class images of each class (file order) into val (balanced; val may be
 * NULL when val_per_class = 0), then applies v to what remains into train. Rows keep file order.
 * Fails when a class has no more than val_per_class images or a class is empty after the cut. */
int tl_view_apply(const tl_dataset *full_train, const tl_view *v, int val_per_class,
                  tl_dataset *train, tl_dataset *val, tl_error *err);

/* ---- view.c: the open-set protocol (--open CLASSES, e.g. 7,8,9) ----
 * The listed classes leave training and validation and come back as unknown at test time. The other
 * K classes are relabelled 0..K−1 in their original label order (class names follow them), so the
 * long-tailed cut and every closed-set metric apply to the K known classes. */
#define TL_OPEN_MAX 256
typedef struct {
    int n;                        /* 0: closed set */
    int classes[TL_OPEN_MAX];     /* held-out original labels, as listed */
} tl_open;
/* Parses "7,8,9" (',' or '/' between ids); NULL or "" gives n = 0. Fails on a non-integer, a
 * negative or repeated id, or more than TL_OPEN_MAX ids. */
int tl_open_parse(tl_open *o, const char *text, tl_error *err);
/* known[k] = the original label of known class k for a data set of C classes; returns K = C − o->n. */
int tl_open_known(int *known, const tl_open *o, int C);
/* Splits src by class: rows of the held-out classes go to unknown (original labels and names kept),
 * the others to known, relabelled 0..K−1 with the known classes' names; both keep file order. unknown
 * may be NULL (rows dropped). Fails when a held-out class is not below src->num_classes or fewer than
 * 2 classes remain known; the outputs are then empty. */
int tl_open_split(const tl_dataset *src, const tl_open *o, tl_dataset *known, tl_dataset *unknown, tl_error *err);

/* ---- normalize.c: per-channel statistics of a (training) view, in double, fixed order.
 * mean[c], std[c] over all n*h*w values of channel c; std is the population std (divide by count),
 * replaced by 1 when it is 0 so constant features do not divide by zero. ---- */
void tl_norm_stats(float *mean, float *std, const tl_dataset *d);

/* ---- augment.c: torchvision RandomCrop(size, padding=P) (zero padding) + RandomHorizontalFlip ----
 * Spec: "none", or a comma list of "crop[:pad=P]" and "flip". pad < 0 means the default: 2 for
 * images smaller than 32 pixels, 4 otherwise. For h = w = 1 (CSV features) augmentation is a no-op. */
typedef struct { int crop, pad, flip; } tl_augment;
int tl_augment_parse(const char *spec, tl_augment *a, tl_error *err);
int tl_augment_pad(const tl_augment *a, int h, int w);
/* out[c*h*w] = augmented copy of inp[c*h*w] (raw values; padding is 0 in raw space, as on a PIL image).
 * Draws from rng: crop offsets i, j in [0, 2P] (top-left in the padded image) then flip with p = 0.5. */
void tl_augment_apply(float *out, const float *inp, int c, int h, int w, const tl_augment *a, tl_rng *rng);

/* ---- loader.c: batches of an epoch, prepared one ahead by a background thread ----
 * x [B][c*h*w] = (augment(raw) - mean[c]) / std[c], y [B]; the last batch of an epoch may be short.
 * The augmentation rng of batch k is seeded from (seed, epoch, k) with purpose TL_RNG_AUGMENT, so
 * batches are identical whether the background thread is used or not, whatever the timing. */
typedef struct tl_loader tl_loader;
/* d, mean, std are borrowed (must outlive the loader); aug NULL = no augmentation. */
tl_loader *tl_loader_create(const tl_dataset *d, const float *mean, const float *std, const tl_augment *aug,
                            int batch, uint64_t seed, int background, tl_error *err);
/* Begins an epoch over order[0..n) (indices into d, copied). Fails on an index out of range. */
int tl_loader_start(tl_loader *L, const int *order, int n, int epoch, tl_error *err);
/* Points *x, *y at the next batch and returns its size; 0 at epoch end. The batch stays valid until
 * the next tl_loader_next, tl_loader_start or tl_loader_free (the other buffer is being filled). */
int tl_loader_next(tl_loader *L, const float **x, const int **y);
void tl_loader_free(tl_loader *L);

#endif
