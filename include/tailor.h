/* tailor: long-tailed (class-imbalanced) classification in C. The public API of libtailor.
 *
 * Conventions (every function below follows them):
 *   - Opaque handles with _new/_open ... _free pairs; the caller owns a handle a function returns and
 *     releases it with the matching _free (each _free accepts NULL).
 *   - A function that can fail takes `tl_error *err` last (err may be NULL) and returns -1 (or NULL)
 *     with one sentence in err->msg that names the file or option at fault and the real problem; on
 *     success it returns 0 (or the handle) and leaves err untouched. A failed call leaves its outputs
 *     unwritten or, for folders, nothing half-written.
 *   - Arrays the caller passes in are copied or only read during the call; buffers the caller passes
 *     out are written in full and never kept.
 *   - The library never prints and never exits: what a run has to say (e.g. which weights --init
 *     loaded) goes to the logging callback (tl_log_set_callback).
 *   - Option names and values are those of the `tailor` command (docs/cli.md): NAME[:key=value,...].
 *
 * Thread safety: handles are not shared between threads while a call uses them; different handles
 * may be used in different threads at once. The logging callback is process-wide.
 *
 * The symbols declared here are the only ones libtailor.so exports (TL_API); its soname changes with
 * TL_VERSION_MAJOR. */
#ifndef TAILOR_H
#define TAILOR_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_VERSION_MAJOR 0
#define TL_VERSION_MINOR 1
#define TL_VERSION_PATCH 0
#define TL_VERSION "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for compile-time comparisons. */
#define TL_VERSION_NUMBER (TL_VERSION_MAJOR * 10000 + TL_VERSION_MINOR * 100 + TL_VERSION_PATCH)

#if defined(TL_BUILDING_LIBRARY) && defined(__GNUC__)
#define TL_API __attribute__((visibility("default")))
#else
#define TL_API
#endif

/* One sentence describing the last failure of a call that took this error object. */
typedef struct tl_error { char msg[512]; } tl_error;

/* ---- version ---- */

/* The version of the library actually loaded ("0.1.0"), which may differ from TL_VERSION of the
 * header a program was built with. Static storage; never fails. */
TL_API const char *tl_version(void);
/* The same as a number (TL_VERSION_NUMBER of the library). */
TL_API int tl_version_number(void);

/* ---- BLAS kernels ---- */

/* OpenBLAS (the library's GEMMs: linear layers, heads, SMOTE's distances, stage 2) chooses its
 * kernels once, when it is loaded, by the CPU's model number; on a CPU newer than the installed
 * OpenBLAS knows (Debian 12's 0.3.21 on a 5th-generation Xeon) it runs its generic SSE3 kernels,
 * which make an mlp run 2-3x slower. Returns 1 and writes to coretype the OPENBLAS_CORETYPE value
 * that names the kernels of the CPU's instruction set ("SkylakeX": AVX-512; "Haswell": AVX2 and
 * FMA) when OpenBLAS runs the generic ones and the CPU has either; else 0. The variable acts only
 * when set before OpenBLAS is loaded: the tailor command sets it and starts itself again; a
 * program using the library sets it in its environment. */
TL_API int tl_blas_kernel_advice(char *coretype, size_t cap);

/* ---- clock ---- */

/* Seconds on the monotonic clock from an arbitrary origin (only differences mean anything): the one
 * clock tailor's timings read (epoch seconds, images per second, progress). Never fails. */
TL_API double tl_clock_seconds(void);

/* ---- processes (MPI) ----
 * Under `mpirun -np N`, N processes (ranks) share every training, evaluation and stage-2 call as
 * one data-parallel job: each computes its slice of every global batch, and they sum what they
 * found in a fixed order, so the job gives the model one process would (docs/distributed.md).
 * Launched any other way, the process is rank 0 of 1 and nothing changes. */

/* 1 when the library was built with MPI (make MPI=1, the default where mpicc exists), else 0. */
TL_API int tl_dist_available(void);
/* Joins the MPI job when the process was started by mpirun (its environment says so), else makes
 * the process rank 0 of 1. Call it once, before any other tailor call, from the main thread;
 * calling it again does nothing. Fails (-1, err) when the process was started by mpirun but the
 * library was built without MPI, or MPI refuses to start. */
TL_API int tl_dist_init(tl_error *err);
/* This process's rank (0 .. size-1) and the number of ranks: 0 and 1 before tl_dist_init. */
TL_API int tl_dist_rank(void);
TL_API int tl_dist_size(void);
/* Leaves the MPI job (after the last tailor call; every rank must call it). Harmless without MPI. */
TL_API void tl_dist_finalize(void);
/* Fails on every rank, naming the first rank that differs and `what` ("command line"), unless every
 * rank holds the same n bytes at buf (compared by a 64-bit hash). Every rank must call it. */
TL_API int tl_dist_same(const void *buf, size_t n, const char *what, tl_error *err);
/* After a failure that the other ranks may not know of (they could be waiting in a collective): ends
 * the whole job with the given exit status, unless every rank fails too (they all call this within a
 * few seconds) or learnt of the failure together (a check they all made): then it returns and each
 * rank ends itself. Without MPI, returns at once. */
TL_API void tl_dist_abort(int status);

/* ---- logging ---- */

enum { TL_LOG_INFO = 0, TL_LOG_WARN = 1 };
/* Receives one line (no trailing newline) at a level TL_LOG_*. msg is valid during the call only. */
typedef void (*tl_log_fn)(void *user, int level, const char *msg);
/* Installs fn (NULL: messages are dropped, the default) for the whole process; user is passed back
 * to it. Calls may come from the thread of any tailor call. */
TL_API void tl_log_set_callback(tl_log_fn fn, void *user);

/* ---- memory ---- */

/* Releases a string or array this API returned as "caller frees with tl_free". NULL is harmless. */
TL_API void tl_free(void *p);

/* ---- command-line options ----
 * The parser of the tailor command, for programs with options of their own: a table of named
 * settings, each a string, filled from the defaults, then a --config FILE (a JSON object of names to
 * strings or numbers), then the arguments (--name value or --name=value; later wins). */
typedef struct {
    const char *name;       /* without the leading "--" */
    const char *def;        /* default value; NULL = required, "" = unset */
    const char *help;       /* one line for the usage text */
    int flag;               /* takes no value ("1" when given) */
    int in_config;          /* saved in a run folder's config.json */
    int command_only;       /* the command's alone (--out, --resume, --quiet): not in a tl_config */
} tl_option;
typedef struct tl_options tl_options;

/* Parses argv[0..argc) against defs[0..n) (at most 40 options) for the command named cmd (messages
 * say "see tailor CMD --help"). Fails on an unknown option, a missing value or required option, or a
 * bad --config file, with a message naming it. */
TL_API tl_options *tl_options_parse(const tl_option *defs, int n, int argc, char **argv, const char *cmd,
                                    tl_error *err);
TL_API void tl_options_free(tl_options *o);
/* The value of option name (owned by o), or NULL when the table has no such option. */
TL_API const char *tl_options_get(const tl_options *o, const char *name);
/* Option name as an integer in [lo, hi] into *out ("--epochs: 'x' is not an integer in 1..100000"). */
TL_API int tl_options_int(const tl_options *o, const char *name, long lo, long hi, long *out, tl_error *err);
/* When argv holds --help or -h: prints "usage: tailor CMD SYNOPSIS" and the options with their help
 * and defaults to stdout and returns 1; else 0. */
TL_API int tl_options_help(int argc, char **argv, const tl_option *defs, int n, const char *cmd, const char *synopsis);
/* The same usage text to f, unconditionally. */
TL_API void tl_options_usage(const tl_option *defs, int n, const char *cmd, const char *synopsis, FILE *f);

/* ---- output folders ----
 * A folder the caller writes whole (a report folder, a run folder) the way the command does: built
 * as OUT.partial under an exclusive lock, renamed to OUT only when complete and only if nothing has
 * appeared there meanwhile; a second writer of the same folder is refused (docs/cli.md, "Run folder"). */
typedef struct tl_folder tl_folder;

/* Checks out (option names it in messages, e.g. "--out": not empty, its parent a folder, nothing at
 * out yet) and creates out.partial, locked. remove_stale: an out.partial left by an interrupted
 * writer of a report folder is removed first (else it is an error saying so; a training run's
 * .partial, with its checkpoint, is never removed). */
TL_API tl_folder *tl_folder_create(const char *out, const char *option, int remove_stale, tl_error *err);
/* The folder to write into (out.partial), owned by f. */
TL_API const char *tl_folder_path(const tl_folder *f);
/* The final name out. */
TL_API const char *tl_folder_name(const tl_folder *f);
/* Renames out.partial to out. On failure out.partial is kept whole and the message says why and how
 * to put it in place by hand. */
TL_API int tl_folder_commit(tl_folder *f, tl_error *err);
/* Releases the lock and frees f; with remove set, removes out.partial first unless committed. */
TL_API void tl_folder_close(tl_folder *f, int remove);
/* Locks the existing folder path (a finished run that a report folder is written into) until
 * tl_folder_unlock; fails when another tailor process is writing it. */
TL_API tl_folder *tl_folder_lock(const char *path, const char *option, tl_error *err);
TL_API void tl_folder_unlock(tl_folder *f);
/* The same for a folder that is written in place by one process at a time (a distillation chain, a
 * study): path is created first when nothing is there (its parent must exist). */
TL_API tl_folder *tl_folder_open(const char *path, const char *option, tl_error *err);

/* ---- run configuration ---- */

/* The settings of one training run: the options of `tailor train` (docs/cli.md) by name, without the
 * leading "--", each held as a string. A new configuration holds the command's defaults; "data" is
 * unset ("") until given. */
typedef struct tl_config tl_config;

/* A configuration with every default. NULL only when out of memory. */
TL_API tl_config *tl_config_new(tl_error *err);
TL_API void tl_config_free(tl_config *c);
/* A deep copy of c. */
TL_API tl_config *tl_config_copy(const tl_config *c, tl_error *err);
/* Sets option `name` ("epochs", "loss", ...) to value ("ldam:max_m=0.5,s=30"), copied. Fails on a
 * name that `tailor train` lacks (the message lists the valid ones), or on one that belongs to the
 * command alone (out, resume, quiet, config). The value itself is checked when training starts, with
 * the command's message ("--loss: unknown name 'foo' (valid: ...)"). */
TL_API int tl_config_set(tl_config *c, const char *name, const char *value, tl_error *err);
/* The value of option `name` (owned by c, valid until it changes or c is freed), or NULL for an
 * unknown name. */
TL_API const char *tl_config_get(const tl_config *c, const char *name);
/* Option name as an integer in [lo, hi] ("--val: 'x' is not an integer in 0..1000000"). */
TL_API int tl_config_int(const tl_config *c, const char *name, long lo, long hi, long *out, tl_error *err);
/* Reads a run folder's config.json (or any JSON object of option names to strings or numbers) over
 * c: the options it names replace c's. Fails on an unreadable file, bad JSON or an unknown option. */
TL_API int tl_config_read(tl_config *c, const char *path, tl_error *err);
/* The options in the order `tailor train --help` lists them: count, and the name and one-line help
 * of option i (static strings; NULL when i is out of range). */
TL_API int tl_config_count(void);
TL_API const char *tl_config_name(int i);
TL_API const char *tl_config_help(int i);
/* config.json's text of c (the options a run folder records), NUL-terminated; caller frees with
 * tl_free. NULL only when out of memory. */
TL_API char *tl_config_json(const tl_config *c, tl_error *err);

/* ---- data ---- */

/* A data set as training and evaluation see it: up to four splits of labelled rows, either feature
 * vectors (float) or images (uint8, stored height x width x channels), with num_classes classes
 * (labels 0..num_classes-1) and optional class names. */
typedef struct tl_data tl_data;
enum {
    TL_SPLIT_TRAIN = 0,     /* the (long-tailed) training set */
    TL_SPLIT_VAL = 1,       /* the validation set (--val N, or shipped by the data); may be empty */
    TL_SPLIT_TEST = 2,      /* the test set; may be empty */
    TL_SPLIT_UNKNOWN = 3    /* --open: the test rows of the held-out classes (original labels) */
};

/* Loads a data set of the command line (`--data SPEC`: fashion-mnist, mnist:DIR, cifar10:DIR,
 * csv:TRAIN[,TEST], list:..., folder:ROOT) and applies the view: lt ("none", "exp:100", "step:10:even";
 * NULL = "none"), val (the last val rows of each class held out as a balanced validation split, 0 =
 * none) and open ("7,8,9": those classes held out as unknown; NULL or "" = none), exactly as `tailor
 * train --data SPEC --lt LT --val VAL --open OPEN` does. The messages are the command's. */
TL_API tl_data *tl_data_open(const char *spec, const char *lt, int val, const char *open, tl_error *err);
/* An empty data set of feature rows of `dim` values (or of h x w x c images, c = 1 or 3) and
 * num_classes classes (2..100000), whose splits are then filled by tl_data_set_features
 * (tl_data_set_pixels). */
TL_API tl_data *tl_data_new_features(int dim, int num_classes, tl_error *err);
TL_API tl_data *tl_data_new_pixels(int h, int w, int c, int num_classes, tl_error *err);
/* Fills split (TL_SPLIT_TRAIN, _VAL or _TEST) with n rows copied from x [n][dim] (row-major float,
 * every value finite) and y [n] (labels in 0..num_classes-1; y NULL: all 0, for prediction only);
 * replaces what the split held. Fails on a data set of images, a non-finite value or a label out of
 * range (the message names the row). */
TL_API int tl_data_set_features(tl_data *d, int split, const float *x, const int *y, int n, tl_error *err);
/* The same for a data set of images: px [n][h][w][c] uint8 (as PIL and numpy store them). */
TL_API int tl_data_set_pixels(tl_data *d, int split, const uint8_t *px, const int *y, int n, tl_error *err);
/* Names the classes: names[num_classes] strings, copied (reports and predictions then use them). */
TL_API int tl_data_set_class_names(tl_data *d, const char *const *names, tl_error *err);
/* The file of row i of split (image files), owned by d; NULL for rows that are not files. */
TL_API const char *tl_data_row_path(const tl_data *d, int split, int i);
/* Writes s as one CSV cell, quoted when it needs to be, so that tailor's (and pandas') CSV reader
 * gives s back. */
TL_API void tl_csv_cell(FILE *f, const char *s);
/* Replaces d's test split (and, with --open, its unknown split) by those of src, which are moved
 * out of src (`tailor eval --data`: another test set for a run's data; a run's model checks its
 * classes when it is given the data set). */
TL_API int tl_data_replace_test(tl_data *d, tl_data *src, tl_error *err);
/* A new data set: d's training split cut to the long-tailed view lt with val rows per class held out,
 * and open's classes held out (arguments as tl_data_open; d's own val split, if any, is kept and val
 * must be 0). d is not changed. */
TL_API tl_data *tl_data_view(const tl_data *d, const char *lt, int val, const char *open, tl_error *err);
TL_API void tl_data_free(tl_data *d);
/* Rows of a split (0 for an empty one or a bad split), classes, and the class name of k (owned by d;
 * NULL when the data set has no names or k is out of range). After --open, num_classes counts the
 * known classes. */
TL_API int tl_data_rows(const tl_data *d, int split);
TL_API int tl_data_num_classes(const tl_data *d);
TL_API const char *tl_data_class_name(const tl_data *d, int k);
/* The labels of a split into y [tl_data_rows(d, split)]; the training rows per class into
 * counts [num_classes] (either may be NULL). */
TL_API int tl_data_labels(const tl_data *d, int split, int *y, tl_error *err);
TL_API int tl_data_class_counts(const tl_data *d, int64_t *counts, tl_error *err);
/* The shape of a row: c channels (feature rows: c values) of h x w; h = w = 0 for image files of
 * many sizes. */
TL_API void tl_data_shape(const tl_data *d, int *c, int *h, int *w);
/* Each class's groups by its training count (docs/report-schema.md): shot[k] 0 many (> 100), 1
 * medium (20..100), 2 few (< 20); part[k] 0 head, 1 mid, 2 tail (thirds by count). Either may be NULL. */
TL_API int tl_data_class_groups(const tl_data *d, int *shot, int *part, tl_error *err);
/* Image files (folder:, list:): how many the data set's collection holds over all its splits (0 for
 * feature rows and images held in memory), file i's stored size and channels, and how many files of
 * an image folder were skipped as not PNG or JPEG. */
TL_API int tl_data_image_files(const tl_data *d);
TL_API int tl_data_image_file_info(const tl_data *d, int i, int *h, int *w, int *c);   /* -1: i out of range */
TL_API int tl_data_skipped(const tl_data *d);

/* ---- training ---- */

/* What the progress callback sees: after every training step (epoch_end = 0: epoch, step, steps, loss,
 * images_per_second, lr; the other fields NAN) and after every epoch (epoch_end = 1: the epoch's
 * train_loss, train_accuracy, its validation accuracies, NAN without a val split, lr, seconds and
 * images_per_second; step and steps -1). epoch and step are 0-based. */
typedef struct {
    int epoch, epochs, step, steps, epoch_end;
    double loss, images_per_second, lr;
    double train_loss, train_accuracy, val_accuracy, val_balanced_accuracy, seconds;
} tl_train_status;
/* Returns 0 to go on; any other value stops training after the current step. */
typedef int (*tl_train_fn)(void *user, const tl_train_status *s);

/* A trained model and what it needs to be used: the backbone and head, the input normalisation, the
 * training class counts, the class names, the configuration it was trained with and its epoch logs. */
typedef struct tl_run tl_run;

/* Trains a model as `tailor train` does with cfg's options, on data (NULL: load cfg's data, lt, val
 * and open options), in memory: no file is written. progress (may be NULL) is called with user after
 * every step and epoch; training stops, and the call fails ("training stopped at epoch E, step S"),
 * when it returns non-zero or when *cancel (may be NULL; set from any thread or a signal handler)
 * becomes non-zero. data's images are configured for cfg's transforms (--channels, --size, ...);
 * data is otherwise unchanged and may be freed after the call. Bitwise reproducible for the same
 * configuration (seed, threads) and data. */
TL_API tl_run *tl_train(const tl_config *cfg, tl_data *data, tl_train_fn progress, void *user,
                        const volatile int *cancel, tl_error *err);
TL_API void tl_run_free(tl_run *r);
/* Writes a run folder at dir (which must not exist; its parent must): config.json, model.safetensors,
 * metrics.jsonl and train_counts.json (the training rows per class, when r knows them: the post-hoc
 * rules that need them, logit adjustment among them, then work on the run opened again), built in
 * dir.partial and renamed into place when complete, as the command does. A run folder written by
 * `tailor train` (with its report) opens the same way. */
TL_API int tl_run_save(const tl_run *r, const char *dir, tl_error *err);
/* Opens a finished run folder (config.json and model.safetensors; its report.json, or without one
 * its train_counts.json, only when the training counts are needed and no data set gives them) for prediction and evaluation with
 * `threads` threads (1..256). */
TL_API tl_run *tl_run_open(const char *dir, int threads, tl_error *err);
/* The model's class count C, feature dimension D, and input shape (c channels of h x w; feature
 * models: c values, h = w = 1). */
TL_API int tl_run_num_classes(const tl_run *r);
TL_API int tl_run_feature_dim(const tl_run *r);
TL_API void tl_run_input_shape(const tl_run *r, int *c, int *h, int *w);
/* The batch size of prediction and evaluation (1..65536; a run opened or trained has 256, or its
 * training batch). The command's --batch sets it. For one batch size and thread count the results
 * are bitwise reproducible; another batch size can move a logit in its last bits, and tailor does not
 * hide that. Why: every batch runs whole (a last, partial batch is padded to the batch size), and
 * the matrix products (OpenBLAS sgemm for linear layers, oneDNN for convolutions) choose their kernel
 * and their split among threads from the problem size: a batch of 1 takes the matrix-vector path,
 * the rows of a batch that do not fill the kernel's row tile take a narrower kernel, and a large
 * enough product is split between threads. Each sums a row's products in another order, so the same
 * row gets other float32 roundings (measured: 4.8e-7 on logits up to 8.7 for batches 1, 3, 33 and
 * 256 against 32 of tests/api/test_api.c, which checks the bound 1e-5 of the largest logit; up to
 * 6.7e-6 on logits up to 13 for a Fashion-MNIST cnn), while batch sizes the library computes alike
 * (8, 100, 128, 256 at one thread, there) agree bit for bit. One fixed order would take tailor's own,
 * slower matrix kernels and change the command's results. */
TL_API int tl_run_set_batch(tl_run *r, int batch, tl_error *err);
/* The batch size of prediction and evaluation now (tl_run_set_batch). */
TL_API int tl_run_batch(const tl_run *r);
/* The run's configuration (owned by r). */
TL_API const tl_config *tl_run_config(const tl_run *r);
/* The class name of k from the training data, or NULL. */
TL_API const char *tl_run_class_name(const tl_run *r, int k);

/* ---- stage 2 ---- */

/* Stage 2 of decoupled classifier learning, as `tailor retrain` does: a new run with r's backbone
 * (frozen, evaluation mode, features computed once) and a new classifier fitted on the features of
 * d's training split (d's validation split for tau's sweep): method "crt", "ncm[:metric=l2|cosine]",
 * "tau[:tau=T]" or "lws". options: NULL, or NULL-terminated name/value pairs of `tailor retrain`'s
 * options ("epochs", "5", "sampler", "class", "batch", ..., NULL). The new run's configuration is
 * r's with the stage-2 head. r and d are not changed (d's input is configured for r). The report of
 * an evaluation of the new run has no "stage2" section (the run folder of tailor retrain has it). */
TL_API tl_run *tl_retrain(tl_run *r, tl_data *d, const char *method, const char *const *options, tl_error *err);

/* ---- prediction (evaluation mode: no augmentation, the run's evaluation transform) ---- */
/* The rows `tailor predict --input PATH` reads, for run r, as the test split of a new data set: a PNG
 * or JPEG image or a folder of them (recursively; any size, brought to the model's input by the run's
 * evaluation transform), a CSV file (read with the run's CSV settings and class names; features only,
 * or with the label column `label`, NULL = the run's, whose values must be classes of the model), or
 * an IDX image file. Labels are 0 where the input has none. */
TL_API tl_data *tl_data_open_input(const tl_run *r, const char *path, const char *label, tl_error *err);

/* For the n rows of split of d: logits and probs [n][C] (softmax), labels [n] (argmax), each may be
 * NULL; n = tl_data_rows(d, split). rule: an inference rule (`tailor eval --posthoc`, e.g.
 * "logit-adjust:tau=1"; NULL = plain argmax) applied to the logits before softmax and argmax; its
 * tau=auto is chosen on d's validation split. */
TL_API int tl_run_predict(tl_run *r, tl_data *d, int split, const char *rule, float *logits, float *probs,
                          int *labels, tl_error *err);
/* The same for n caller-owned rows: x [n][c*h*w] float feature rows, or px [n][h][w][c] uint8 images
 * (of the model's input size). */
TL_API int tl_run_predict_features(tl_run *r, const float *x, int n, const char *rule, float *logits,
                                   float *probs, int *labels, tl_error *err);
TL_API int tl_run_predict_pixels(tl_run *r, const uint8_t *px, int n, const char *rule, float *logits,
                                 float *probs, int *labels, tl_error *err);
/* The backbone's features of the rows of split of d into out [n][D]. */
TL_API int tl_run_features(tl_run *r, tl_data *d, int split, float *out, tl_error *err);

/* ---- figures ---- */

/* embedding.png of a run trained with --feat-dim 2: the features of split (TL_SPLIT_TEST: the test
 * rows, or the validation rows when there are none; TL_SPLIT_TRAIN: the training view) of d, at most
 * max_points of them (an even subsample), with the class directions of the head (and the centres of
 * affinity and UniformFace heads), written to path (PNG). */
TL_API int tl_run_plot_embedding(tl_run *r, tl_data *d, int split, int max_points, const char *path, tl_error *err);
/* weight_norms.png: the norm of each class's weight vector of r's head against d's training counts. */
TL_API int tl_run_plot_weights(tl_run *r, const tl_data *d, const char *path, tl_error *err);

/* ---- evaluation ---- */

/* The report of a model on one labelled split: every metric of report.json (docs/report-schema.md). */
typedef struct tl_evaluation tl_evaluation;

/* Evaluates r on split (usually TL_SPLIT_TEST) of d with the inference rule (NULL = none), as `tailor
 * eval` does: the metrics, and the open-set metrics when d holds the unknown split. The per-class
 * shot groups (and logit adjustment) use the training counts of d's training split, or, when d has
 * none, r's own (a run opened from a folder: its report.json's). A rule's tau=auto is chosen on d's
 * validation split and logged ("posthoc: chose tau = T (validation balanced accuracy A%)"). */
TL_API tl_evaluation *tl_evaluate(tl_run *r, tl_data *d, int split, const char *rule, tl_error *err);
TL_API void tl_evaluation_free(tl_evaluation *e);
/* A headline metric by its report.json name: "accuracy", "balanced_accuracy", "macro_f1",
 * "micro_f1", "ece", "many", "medium", "few", "head", "mid", "tail" (NAN when undefined or the name
 * is unknown). */
TL_API double tl_evaluation_metric(const tl_evaluation *e, const char *name);
/* Recall (per-class accuracy) of class k, NAN when absent from the split or out of range. */
TL_API double tl_evaluation_class_recall(const tl_evaluation *e, int k);
/* report.json's text, NUL-terminated; caller frees with tl_free. */
TL_API char *tl_evaluation_json(const tl_evaluation *e, tl_error *err);
/* Writes report.json, report.md, per_class_accuracy.png and confusion.png into the existing folder
 * dir (each file atomically). */
TL_API int tl_evaluation_write(const tl_evaluation *e, const char *dir, tl_error *err);
/* Reads a report.json (of tailor train, eval, retrain or tl_evaluation_write) back: path is the file
 * (a name ending in .json) or a run or report folder holding it. Its confusion
 * matrix and training counts are authoritative: every other number is recomputed and checked against
 * the stored one, so a hand-edited or truncated report is an error naming the field. What it gives:
 * the metrics, the class names and the "run" section (tl_evaluation_run_value); its JSON text and
 * report folder (tl_evaluation_json, _write) leave out the open-set and stage-2 sections. */
TL_API tl_evaluation *tl_evaluation_read(const char *path, tl_error *err);
/* A value of the report's "run" section: an option of the run ("loss", "sampler", "data", ...) or
 * "posthoc", owned by e; NULL when absent. */
TL_API const char *tl_evaluation_run_value(const tl_evaluation *e, const char *key);
/* Classes, and the name of class k (owned by e; NULL when the report has none). */
TL_API int tl_evaluation_num_classes(const tl_evaluation *e);
TL_API const char *tl_evaluation_class_name(const tl_evaluation *e, int k);
/* Prints the headline metrics, the group accuracies and the per-class table as Markdown tables, then
 * (after a blank line) the open-set metrics when e has them: what tailor eval prints. */
TL_API void tl_evaluation_print(FILE *f, const tl_evaluation *e);
/* Prints a (label_a, e.g. the baseline) and b side by side with the difference b - a, as tailor
 * compare does. Fails when their class counts differ. */
TL_API int tl_evaluation_print_compare(FILE *f, const tl_evaluation *a, const char *label_a, const tl_evaluation *b,
                                       const char *label_b, tl_error *err);

/* ---- jobs: what tailor train and tailor retrain do, into a run folder ----
 * A job is one command's work: tl_job_train / tl_job_retrain read the command line (the options of
 * `tailor train` / `tailor retrain`, docs/cli.md) and, for train, check and lock the run folder;
 * tl_job_run does the work into OUT.partial; the caller prints tl_job_report if it wants to and
 * tl_job_commit renames OUT.partial to OUT. The command is these calls and its printing:
 *
 *     tl_job *j = tl_job_train(argc, argv, &err);              // NULL: bad options or folder
 *     int rc = j ? tl_job_run(j, progress, user, &stop, &err) : -1;
 *     if (rc == 0) { tl_evaluation_print(stdout, tl_job_report(j)); rc = tl_job_commit(j, &err); }
 *     tl_job_free(j);
 *
 * A failed job removes OUT.partial, except when it holds what must not be thrown away (a training
 * run's checkpoint, a retrained model: tl_job_kept); a stopped training keeps it for --resume. */
typedef struct tl_job tl_job;

/* `tailor train ARGS`: a new run (--out DIR: DIR and DIR.partial must not exist, DIR's parent must),
 * or --resume DIR (or DIR.partial) with the run's own settings from DIR.partial/config.json, where
 * every other option given must repeat the run's value (--quiet alone may differ) and DIR.partial is
 * locked at once. Fails (NULL, err) on a bad option, a folder in the way ("... already exists"), an
 * interrupted run at DIR.partial ("continue it with tailor train --resume DIR"), a folder another
 * tailor process is writing, or a --resume that differs from the run (the message lists each option
 * and the command that would start a new run with them). The caller frees the job with tl_job_free. */
TL_API tl_job *tl_job_train(int argc, char **argv, tl_error *err);
/* `tailor retrain ARGS`: stage 2 on the finished run --run into the new run folder --out. Reads the
 * options only (fails on a bad one); the folders are checked by tl_job_run. */
TL_API tl_job *tl_job_retrain(int argc, char **argv, tl_error *err);
/* The option table of `tailor train` or `tailor retrain` (command "train", "retrain"; static, n
 * entries), for their --help (tl_options_help); NULL (n = 0) for any other command. */
TL_API const tl_option *tl_job_options(const char *command, int *n);
/* The value of the job's option name ("quiet", "out", ...), owned by j; NULL when it has none. */
TL_API const char *tl_job_option(const tl_job *j, const char *name);
/* Does the work into OUT.partial, calling progress (may be NULL) with user after every step and epoch
 * (tl_train_status) and stopping after the current step when it returns non-zero or *cancel (may be
 * NULL; may be set from a signal handler) becomes non-zero. Returns 0 when finished (the report is
 * ready and the folder complete but not yet committed); 1 when a training was stopped (err: "stopped
 * at epoch E, step S"; OUT.partial is kept with its checkpoint for --resume); -1 on failure (err: one
 * sentence; OUT.partial removed unless tl_job_kept says where it is). What the run has to say
 * (retrain's chosen tau) goes to the logging callback. Call it once. */
TL_API int tl_job_run(tl_job *j, tl_train_fn progress, void *user, const volatile int *cancel, tl_error *err);
/* After tl_job_run returned 0: the evaluation written into the folder's report.json (train: on the
 * test set, or the validation set when there is none, with the open-set metrics of --open; retrain:
 * without its "stage2" section), owned by j. NULL before. */
TL_API const tl_evaluation *tl_job_report(const tl_job *j);
/* After tl_job_run failed: the OUT.partial folder it kept on purpose (a training run with its
 * checkpoint: `tailor train --resume OUT` finishes it once the cause is fixed; a retrain with its new
 * model), owned by j; NULL when nothing was kept. */
TL_API const char *tl_job_kept(const tl_job *j);
/* The run folder's final name OUT (trailing slashes dropped), owned by j ("" before it is known:
 * retrain's before tl_job_run). */
TL_API const char *tl_job_folder(const tl_job *j);
/* Renames OUT.partial to OUT. On failure OUT.partial is kept whole and the message says why and how
 * to put it in place by hand. */
TL_API int tl_job_commit(tl_job *j, tl_error *err);
/* Releases the folder's lock and everything the job holds (NULL is harmless). */
TL_API void tl_job_free(tl_job *j);

/* ---- distillation chains (tailor distill) ----
 * A chain in folder DIR is generations DIR/gen-0 .. DIR/gen-G, each an ordinary run folder trained
 * with the one before as its --teacher (generation 0 alone, or given as --teacher), so a stopped chain
 * continues where it stopped. */

/* The run folder of generation g into folder (size bytes): DIR/gen-G. Returns 0 when it is still to
 * be trained, 1 when it was interrupted (DIR/gen-G.partial: `tailor train --resume` continues it), 2
 * when it is finished; -1 when the name does not fit. */
TL_API int tl_distill_generation(const char *dir, int g, char *folder, size_t size, tl_error *err);
/* Writes DIR/generations.md (atomically): one row per generation 0..generations with its report's
 * balanced accuracy, macro F1 and accuracy; generation 0 is the run folder gen0 (DIR/gen-0 or the
 * --teacher), the others DIR/gen-G. Fails naming a report that cannot be read. */
TL_API int tl_distill_summary(const char *dir, int generations, const char *gen0, tl_error *err);

/* ---- studies (tailor study) ----
 * A study runs a grid of candidates (stage-1 trainings, stage-2 methods on them, inference rules on
 * them) on one data set, chooses the best on the validation split alone, and only then reads the
 * test numbers (docs/cli.md, "Study"). Every candidate is a child process of the tailor command
 * writing its own folder under DIR/runs and DIR/val, so a study that stopped resumes where it
 * stopped. */

/* The most seeds per candidate (--seeds). */
#define TL_STUDY_MAX_SEEDS 16

typedef struct {
    const char *dir;           /* --out: the study folder (created when absent, its parent must exist) */
    const char *grid;          /* --grid: quick, standard (NULL), full, or a grid file */
    const char *metric;        /* --metric: the ranking metric (NULL: balanced_accuracy) */
    const char *constraint;    /* --constraint, e.g. "head>=0.9,tail>=0.6" (NULL or "": none) */
    const char *data;          /* --data: the data set (also among train_args); NULL: not given */
    long seeds, jobs, threads, budget, epochs, seed, val;  /* --seeds .. --val (budget 0: no halving) */
    int quiet;                 /* no progress lines */
    char **train_args;         /* [ntrain_args] the options every candidate's tailor train gets */
    int ntrain_args;
    const char *command;       /* the tailor program that runs the candidates (the command: /proc/self/exe) */
    const volatile int *cancel; /* may be NULL; when it becomes non-zero the running candidates get SIGINT */
} tl_study_settings;

/* Writes the candidates of grid (as tl_study_settings.grid) in the grid file syntax to out. Fails
 * naming the grid file and line at fault. */
TL_API int tl_study_list(const char *grid, FILE *out, tl_error *err);
/* Runs the study s: checks the settings (a validation split is required, the grid's train lines must
 * be valid train options), creates or resumes DIR (locked; a DIR made with other settings is
 * refused), runs the candidates (at most s->jobs at a time, each with threads / jobs threads),
 * writes DIR/study.json with the choice before any test number is read, then the test reports,
 * DIR/leaderboard.md, the figures and the link DIR/best. Progress lines go to log (NULL, or
 * s->quiet: none); the ranking table, the verdict and the winner go to out. Returns the command's
 * exit status: 0 when a candidate was chosen; 1 when a candidate failed (err names it, its grid line
 * and seed, with the last line of its log in DIR/logs) or none meets the constraint; 2 on bad
 * settings or folder (err); 130 when cancelled (err; the same call resumes the study). */
TL_API int tl_study_run(const tl_study_settings *s, FILE *out, FILE *log, tl_error *err);

/* The method tables as text (--help, docs/cli.md). */
#include "tailor/methods.h"

#ifdef __cplusplus
}
#endif
#endif
