/* Image folders in torchvision's ImageFolder layout: ROOT/<split>/<class>/<files, sub-folders...>,
 * and loose image files for prediction. Names are sorted with strcmp, so the class numbering and the
 * file order (which the long-tailed views cut by) are the same on every machine. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/error.h"
#include "data/dataset.h"

typedef struct { char **v; int n, cap; } strvec;

static int push(strvec *s, char *p) {
    if (!p) return -1;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        char **v = realloc(s->v, sizeof *v * (size_t)cap);
        if (!v) { free(p); return -1; }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = p;
    return 0;
}
static void strvec_free(strvec *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *join(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (p) sprintf(p, "%s/%s", dir, name);
    return p;
}

/* The entries of dir, sorted, without hidden ones (a name starting with '.': ".", "..", .DS_Store,
 * .ipynb_checkpoints, which would otherwise become a class or a skipped file); -1 names dir and the
 * reason. */
static int list_dir(strvec *out, const char *dir, tl_error *err) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return tl_fail(err, "%s: cannot open folder: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (push(out, strdup(e->d_name))) { closedir(d); strvec_free(out); return tl_fail(err, "out of memory listing %s", dir); }
    }
    closedir(d);
    if (out->n) qsort(out->v, (size_t)out->n, sizeof *out->v, by_name);
    return 0;
}

/* The folders from ROOT down to the one being read, to catch a symbolic link that loops back. */
typedef struct { dev_t dev; ino_t ino; } dir_id;
#define MAX_DEPTH 64

/* Appends every regular file under dir (recursively, sorted, following links) to files. */
static int walk(strvec *files, const char *dir, dir_id *up, int depth, tl_error *err) {
    strvec names;
    if (list_dir(&names, dir, err)) return -1;
    int rc = 0;
    for (int i = 0; i < names.n && !rc; i++) {
        char *p = join(dir, names.v[i]);
        struct stat st;
        if (!p) { rc = tl_fail(err, "out of memory"); break; }
        if (stat(p, &st)) {
            rc = tl_fail(err, "%s: %s", p, errno == ELOOP ? "symbolic link loop" : strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            for (int j = 0; j < depth; j++)
                if (up[j].dev == st.st_dev && up[j].ino == st.st_ino) rc = tl_fail(err, "%s: symbolic link loop (leads back to a folder above it)", p);
            if (!rc && depth + 1 >= MAX_DEPTH) rc = tl_fail(err, "%s: folders nested deeper than %d", p, MAX_DEPTH);
            if (!rc) {
                up[depth] = (dir_id){st.st_dev, st.st_ino};
                rc = walk(files, p, up, depth + 1, err);
            }
        } else if (S_ISREG(st.st_mode)) {
            if (push(files, p)) rc = tl_fail(err, "out of memory");
            p = NULL;
        }
        free(p);
    }
    strvec_free(&names);
    return rc;
}

static int walk_root(strvec *files, const char *dir, tl_error *err) {
    dir_id up[MAX_DEPTH];
    struct stat st;
    if (stat(dir, &st)) return tl_fail(err, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return tl_fail(err, "%s: not a folder", dir);
    up[0] = (dir_id){st.st_dev, st.st_ino};
    return walk(files, dir, up, 1, err);
}

int tl_folder_load(tl_dataset *train, tl_dataset *test, tl_dataset *val, const char *root, int *skipped, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(val, 0, sizeof *val);
    static const char *const split_name[3] = {"train", "test", "val"};
    char *split_dir[3] = {NULL, NULL, NULL};
    strvec classes = {0}, files = {0};
    int *labels = NULL, nsplit[3] = {0, 0, 0}, nsplits = 2, rc = -1, skip = 0;
    for (int s = 0; s < 3; s++)
        if (!(split_dir[s] = join(root, split_name[s]))) { tl_fail(err, "out of memory"); goto out; }
    struct stat st;
    if (stat(root, &st) || !S_ISDIR(st.st_mode)) { tl_fail(err, "folder:%s: not a folder", root); goto out; }
    if (stat(split_dir[0], &st) || !S_ISDIR(st.st_mode) || stat(split_dir[1], &st) || !S_ISDIR(st.st_mode)) {
        tl_fail(err, "folder:%s: expected the sub-folders train/ and test/ (and optionally val/), each with one folder per class", root);
        goto out;
    }
    if (stat(split_dir[2], &st) == 0 && S_ISDIR(st.st_mode)) nsplits = 3;
    /* The classes: the sub-folders of train/, in sorted order. */
    strvec entries;
    if (list_dir(&entries, split_dir[0], err)) goto out;
    for (int i = 0; i < entries.n; i++) {
        char *p = join(split_dir[0], entries.v[i]);
        int is_dir = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        if (is_dir && push(&classes, strdup(entries.v[i]))) { strvec_free(&entries); tl_fail(err, "out of memory"); goto out; }
    }
    strvec_free(&entries);
    if (classes.n == 0) { tl_fail(err, "%s: no class folders", split_dir[0]); goto out; }
    if (classes.n > TL_DATA_MAX_CLASSES) { tl_fail(err, "%s: %d class folders, over the limit of %d", split_dir[0], classes.n, TL_DATA_MAX_CLASSES); goto out; }
    int cap = 0;
    for (int s = 0; s < nsplits; s++) {
        /* A class folder of another split must be one of train/'s. */
        strvec sub;
        if (list_dir(&sub, split_dir[s], err)) goto out;
        for (int i = 0; i < sub.n; i++) {
            char *p = join(split_dir[s], sub.v[i]);
            int is_dir = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
            free(p);
            if (is_dir && !bsearch(&sub.v[i], classes.v, (size_t)classes.n, sizeof *classes.v, by_name)) {
                tl_fail(err, "%s/%s: class '%s' has no folder in %s", split_dir[s], sub.v[i], sub.v[i], split_dir[0]);
                strvec_free(&sub);
                goto out;
            }
        }
        strvec_free(&sub);
        for (int k = 0; k < classes.n; k++) {
            char *cdir = join(split_dir[s], classes.v[k]);
            if (!cdir) { tl_fail(err, "out of memory"); goto out; }
            int before = files.n, missing = stat(cdir, &st) != 0;
            int r = missing ? 0 : walk_root(&files, cdir, err);
            free(cdir);
            if (r) goto out;
            if (s == 0 && files.n == before) {
                tl_fail(err, "%s/%s: the class folder holds no files", split_dir[0], classes.v[k]);
                goto out;
            }
            if (files.n > cap) {
                cap = files.n + 1024;
                int *l = realloc(labels, sizeof *l * (size_t)cap);
                if (!l) { tl_fail(err, "out of memory"); goto out; }
                labels = l;
            }
            for (int i = before; i < files.n; i++) labels[i] = k;
            nsplit[s] += files.n - before;
        }
        if (nsplit[s] == 0) { tl_fail(err, "%s: no image files in any class folder", split_dir[s]); goto out; }
    }
    tl_dataset *split[3] = {train, test, val};
    char **paths = files.v;
    files = (strvec){0};
    if (!labels) labels = malloc(sizeof *labels);
    rc = tl_images_from_paths(split, nsplit, nsplits, paths, labels, classes.n, &skip, err);
    if (skipped) *skipped = skip;
    /* After dropping non-images, a class may be left without training images. */
    int *count = rc ? NULL : calloc((size_t)classes.n, sizeof *count);
    if (!rc && !count) rc = tl_fail(err, "out of memory");
    if (!rc) {
        for (int i = 0; i < train->n; i++) count[train->y[i]]++;
        for (int k = 0; k < classes.n && !rc; k++)
            if (!count[k]) rc = tl_fail(err, "%s/%s: the class folder holds no PNG or JPEG image", split_dir[0], classes.v[k]);
        for (int s = 1; s < nsplits && !rc; s++)
            if (split[s]->n == 0) rc = tl_fail(err, "%s: no PNG or JPEG image in any class folder", split_dir[s]);
    }
    free(count);
    if (!rc) {
        train->class_names = classes.v;
        classes = (strvec){0};
        for (int s = 1; s < nsplits && !rc; s++) rc = tl_dataset_copy_names(split[s], train, err);
    }
    if (rc) for (int s = 0; s < 3; s++) tl_dataset_free(split[s]);
out:
    for (int s = 0; s < 3; s++) free(split_dir[s]);
    strvec_free(&classes);
    strvec_free(&files);
    free(labels);
    return rc;
}

int tl_image_files_load(tl_dataset *d, const char *path, int *skipped, tl_error *err) {
    memset(d, 0, sizeof *d);
    struct stat st;
    strvec files = {0};
    if (stat(path, &st)) return tl_fail(err, "%s: %s", path, strerror(errno));
    int single = !S_ISDIR(st.st_mode);
    if (single ? push(&files, strdup(path)) : walk_root(&files, path, err)) {
        strvec_free(&files);
        return single ? tl_fail(err, "out of memory") : -1;
    }
    if (files.n == 0) { strvec_free(&files); return tl_fail(err, "%s: the folder holds no files", path); }
    int *labels = calloc((size_t)files.n, sizeof *labels), n = files.n, skip = 0;
    if (!labels) { strvec_free(&files); return tl_fail(err, "out of memory"); }
    tl_dataset *split[1] = {d};
    int rc = tl_images_from_paths(split, &n, 1, files.v, labels, 1, single ? NULL : &skip, err);
    free(labels);
    if (skipped) *skipped = skip;
    if (!rc && d->n == 0) { tl_dataset_free(d); rc = tl_fail(err, "%s: no PNG or JPEG image in the folder", path); }
    return rc;
}
