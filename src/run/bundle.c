#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "run/bundle.h"
#include "core/dist.h"
#include "core/error.h"

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
int tl_bundle_check_classes(const tl_dataset *train, const tl_dataset *test, const tl_open *op, const char *data,
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
    tl_dataset full, test, shipped;
    tl_view v;
    if (tl_view_parse(lt, &v, err)) return tl_fail_prefix(err, "--lt");
    if (tl_open_parse(&b->open, open, err)) return -1;
    if (tl_data_load(data, &full, &test, &shipped, &b->skipped, err)) return -1;
    int skipped = b->skipped;
    int rc = tl_bundle_from_sets(b, &full, &test, &shipped, data, lt, val, open, err);
    b->skipped = skipped;
    return rc;
}

/* The sizes of the files a data spec names (KIND:A,B,...; a folder: of the files directly in it),
 * summed: the cheap part of telling two copies of a data set apart. */
static int64_t spec_bytes(const char *data) {
    const char *p = strchr(data, ':');
    int64_t sum = 0;
    struct stat st;
    char path[4200];
    for (p = p ? p + 1 : data; *p;) {
        size_t len = strcspn(p, ",");
        if (len < sizeof path - 300 && snprintf(path, sizeof path, "%.*s", (int)len, p) && stat(path, &st) == 0) {
            if (S_ISREG(st.st_mode)) sum += st.st_size;
            DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
            char file[4600];
            for (struct dirent *e; d && (e = readdir(d));)
                if ((size_t)snprintf(file, sizeof file, "%s/%s", path, e->d_name) < sizeof file && stat(file, &st) == 0 &&
                    S_ISREG(st.st_mode))
                    sum += st.st_size;
            if (d) closedir(d);
        }
        p += len + (p[len] == ',');
    }
    return sum;
}

/* Every rank of an MPI job must see the same data (a copy per machine may differ): the sizes of the
 * --data files, the class counts of each split of the view, and the training labels in order. */
static int same_data(const tl_data_bundle *b, const char *data, tl_error *err) {
    if (tl_dist_size() == 1) return 0;
    int64_t size = spec_bytes(data);
    const tl_dataset *split[4] = {&b->train, &b->val, &b->test, &b->unknown};
    int C = b->train.num_classes, *counts = calloc(4 * ((size_t)C + 1), sizeof *counts);
    if (!counts) return tl_fail(err, "out of memory");
    for (int s = 0; s < 4; s++) {
        counts[s * (C + 1)] = split[s]->n;
        if (split[s]->n && split[s] != &b->unknown) tl_class_counts(split[s], counts + s * (C + 1) + 1);
    }
    char what[4][160];
    snprintf(what[0], sizeof what[0], "file sizes of --data %.100s", data);
    snprintf(what[1], sizeof what[1], "class counts of the view of --data %.100s (--lt, --val, --open)", data);
    snprintf(what[2], sizeof what[2], "training labels of --data %.100s", data);
    int rc = tl_dist_same(&size, sizeof size, what[0], err) ||
             tl_dist_same(counts, 4 * ((size_t)C + 1) * sizeof *counts, what[1], err) ||
             tl_dist_same(b->train.y, (size_t)b->train.n * sizeof *b->train.y, what[2], err);
    free(counts);
    return rc ? -1 : 0;
}

int tl_bundle_from_sets(tl_data_bundle *b, tl_dataset *full, tl_dataset *test, tl_dataset *shipped, const char *data,
                        const char *lt, long val, const char *open, tl_error *err) {
    memset(b, 0, sizeof *b);
    b->test = *test;
    *test = (tl_dataset){0};
    tl_view v;
    int rc = tl_view_parse(lt, &v, err) ? tl_fail_prefix(err, "--lt") : 0;
    if (!rc) rc = tl_open_parse(&b->open, open, err);
    if (!rc) rc = tl_bundle_check_classes(full, &b->test, &b->open, data, err);
    if (!rc && shipped->n && val > 0)
        rc = tl_fail(err, "--val %ld: --data %s ships its own validation split (a val folder or list); leave --val out", val, data);
    if (!rc && shipped->n && b->open.n) rc = keep_known(shipped, &b->open, NULL, err);
    if (!rc && b->open.n) {
        int C = full->num_classes;
        if (b->test.n == 0) rc = tl_fail(err, "--open %s: --data %s has no test set to hold the unknown classes", open, data);
        if (!rc) rc = keep_known(full, &b->open, NULL, err) || keep_known(&b->test, &b->open, &b->unknown, err);
        if (!rc && b->unknown.n == 0) rc = tl_fail(err, "--open %s: the test set has no image of these classes", open);
        if (!rc && !(b->known_classes = malloc((size_t)C * sizeof *b->known_classes))) rc = tl_fail(err, "out of memory");
        if (!rc) tl_open_known(b->known_classes, &b->open, C);
    }
    if (!rc) rc = tl_view_apply(full, &v, (int)val, &b->train, val ? &b->val : NULL, err);
    tl_dataset_free(full);
    if (!rc && shipped->n) { b->val = *shipped; *shipped = (tl_dataset){0}; }
    tl_dataset_free(shipped);
    if (tl_dist_agree(rc, "loading --data", err)) { tl_bundle_free(b); return -1; }
    if (tl_bundle_count(b, err)) return -1;
    if (same_data(b, data, err)) { tl_bundle_free(b); return -1; }
    return 0;
}

int tl_bundle_count(tl_data_bundle *b, tl_error *err) {
    int C = b->train.num_classes, *counts = malloc((size_t)(C ? C : 1) * sizeof *counts);
    free(b->train_count);
    b->train_count = malloc((size_t)(C ? C : 1) * sizeof *b->train_count);
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
    if (!tl_dist_writes()) return 0;  /* only rank 0 writes files */
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
    DIR *d = tl_dist_writes() ? opendir(path) : NULL;
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
