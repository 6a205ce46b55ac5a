#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/common.h"
#include "core/error.h"
#include "eval/plot.h"
#include "eval/report.h"
#include "losses/softmax.h"
#include "train/trainer.h"

int tl_bundle_load(tl_data_bundle *b, const char *data, const char *lt, long val, tl_error *err) {
    return tl_bundle_load_open(b, data, lt, val, "", err);
}

/* Replaces *d by its known-class rows (relabelled); the held-out rows go to unknown (NULL: dropped). */
static int keep_known(tl_dataset *d, const tl_open *op, tl_dataset *unknown, tl_error *err) {
    tl_dataset known;
    if (tl_open_split(d, op, &known, unknown, err)) return -1;
    tl_dataset_free(d);
    *d = known;
    return 0;
}

/* Every class (but the held-out ones) must have training rows: a label that skips values (0 and
 * 99999, a class only in the test set) is a fault of the data, not of the long-tailed view. */
static int check_classes(const tl_dataset *train, const tl_dataset *test, const tl_open *op, const char *data,
                         tl_error *err) {
    int C = train->num_classes, *counts = calloc((size_t)(C ? C : 1), sizeof *counts), empty = 0, first = -1;
    if (!counts) return tl_fail(err, "out of memory");
    tl_class_counts(train, counts);
    for (int c = 0; c < C; c++) {
        int held = 0;
        for (int i = 0; i < op->n; i++) held |= op->classes[i] == c;
        if (!counts[c] && !held && empty++ == 0) first = c;
    }
    free(counts);
    if (!empty) return 0;
    int tmax = -1, emax = -1;
    for (int i = 0; i < train->n; i++) if (train->y[i] > tmax) tmax = train->y[i];
    for (int i = 0; i < test->n; i++) if (test->y[i] > emax) emax = test->y[i];
    const char *name = train->class_names ? train->class_names[first] : NULL;
    return tl_fail(err, "--data %s: class %d%s%s%s has no training rows (%d of the %d classes have none): labels must be "
                   "0..C-1 with every class in the training set, or text; the largest label, %d, is in the %s set",
                   data, first, name ? " ('" : "", name ? name : "", name ? "')" : "", empty, C, C - 1,
                   emax > tmax ? "test" : "training");
}

int tl_bundle_load_open(tl_data_bundle *b, const char *data, const char *lt, long val, const char *open, tl_error *err) {
    memset(b, 0, sizeof *b);
    tl_dataset full, shipped;
    tl_view v;
    if (tl_view_parse(lt, &v, err)) return tl_fail_prefix(err, "--lt");
    if (tl_open_parse(&b->open, open, err)) return -1;
    if (tl_data_load(data, &full, &b->test, &shipped, &b->skipped, err)) return -1;
    int rc = check_classes(&full, &b->test, &b->open, data, err);
    if (!rc && shipped.n && val > 0)
        rc = tl_fail(err, "--val %ld: --data %s ships its own validation split (a val folder or list); leave --val out", val, data);
    if (!rc && shipped.n && b->open.n) rc = keep_known(&shipped, &b->open, NULL, err);
    if (!rc && b->open.n) {
        int C = full.num_classes;
        if (b->test.n == 0) rc = tl_fail(err, "--open %s: --data %s has no test set to hold the unknown classes", open, data);
        if (!rc) rc = keep_known(&full, &b->open, NULL, err) || keep_known(&b->test, &b->open, &b->unknown, err);
        if (!rc && b->unknown.n == 0) rc = tl_fail(err, "--open %s: the test set has no image of these classes", open);
        if (!rc && !(b->known_classes = malloc((size_t)C * sizeof *b->known_classes))) rc = tl_fail(err, "out of memory");
        if (!rc) tl_open_known(b->known_classes, &b->open, C);
    }
    if (!rc) rc = tl_view_apply(&full, &v, (int)val, &b->train, val ? &b->val : NULL, err);
    tl_dataset_free(&full);
    if (!rc && shipped.n) { b->val = shipped; shipped = (tl_dataset){0}; }
    tl_dataset_free(&shipped);
    if (rc) { tl_bundle_free(b); return -1; }
    int C = b->train.num_classes, *counts = malloc((size_t)C * sizeof *counts);
    b->train_count = malloc((size_t)C * sizeof *b->train_count);
    if (!counts || !b->train_count) { free(counts); tl_bundle_free(b); return tl_fail(err, "out of memory"); }
    tl_class_counts(&b->train, counts);
    for (int c = 0; c < C; c++) b->train_count[c] = counts[c];
    free(counts);
    return 0;
}

void tl_bundle_free(tl_data_bundle *b) {
    tl_dataset_free(&b->train);
    tl_dataset_free(&b->val);
    tl_dataset_free(&b->test);
    tl_dataset_free(&b->unknown);
    free(b->train_count);
    free(b->known_classes);
    memset(b, 0, sizeof *b);
}

/* An option of the run, or def when its table has no such option or it is unset. */
static const char *opt_or(const tl_opts *o, const char *name, const char *def) {
    const char *v = tl_opt(o, name);
    return v && *v ? v : def;
}

/* The transform of option `name` (value `spec`, "default" replaced by `def`), checked against images
 * of in_h x in_w (0 x 0: of many sizes); *h, *w its output size. */
static int input_transform(tl_transform *t, const char *name, const char *spec, const char *def, int images, int in_h,
                           int in_w, int *h, int *w, tl_error *err) {
    char option[40];
    snprintf(option, sizeof option, "--%s", name);
    if (!strcmp(spec, "default")) spec = def;
    if (tl_transform_parse(t, spec, option, err)) return -1;
    if (!images && t->n) return tl_fail(err, "%s %s: transforms need image data; this data set has feature rows", option, spec);
    int fixed = tl_transform_out_size(t, in_h ? in_h : 1, in_w ? in_w : 1, h, w);
    if (images && !in_h && !fixed)
        return tl_fail(err, "%s %s: the images come in many sizes, so the transforms must end in a crop of one size "
                            "(center-crop:size=S or random-resized-crop:size=S)", option, t->text);
    return 0;
}

/* --channels: 1 or 3, or "" for the data's own (image files: 3 when at least half of the training
 * images are in colour, else 1). */
static int input_channels(const tl_opts *o, const tl_dataset *train, int *c, tl_error *err) {
    const char *v = opt_or(o, "channels", "");
    if (*v) {
        if (strcmp(v, "1") && strcmp(v, "3")) return tl_fail(err, "--channels %s: must be 1 or 3", v);
        *c = *v - '0';
        return 0;
    }
    *c = train->c;
    if (!train->images || tl_images_info(train->images, 0) == NULL) return 0;
    int colour = 0;
    for (int i = 0; i < train->n; i++) colour += tl_images_info(train->images, train->file[i])->c == 3;
    *c = 2 * colour >= train->n ? 3 : 1;
    return 0;
}

/* The collections of a bundle (train and test may have their own; val and unknown share one). */
static int configure_images(tl_data_bundle *b, int c, int side, int64_t cache, tl_error *err) {
    tl_dataset *sets[4] = {&b->train, &b->val, &b->test, &b->unknown};
    for (int i = 0; i < 4; i++) {
        if (!sets[i]->images) continue;
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= sets[j]->images == sets[i]->images;
        if (!seen && tl_images_configure(sets[i]->images, c, side, cache, err)) return -1;
        sets[i]->c = c;
    }
    return 0;
}

static int64_t default_cache_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (int64_t)pages * page / 4 : (int64_t)1 << 30;
}

/* Resolves the transforms for images of in_h x in_w (0: many sizes), `images` when there are images. */
static int input_resolve(tl_input *in, const tl_opts *o, int images, int in_h, int in_w, int c, tl_error *err) {
    long size = 0;
    if (*opt_or(o, "size", "") && tl_opt_int(o, "size", 8, 4096, &size, err)) return -1;
    if (images && !in_h && !size) size = 224;
    char aug[200] = "none", eval[200] = "none";
    if (images && in_h) {
        snprintf(aug, sizeof aug, size ? "resize:size=%ld,crop,flip" : "crop,flip", size);
        if (size) snprintf(eval, sizeof eval, "resize:size=%ld", size);
    } else if (images) {
        snprintf(aug, sizeof aug, "random-resized-crop:size=%ld,flip", size);
        snprintf(eval, sizeof eval, "resize:size=%ld,center-crop:size=%ld", (size * 256 + 112) / 224, size);
    }
    int ah, aw;
    if (input_transform(&in->aug, "augment", opt_or(o, "augment", "default"), aug, images, in_h, in_w, &ah, &aw, err) ||
        input_transform(&in->eval, "eval-transform", opt_or(o, "eval-transform", "default"), eval, images, in_h, in_w,
                        &in->h, &in->w, err))
        return -1;
    if (tl_transform_is_random(&in->eval))
        return tl_fail(err, "--eval-transform %s: evaluation must be deterministic; random items (flip, crop, "
                            "random-resized-crop, color-jitter) belong in --augment", in->eval.text);
    if (images && (ah != in->h || aw != in->w))
        return tl_fail(err, "--augment %s gives %dx%d images but --eval-transform %s gives %dx%d; the model takes one size",
                       in->aug.text, ah, aw, in->eval.text, in->h, in->w);
    in->c = c;
    return 0;
}

int tl_bundle_input(tl_data_bundle *b, const tl_opts *o, tl_error *err) {
    tl_dataset *tr = &b->train;
    int c = 0, images = tr->images != NULL;
    if (input_channels(o, tr, &c, err)) return -1;
    if (!images) {
        static const char *const image_only[] = {"channels", "size"};
        for (int i = 0; i < 2; i++)
            if (*opt_or(o, image_only[i], ""))
                return tl_fail(err, "--%s %s: only image data has it; this data set has feature rows", image_only[i],
                               tl_opt(o, image_only[i]));
        c = tr->c;
        if (input_resolve(&b->input, o, 0, tr->h, tr->w, c, err)) return -1;
        b->input.h = tr->h;
        b->input.w = tr->w;
        return 0;
    }
    if (input_resolve(&b->input, o, 1, tr->h, tr->w, c, err)) return -1;
    long mb = -1;
    if (*opt_or(o, "cache-mb", "") && tl_opt_int(o, "cache-mb", 0, 1L << 30, &mb, err)) return -1;
    int sa = tl_transform_load_side(&b->input.aug), se = tl_transform_load_side(&b->input.eval);
    int side = sa && se ? (sa > se ? sa : se) : 0;
    if (configure_images(b, c, side, mb < 0 ? default_cache_bytes() : (int64_t)mb << 20, err)) return -1;
    tl_dataset *sets[4] = {&b->train, &b->val, &b->test, &b->unknown};
    for (int i = 0; i < 4; i++) sets[i]->eval_tf = &b->input.eval;
    return 0;
}

int tl_input_for_predict(tl_input *input, tl_dataset *d, const tl_opts *run, int c, int h, int w, tl_error *err) {
    memset(input, 0, sizeof *input);
    input->c = c; input->h = h; input->w = w;
    if (!d->images) return 0;
    /* config.json holds the resolved transform; "default" only in runs made before it did, on
     * fixed-size images whose evaluation transform was none. */
    const char *spec = opt_or(run, "eval-transform", "default");
    if (tl_transform_parse(&input->eval, strcmp(spec, "default") ? spec : "none", "--eval-transform", err) ||
        tl_images_configure(d->images, c, tl_transform_load_side(&input->eval), 0, err))
        return -1;
    d->c = c;
    d->eval_tf = &input->eval;
    return 0;
}

int tl_mkdir_new(const char *path, const char *option, tl_error *err) {
    if (mkdir(path, 0777) == 0) return 0;
    if (errno == EEXIST) return tl_fail(err, "%s %s: already exists", option, path);
    return tl_fail(err, "%s %s: cannot create: %s", option, path, strerror(errno));
}

int tl_run_check(const char *dir, tl_error *err) {
    struct stat st;
    if (!*dir) return tl_fail(err, "--run '': empty path (name a finished run folder)");
    if (stat(dir, &st) != 0) return tl_fail(err, "--run %s: no such run folder (%s)", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return tl_fail(err, "--run %s: not a folder (give the run folder, not a file in it)", dir);
    return 0;
}

int tl_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void tl_rmdir_files(const char *path) {
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    char p[4200];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) < sizeof p)
            unlink(p);
    closedir(d);
    rmdir(path);
}

/* The open-set metrics of an --open bundle: scores of the known test images d, of b->unknown and
 * (for the threshold) of b->val. */
static int evaluate_open(tl_openset_report *r, tl_model *m, const tl_data_bundle *b, const tl_dataset *d,
                         const float *mean, const float *std, tl_error *err) {
    const tl_dataset *u = &b->unknown, *v = &b->val;
    float *sk = malloc((size_t)d->n * sizeof *sk), *su = malloc((size_t)u->n * sizeof *su);
    float *sv = malloc((size_t)(v->n ? v->n : 1) * sizeof *sv);
    int *pk = malloc((size_t)d->n * sizeof *pk), *pu = malloc((size_t)u->n * sizeof *pu);
    int rc = sk && su && sv && pk && pu ? 0 : tl_fail(err, "out of memory");
    if (!rc) rc = tl_openset_predict(m, d, mean, std, sk, pk, err) || tl_openset_predict(m, u, mean, std, su, pu, err);
    double threshold = NAN;
    if (!rc && v->n > 0) {
        rc = tl_openset_predict(m, v, mean, std, sv, NULL, err);
        threshold = tl_openset_threshold(sv, v->n, TL_OPENSET_ACCEPT);
    }
    if (!rc) rc = tl_openset_compute(&r->metrics, d->y, pk, sk, d->n, pu, su, u->n, m->cfg.num_classes, threshold, err);
    r->nunknown = b->open.n;
    r->unknown_classes = b->open.classes;
    r->nknown = m->cfg.num_classes;
    r->known_classes = b->known_classes;
    r->names = (const char *const *)u->class_names;
    free(sk); free(su); free(sv); free(pk); free(pu);
    return rc ? -1 : 0;
}

/* The report of m on d (after the inference rule, when given); with an --open bundle b (else NULL)
 * the open-set metrics too. */
static int evaluate(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                    const tl_data_bundle *b, const tl_posthoc *rule, const char *dir, const tl_opts *o,
                    double train_seconds, double images_per_second, tl_metrics *out, tl_openset_report *open_out,
                    tl_error *err) {
    int C = m->cfg.num_classes;
    float *probs = malloc((size_t)d->n * C * sizeof *probs);
    float *logits = rule ? malloc((size_t)d->n * C * sizeof *logits + 1) : NULL;
    int *pred = malloc((size_t)d->n * sizeof *pred);
    int rc = probs && pred && (logits || !rule) ? 0 : tl_fail(err, "out of memory");
    if (!rc && rule) rc = tl_posthoc_bind(rule, m, err);
    if (!rc) rc = tl_predict(m, d, mean, std, logits, rule ? NULL : probs, pred, err);
    if (!rc && rule) {
        /* Predictions and probabilities of the adjusted logits (methods.md §3.7, §14.2). */
        tl_posthoc_apply(rule, logits, d->n);
        tl_softmax(probs, logits, d->n, C);
        for (int i = 0; i < d->n; i++) {
            const float *z = logits + (size_t)i * C;
            int best = 0;
            for (int j = 1; j < C; j++) if (z[j] > z[best]) best = j;
            pred[i] = best;
        }
    }
    free(logits);
    if (!rc) rc = tl_metrics_init(out, C, err);
    if (!rc) rc = tl_metrics_compute(out, d->y, pred, probs, train_count, d->n, err);
    free(probs);
    free(pred);
    if (rc) return -1;
    tl_report_info info;
    tl_report_info_init(&info);
    tl_openset_report open;
    if (b && b->open.n) {
        if (evaluate_open(&open, m, b, d, mean, std, err)) { tl_metrics_free(out); return -1; }
        info.open_set = &open;
        if (open_out) *open_out = open;
    }
    long seed = 0, threads = 1;
    if (tl_opt(o, "seed")) seed = strtol(tl_opt(o, "seed"), NULL, 10);
    if (tl_opt(o, "threads")) threads = strtol(tl_opt(o, "threads"), NULL, 10);
    info.seed = (uint64_t)seed;
    info.threads = (int)threads;
    info.train_seconds = train_seconds;
    info.images_per_second = images_per_second;
    for (int i = 0; i < o->n && rc == 0; i++)
        if (o->defs[i].in_config && strcmp(o->defs[i].name, "seed") && strcmp(o->defs[i].name, "threads"))
            rc = tl_report_info_set(&info, o->defs[i].name, o->value[i], err);
    if (!rc && rule) rc = tl_report_info_set(&info, "posthoc", rule->text, err);
    char sweep[TL_POSTHOC_SWEEP * 24 + 16];   /* tau=auto, alpha=auto: every value tried on validation */
    if (!rc && rule && rule->nsweep) {
        tl_posthoc_sweep_text(rule, sweep, sizeof sweep);
        rc = tl_report_info_set(&info, "posthoc_sweep", sweep, err);
    }
    if (!rc && b && d == &b->val) rc = tl_report_info_set(&info, "split", "val", err);
    const char *const *names = (const char *const *)d->class_names;
    char path[4200];
    if (!rc) rc = tl_report_write(dir, out, names, &info, err);
    if (!rc) rc = tl_path_join(path, sizeof path, dir, "per_class_accuracy.png", err);
    if (!rc) rc = tl_plot_per_class(path, out, names, "Per-class test accuracy vs training count", err);
    if (!rc) rc = tl_path_join(path, sizeof path, dir, "confusion.png", err);
    if (!rc) rc = tl_plot_confusion(path, out, names, "Confusion matrix (row-normalised)", err);
    if (rc) tl_metrics_free(out);
    return rc;
}

int tl_evaluate_to_dir(tl_model *m, const tl_dataset *d, const float *mean, const float *std, const int64_t *train_count,
                       const char *dir, const tl_opts *o, const tl_posthoc *rule, double train_seconds,
                       double images_per_second, tl_metrics *out, tl_error *err) {
    return evaluate(m, d, mean, std, train_count, NULL, rule, dir, o, train_seconds, images_per_second, out, NULL, err);
}

int tl_evaluate_open_to_dir(tl_model *m, const tl_data_bundle *b, const tl_dataset *d, const float *mean,
                            const float *std, const char *dir, const tl_opts *o, const tl_posthoc *rule,
                            double train_seconds, double images_per_second, tl_metrics *out,
                            tl_openset_report *open_out, tl_error *err) {
    return evaluate(m, d, mean, std, b->train_count, b, rule, dir, o, train_seconds, images_per_second, out, open_out,
                    err);
}
