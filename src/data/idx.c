/* IDX files (the MNIST / Fashion-MNIST format): a big-endian header
 *   0x00 0x00 <type 0x08 = u8> <ndims>, then ndims u32 sizes, then the data,
 * images with ndims = 3 [n, rows, cols], labels with ndims = 1 [n]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads path and validates its header against ndims and the real content size. On success *buf owns
 * the whole content, dims[0..ndims) are the sizes and the payload starts at *buf + 4 + 4*ndims. */
static int idx_read(unsigned char **buf, uint32_t *dims, const char *path, int ndims, tl_error *err) {
    int64_t len;
    if (tl_file_read(buf, &len, path, err)) return -1;
    const unsigned char *b = *buf;
    const char *kind = ndims == 3 ? "images" : "labels";
    uint32_t want = 0x0800u | (uint32_t)ndims;
    int rc = -1;
    if (len < 4) { tl_fail(err, "%s: truncated file (%lld bytes, shorter than an IDX header)", path, (long long)len); goto out; }
    uint32_t magic = be32(b);
    if (magic != want) {
        tl_fail(err, "%s: wrong IDX magic 0x%08x (expected 0x%08x for u8 %s)", path, magic, want, kind);
        goto out;
    }
    int64_t head = 4 + 4 * (int64_t)ndims;
    if (len < head) { tl_fail(err, "%s: truncated IDX header (%lld of %lld bytes)", path, (long long)len, (long long)head); goto out; }
    uint64_t count = 1;
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(b + 4 + 4 * i);
        if (i > 0 && dims[i] == 0) { tl_fail(err, "%s: IDX header declares a zero image size", path); goto out; }
        count *= dims[i];
        if (count >= (uint64_t)TL_DATA_MAX_VALUES) {
            /* Report against the real size first: that is the usual cause (a truncated or corrupt file). */
            if ((uint64_t)(len - head) < count)
                tl_fail(err, "%s: truncated: the IDX header declares %u %s but the file holds only %lld bytes of data",
                        path, dims[0], kind, (long long)(len - head));
            else
                tl_fail(err, "%s: the IDX header declares %u %s, over the limit of %lld values", path, dims[0], kind,
                        (long long)TL_DATA_MAX_VALUES);
            goto out;
        }
    }
    if ((uint64_t)(len - head) < count) {
        tl_fail(err, "%s: truncated: the IDX header declares %u %s (%llu bytes of data) but the file holds %lld",
                path, dims[0], kind, (unsigned long long)count, (long long)(len - head));
        goto out;
    }
    if ((uint64_t)(len - head) > count) {
        tl_fail(err, "%s: %lld unexpected bytes after the %u %s the IDX header declares", path,
                (long long)((uint64_t)(len - head) - count), dims[0], kind);
        goto out;
    }
    rc = 0;
out:
    if (rc) { free(*buf); *buf = NULL; }
    return rc;
}

int tl_idx_load(tl_dataset *d, const char *images_path, const char *labels_path, tl_error *err) {
    memset(d, 0, sizeof *d);
    unsigned char *ib = NULL, *lb = NULL;
    uint32_t idims[3], ldims[1];
    int rc = -1;
    if (idx_read(&ib, idims, images_path, 3, err)) goto out;
    if (!labels_path) ldims[0] = idims[0];
    else if (idx_read(&lb, ldims, labels_path, 1, err)) goto out;
    if (idims[0] != ldims[0]) {
        tl_fail(err, "%s has %u images but %s has %u labels", images_path, idims[0], labels_path, ldims[0]);
        goto out;
    }
    if (idims[1] > TL_DATA_MAX_SIDE || idims[2] > TL_DATA_MAX_SIDE) {
        tl_fail(err, "%s: image size %ux%u is over the limit", images_path, idims[1], idims[2]);
        goto out;
    }
    const unsigned char *px = ib + 16, *lab = lb ? lb + 8 : NULL;
    int maxl = 0;
    for (uint32_t i = 0; lab && i < ldims[0]; i++) if (lab[i] > maxl) maxl = lab[i];
    uint8_t *block;
    tl_images *im = tl_images_memory((int)idims[0], (int)idims[1], (int)idims[2], 1, &block);
    if (!im) { tl_fail(err, "%s: out of memory for %u images", images_path, idims[0]); goto out; }
    memcpy(block, px, (size_t)idims[0] * idims[1] * idims[2]);
    rc = tl_dataset_alloc_images(d, im, (int)idims[0], maxl + 1, images_path, err);
    tl_images_unref(im);
    if (rc) goto out;
    for (int i = 0; lab && i < d->n; i++) d->y[i] = lab[i];
out:
    free(ib);
    free(lb);
    return rc;
}

/* dir/name, or dir/name.gz when only that exists. */
static int idx_find(char *out, int cap, const char *dir, const char *name, tl_error *err) {
    char gz[256];
    if (tl_path_join(out, cap, dir, name, err)) return -1;
    if (tl_file_exists(out)) return 0;
    snprintf(gz, sizeof gz, "%s.gz", name);
    if (tl_path_join(out, cap, dir, gz, err)) return -1;
    if (tl_file_exists(out)) return 0;
    return tl_fail(err, "cannot open %s/%s: neither %s nor %s.gz exists", dir, name, name, name);
}

int tl_idx_load_dir(tl_dataset *train, tl_dataset *test, const char *dir, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char ti[4096], tl[4096], ei[4096], el[4096];
    if (idx_find(ti, sizeof ti, dir, "train-images-idx3-ubyte", err) ||
        idx_find(tl, sizeof tl, dir, "train-labels-idx1-ubyte", err) ||
        idx_find(ei, sizeof ei, dir, "t10k-images-idx3-ubyte", err) ||
        idx_find(el, sizeof el, dir, "t10k-labels-idx1-ubyte", err)) return -1;
    if (tl_idx_load(train, ti, tl, err)) return -1;
    if (tl_idx_load(test, ei, el, err)) { tl_dataset_free(train); return -1; }
    if (test->h != train->h || test->w != train->w) {
        tl_fail(err, "%s holds %dx%d images but %s holds %dx%d", ei, test->h, test->w, ti, train->h, train->w);
        tl_dataset_free(train); tl_dataset_free(test);
        return -1;
    }
    int k = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    train->num_classes = test->num_classes = k;
    return 0;
}
