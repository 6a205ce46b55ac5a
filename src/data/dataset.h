/* Data sets, long-tailed views, normalisation, augmentation and the batch loader.
 *
 * The pipeline:  tl_data_load (files -> train + test)  ->  tl_view_apply (val split, LT cut)
 *             -> tl_norm_stats (per-channel mean/std of the training view)
 *             -> tl_loader (epoch order -> transformed, normalised float batches, made by worker threads).
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
#include "data/decode.h"
#include "data/transform.h"

/* Limits checked before anything is allocated from a header's or a list's claims. */
#define TL_DATA_MAX_BYTES   ((int64_t)1 << 33)  /* 8 GiB of file content (also bounds gzip expansion) */
#define TL_DATA_MAX_VALUES  ((int64_t)1 << 31)  /* n*c*h*w floats held by one data set (8 GiB) */
#define TL_DATA_MAX_CLASSES 100000
#define TL_DATA_MAX_SIDE    65536               /* image height or width */

/* A collection of images behind an image data set (images.c): fixed-size images in memory or image
 * files decoded on demand, shared by the data sets cut from it (reference counted). */
typedef struct tl_images tl_images;

/* A labelled data set: rows of features, or rows that are images of a collection.
 * x:      feature rows [n][c*h*w] float, row-major (CSV cells, stage-2 features; h = w = 1 for CSV),
 *         or NULL for an image data set.
 * images, file: an image data set: row i is image file[i] of images (HWC uint8 as stored there);
 *         c is the channel count the images are converted to; h, w their size when every image has
 *         the same (IDX, CIFAR), else 0.
 * y:      [n] labels in 0..num_classes-1.
 * class_names: NULL, or num_classes strings (Fashion-MNIST, CIFAR-10, CIFAR-100 when
 *         fine_label_names.txt is present, CSV with text labels, image folders).
 * eval_tf: the deterministic transform that brings an image of this set to the model's input (the
 *         run's --eval-transform, borrowed; NULL = the image as stored), used when no augmentation is. */
typedef struct {
    int n, c, h, w;
    int num_classes;
    float *x;
    tl_images *images;
    int *file;
    int *y;
    char **class_names;
    const tl_transform *eval_tf;
} tl_dataset;

/* ---- dataset.c: the struct ---- */
/* Allocates x and y for n feature rows (zeroed), names NULL. Returns -1 (message names `what`) on
 * overflow of TL_DATA_MAX_VALUES or out of memory. */
int tl_dataset_alloc(tl_dataset *d, int n, int c, int h, int w, int num_classes, const char *what, tl_error *err);
/* An image data set of n rows over images (a reference is taken): file[i] = i when n is the
 * collection's size, y zeroed. */
int tl_dataset_alloc_images(tl_dataset *d, tl_images *images, int n, int num_classes, const char *what, tl_error *err);
void tl_dataset_free(tl_dataset *d);
/* out = rows idx[0..n) of src, in that order, same storage (image rows share src's collection), names
 * copied. */
int tl_dataset_select(tl_dataset *out, const tl_dataset *src, const int *idx, int n, const char *what, tl_error *err);
/* counts[k] = number of rows with label k, k < d->num_classes. */
void tl_class_counts(const tl_dataset *d, int *counts);
/* Deep copy of src's class names into dst (dst->num_classes must equal src's). Returns -1 on OOM. */
int tl_dataset_copy_names(tl_dataset *dst, const tl_dataset *src, tl_error *err);
/* Checks every label of d is in 0..d->num_classes-1; the message names `what` and the row. */
int tl_dataset_check_labels(const tl_dataset *d, const char *what, tl_error *err);

/* ---- images.c: the collections ----
 * tl_images_memory: n images of h x w x c bytes in one block (*block, to fill), NULL on OOM.
 * tl_images_files: n files; paths (n malloc'd strings in a malloc'd array) are taken over, info
 *   (their headers, tl_image_probe) copied. NULL on OOM (paths then still the caller's).
 * tl_images_configure: how a stored image is made: c channels (PIL's conversion), and for files a
 *   shorter side reduced to at most side (0: as decoded) with a cache of at most cache_bytes of
 *   stored images (0: decode on every visit). Empties the cache.
 * tl_images_get: im = stored image i (tmp: scratch). Thread-safe. Errors name the file. */
tl_images *tl_images_memory(int n, int h, int w, int c, uint8_t **block);
tl_images *tl_images_files(int n, char **paths, const tl_image_info *info);
tl_images *tl_images_ref(tl_images *s);
void tl_images_unref(tl_images *s);
int tl_images_count(const tl_images *s);
const char *tl_images_path(const tl_images *s, int i);            /* NULL for memory images */
const tl_image_info *tl_images_info(const tl_images *s, int i);   /* NULL for memory images */
int tl_images_fixed(const tl_images *s, int *h, int *w);          /* 1 and the size for memory images */
int tl_images_channels(const tl_images *s);
int tl_images_configure(tl_images *s, int c, int side, int64_t cache_bytes, tl_error *err);
int tl_images_get(tl_images *s, int i, tl_image *im, tl_image *tmp, tl_error *err);
int tl_images_cached(const tl_images *s);                         /* images in the cache */
/* Builds one collection of files for several splits: paths[0..n) and labels[0..n), n = the sum of
 * nsplit[], split s taking the next nsplit[s] of them; split[s] become image data sets over it with
 * num_classes classes. Reads every header (OpenMP threads). A file that is not a PNG or JPEG is an
 * error, or, when skipped is given, dropped and counted there. paths (malloc'd strings in a malloc'd
 * array) are taken over in every case. */
int tl_images_from_paths(tl_dataset *split[], const int *nsplit, int nsplits, char **paths, int *labels,
                         int num_classes, int *skipped, tl_error *err);
int64_t tl_images_cache_bytes(const tl_images *s);

/* ---- spec.c: the data spec of the command line ----
 *   fashion-mnist                 IDX files under /usr/share/datasets/fashion-mnist (class names set)
 *   mnist:DIR, idx:DIR            train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                                 t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)
 *   cifar10:DIR                   data_batch_1..5.bin + test_batch.bin
 *   cifar100:DIR                  train.bin + test.bin, fine labels
 *   csv:TRAIN[,TEST][,KEY=V...]   see tl_csv_load_opts; without TEST the test set is empty (n = 0)
 *   list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt]  see tl_imagelist_load
 *   folder:ROOT                   see tl_folder_load
 * num_classes is the same in train, test and val: max label + 1 over all (10 / 100 for CIFAR). val is
 * filled by the layouts that ship a validation split (folder ROOT/val, a list's VAL.txt), else empty.
 * skipped (may be NULL): the files of an image folder that are not images. */
int tl_data_load(const char *spec, tl_dataset *train, tl_dataset *test, tl_dataset *val, int *skipped, tl_error *err);

/* ---- idx.c: MNIST-style IDX (magic 0x00000803 images [n,rows,cols] u8, 0x00000801 labels [n] u8),
 * raw or gzip (detected from the content), held as 1-channel memory images. The header is checked
 * against the real content size and TL_DATA_MAX_VALUES before the images are allocated. num_classes = max label + 1 of this file.
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
 * last token is the integer label), as ImageNet-LT ships them; folder.c: the torchvision ImageFolder
 * layout ROOT/train/CLASS/..., ROOT/test/CLASS/..., ROOT/val/CLASS/... (val optional). Both give image
 * data sets over files (images of any size, PNG or JPEG recognised by content; only their headers are
 * read here), c = 3 until configured. A list path must stay inside ROOT (no absolute path, no "..").
 * The folder layout names the classes after the sub-folders in sorted (strcmp) order, takes the
 * files of a class in sorted path order (sub-folders included) and skips files that are not PNG or
 * JPEG, counting them in *skipped; a class folder without images, an empty split, an unreadable file
 * or folder, and a symbolic-link loop are errors naming the path. val->n = 0 when there is none. */
int tl_imagelist_load(tl_dataset *train, tl_dataset *test, tl_dataset *val, const char *root, const char *train_list,
                      const char *test_list, const char *val_list, tl_error *err);
int tl_folder_load(tl_dataset *train, tl_dataset *test, tl_dataset *val, const char *root, int *skipped, tl_error *err);
/* Image files given on their own (tailor predict): path is an image file, or a folder whose images
 * (recursively, sorted paths) are taken; every label 0, num_classes 1. */
int tl_image_files_load(tl_dataset *d, const char *path, int *skipped, tl_error *err);

/* ---- view.c: long-tailed views and the validation split (docs/methods.md §1.1, 1.2, 1.4) ----
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

/* ---- normalize.c: per-channel statistics of a (training) view.
 * mean[c], std[c] over all values of channel c of every row (images: every pixel of every stored
 * image, in raw 0..255 units; exact integer sums, so the result does not depend on the order or the
 * thread count); std is the population std (divide by count), replaced by 1 when it is 0 so constant
 * features do not divide by zero. Images from files are decoded here (OpenMP threads). ---- */
int tl_norm_stats(float *mean, float *std, const tl_dataset *d, tl_error *err);
/* ImageNet's mean and std (0.485, 0.456, 0.406; 0.229, 0.224, 0.225) in raw 0..255 units, 3 channels. */
void tl_norm_imagenet(float *mean, float *std);

/* ---- loader.c: batches of an epoch, prepared ahead by a pool of worker threads ----
 * x [B][c*h*w] = (transform(stored image) - mean[c]) / std[c] in CHW order (feature rows: (x - mean)
 * / std), y [B]; the last batch of an epoch may be short. transform = aug when given, else
 * d->eval_tf. Row i of batch k draws from its own rng, seeded from (seed, epoch, k, i) with purpose
 * TL_RNG_AUGMENT (i counted in the global batch: tl_loader_slice), and a worker builds a whole
 * batch, so what a batch holds never depends on the number of workers or their timing, nor on how
 * a data-parallel job slices it. Every output must have the model's input size c x h x w: a
 * transform whose output size varies is an error naming the image. */
typedef struct tl_loader tl_loader;
/* d, mean, std, aug are borrowed (must outlive the loader); aug NULL = d->eval_tf. workers 0: batches
 * are made in the caller's thread; N > 0: N threads keep up to N + 1 batches ready. c, h, w: the
 * size every row must have (the model's input). */
tl_loader *tl_loader_create(const tl_dataset *d, const float *mean, const float *std, const tl_transform *aug,
                            int c, int h, int w, int batch, uint64_t seed, int workers, tl_error *err);
/* Data-parallel training: this loader makes a rank's slice of every global batch, whose first row is
 * row0 of the global batch (0 by default): its rows draw the augmentation one process would. */
void tl_loader_slice(tl_loader *L, int row0);
/* Begins an epoch over order[0..n) (indices into d, copied) at batch `first` (a resumed epoch skips
 * the batches it has done). Fails on an index out of range. */
int tl_loader_start(tl_loader *L, const int *order, int n, int epoch, int first, tl_error *err);
/* Points *x, *y at the next batch and returns its size; 0 at epoch end, -1 on an error (an image
 * that cannot be decoded: err names the file). The batch stays valid until the next tl_loader_next,
 * tl_loader_start or tl_loader_free. */
int tl_loader_next(tl_loader *L, const float **x, const int **y, tl_error *err);
void tl_loader_free(tl_loader *L);
/* The number of loader threads to use by default next to `threads` compute threads on this machine:
 * the cores left over, at least 1. */
int tl_loader_default_workers(int threads);

#endif
