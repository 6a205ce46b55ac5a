/* CIFAR binary version: fixed-size records, no header.
 * CIFAR-10:  <label u8> <3072 u8: 1024 R, 1024 G, 1024 B, each 32x32 row-major>  (3073 bytes)
 * CIFAR-100: <coarse u8> <fine u8> <3072 u8>  (3074 bytes); tailor uses the fine label. */
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

#define CIFAR_PIXELS 3072

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                              "dog", "frog", "horse", "ship", "truck"};

int tl_cifar_load(tl_dataset *d, const char *const *paths, int npaths, int num_classes, tl_error *err) {
    memset(d, 0, sizeof *d);
    if (num_classes != 10 && num_classes != 100) return tl_fail(err, "CIFAR: num_classes must be 10 or 100, not %d", num_classes);
    int lab_bytes = num_classes == 10 ? 1 : 2, rec = lab_bytes + CIFAR_PIXELS;
    unsigned char **bufs = calloc((size_t)npaths, sizeof *bufs);
    int64_t *lens = calloc((size_t)npaths, sizeof *lens);
    int rc = -1;
    if (!bufs || !lens) { tl_fail(err, "CIFAR: out of memory"); goto out; }
    /* Read and validate every file before allocating the images. */
    int64_t total = 0;
    for (int f = 0; f < npaths; f++) {
        if (tl_file_read(&bufs[f], &lens[f], paths[f], err)) goto out;
        if (lens[f] == 0 || lens[f] % rec) {
            tl_fail(err, "%s: truncated or not a CIFAR-%d binary file (%lld bytes is not a whole number of %d-byte records)",
                    paths[f], num_classes, (long long)lens[f], rec);
            goto out;
        }
        for (int64_t r = 0; r < lens[f] / rec; r++) {
            int lab = bufs[f][r * rec + lab_bytes - 1];
            if (lab >= num_classes) {
                tl_fail(err, "%s: label %d of record %lld is out of range (0..%d)", paths[f], lab, (long long)r, num_classes - 1);
                goto out;
            }
        }
        total += lens[f] / rec;
    }
    if (total * CIFAR_PIXELS >= TL_DATA_MAX_VALUES) { tl_fail(err, "%s: too many CIFAR records (%lld)", paths[0], (long long)total); goto out; }
    uint8_t *block;
    tl_images *im = tl_images_memory((int)total, 32, 32, 3, &block);
    if (!im) { tl_fail(err, "%s: out of memory for %lld images", paths[0], (long long)total); goto out; }
    rc = tl_dataset_alloc_images(d, im, (int)total, num_classes, paths[0], err);
    tl_images_unref(im);
    if (rc) goto out;
    int i = 0;
    for (int f = 0; f < npaths; f++)
        for (int64_t r = 0; r < lens[f] / rec; r++, i++) {
            const unsigned char *p = bufs[f] + r * rec;
            d->y[i] = p[lab_bytes - 1];
            /* the record's colour planes to an interleaved (HWC) image */
            uint8_t *x = block + (size_t)i * CIFAR_PIXELS;
            for (int j = 0; j < 1024; j++)
                for (int ch = 0; ch < 3; ch++) x[3 * j + ch] = p[lab_bytes + ch * 1024 + j];
        }
out:
    for (int f = 0; bufs && f < npaths; f++) free(bufs[f]);
    free(bufs);
    free(lens);
    return rc;
}

static int load_pair(tl_dataset *train, tl_dataset *test, const char *dir, const char *const *train_names, int ntrain,
                     const char *test_name, int num_classes, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char tp[6][4096], ep[4096];
    const char *tptr[6];
    for (int f = 0; f < ntrain; f++) {
        if (tl_path_join(tp[f], sizeof tp[f], dir, train_names[f], err)) return -1;
        tptr[f] = tp[f];
    }
    if (tl_path_join(ep, sizeof ep, dir, test_name, err)) return -1;
    const char *eptr = ep;
    if (tl_cifar_load(train, tptr, ntrain, num_classes, err)) return -1;
    if (tl_cifar_load(test, &eptr, 1, num_classes, err)) { tl_dataset_free(train); return -1; }
    return 0;
}

/* Sets names on both sets (copies), from a file in dir when present, else from `fallback` (may be NULL). */
static int set_names(tl_dataset *train, tl_dataset *test, const char *dir, const char *file,
                     const char *const *fallback, tl_error *err) {
    char p[4096];
    if (tl_path_join(p, sizeof p, dir, file, err)) return -1;
    char **names = tl_file_read_names(p, train->num_classes);
    if (!names && fallback) {
        names = calloc((size_t)train->num_classes, sizeof *names);
        for (int k = 0; names && k < train->num_classes; k++) names[k] = strdup(fallback[k]);
    }
    if (!names) return 0;
    train->class_names = names;
    return tl_dataset_copy_names(test, train, err);
}

int tl_cifar10_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err) {
    static const char *const tn[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                      "data_batch_4.bin", "data_batch_5.bin"};
    if (load_pair(train, test, dir, tn, 5, "test_batch.bin", 10, err)) return -1;
    if (set_names(train, test, dir, "batches.meta.txt", cifar10_names, err)) {
        tl_dataset_free(train); tl_dataset_free(test);
        return -1;
    }
    return 0;
}

int tl_cifar100_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err) {
    static const char *const tn[1] = {"train.bin"};
    if (load_pair(train, test, dir, tn, 1, "test.bin", 100, err)) return -1;
    if (set_names(train, test, dir, "fine_label_names.txt", NULL, err)) {
        tl_dataset_free(train); tl_dataset_free(test);
        return -1;
    }
    return 0;
}
