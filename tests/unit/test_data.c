/* Data: formats, bad input, long-tailed views (golden counts of docs/methods.md §1.1/1.2/1.4),
 * normalisation, augmentation and the background loader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <png.h>
#include <jpeglib.h>
#include <zlib.h>
#include "data/dataset.h"
#include "check.h"
#include "tmpfiles.h"

static void put_be32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* An IDX image file with n images of r x c (pixel = (i*7 + j) & 255) and its label file (label = i % k). */
static void write_idx(const char *img, const char *lab, int n, int r, int c, int k, int gz) {
    size_t ni = 16 + (size_t)n * r * c, nl = 8 + (size_t)n;
    unsigned char *bi = malloc(ni), *bl = malloc(nl);
    put_be32(bi, 0x803); put_be32(bi + 4, n); put_be32(bi + 8, r); put_be32(bi + 12, c);
    put_be32(bl, 0x801); put_be32(bl + 4, n);
    for (size_t j = 0; j < (size_t)n * r * c; j++) bi[16 + j] = (unsigned char)((j * 7 + j / 13) & 255);
    for (int i = 0; i < n; i++) bl[8 + i] = (unsigned char)(i % k);
    if (gz) {
        gzFile f = gzopen(img, "wb"); gzwrite(f, bi, (unsigned)ni); gzclose(f);
        f = gzopen(lab, "wb"); gzwrite(f, bl, (unsigned)nl); gzclose(f);
    } else {
        write_bytes(img, bi, ni);
        write_bytes(lab, bl, nl);
    }
    free(bi); free(bl);
}

/* Labels of per_class[j] rows of class j, round-robin over the classes (so classes interleave in
 * file order); returns n. */
static int interleave(int *y, const int *per_class, int k) {
    int n = 0, *left = malloc(sizeof(int) * k);
    for (int j = 0; j < k; j++) n += per_class[j];
    memcpy(left, per_class, sizeof(int) * k);
    for (int i = 0, j = 0; i < n; j = (j + 1) % k)
        if (left[j]) { left[j]--; y[i++] = j; }
    free(left);
    return n;
}

static int total(const int *per_class, int k) {
    int n = 0;
    for (int j = 0; j < k; j++) n += per_class[j];
    return n;
}

/* Synthetic data set: n 1-pixel (or c x h x w) samples, labels interleaved, value = file index. */
static void make_synth(tl_dataset *d, const int *per_class, int k, int c, int h, int w) {
    tl_error err;
    tl_dataset_alloc(d, total(per_class, k), c, h, w, k, "synthetic", &err);
    interleave(d->y, per_class, k);
    for (int i = 0; i < d->n; i++)
        for (int v = 0; v < c * h * w; v++) d->x[(size_t)i * c * h * w + v] = (float)i;
}

/* The data load's validation split, unused by these formats. */
static tl_dataset nv;

/* Pixels (HWC) of row i of an image data set; a ring of four buffers, so a few can be compared. */
static const uint8_t *px(const tl_dataset *d, int i) {
    static tl_image ring[4], tmp;
    static int next;
    tl_image *im = &ring[next++ % 4];
    tl_error err;
    if (tl_images_get(d->images, d->file[i], im, &tmp, &err)) { fprintf(stderr, "%s\n", err.msg); return NULL; }
    return im->pix;
}

/* An image data set of memory images, labels as make_synth's; pixel v of image i = (i * 37 + v * 11) % 251. */
static void make_images(tl_dataset *d, const int *per_class, int k, int c, int h, int w) {
    int n = total(per_class, k);
    uint8_t *block;
    tl_images *im = tl_images_memory(n, h, w, c, &block);
    tl_error err;
    tl_dataset_alloc_images(d, im, n, k, "synthetic", &err);
    tl_images_unref(im);
    interleave(d->y, per_class, k);
    for (size_t v = 0; v < (size_t)n * c * h * w; v++) block[v] = (uint8_t)(((v / ((size_t)c * h * w)) * 37 + (v % ((size_t)c * h * w)) * 11) % 251);
}

static void balanced(tl_dataset *d, int k, int per) {
    int *pc = malloc(sizeof(int) * k);
    for (int j = 0; j < k; j++) pc[j] = per;
    make_synth(d, pc, k, 1, 1, 1);
    free(pc);
}

static int view_counts(int *counts, int *ntr, const tl_dataset *full, const char *lt, int val) {
    tl_view v;
    tl_error err;
    tl_dataset tr, va;
    if (tl_view_parse(lt, &v, &err) || tl_view_apply(full, &v, val, &tr, val ? &va : NULL, &err)) {
        fprintf(stderr, "  view %s: %s\n", lt, err.msg);
        return -1;
    }
    tl_class_counts(&tr, counts);
    *ntr = tr.n;
    tl_dataset_free(&tr);
    if (val) tl_dataset_free(&va);
    return 0;
}

static int same_counts(const int *a, const int *b, int n) {
    for (int i = 0; i < n; i++) if (a[i] != b[i]) return 0;
    return 1;
}

/* ---- golden counts (docs/methods.md §1.1) ---- */
static void test_golden_cifar10_shape(void) {
    static const int g100[10] = {5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50};
    static const int g50[10] = {5000, 3237, 2096, 1357, 878, 568, 368, 238, 154, 100};
    static const int g10[10] = {5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500};
    tl_dataset d;
    balanced(&d, 10, 5000);
    int c[10], n;
    CHECK(view_counts(c, &n, &d, "exp:100", 0) == 0 && same_counts(c, g100, 10) && n == 12406);
    CHECK(view_counts(c, &n, &d, "exp:50", 0) == 0 && same_counts(c, g50, 10) && n == 13996);
    CHECK(view_counts(c, &n, &d, "exp:10", 0) == 0 && same_counts(c, g10, 10) && n == 20431);
    tl_dataset_free(&d);
}

static void test_golden_cifar100_shape(void) {
    tl_dataset d;
    balanced(&d, 100, 500);
    int c[100], n;
    static const int h100[5] = {500, 477, 455, 434, 415}, t100[5] = {6, 5, 5, 5, 5};
    static const int h50[5] = {500, 480, 462, 444, 426}, t50[5] = {11, 11, 10, 10, 10};
    static const int h10[5] = {500, 488, 477, 466, 455}, t10[5] = {54, 53, 52, 51, 50};
    CHECK(view_counts(c, &n, &d, "exp:100", 0) == 0 && same_counts(c, h100, 5) && same_counts(c + 95, t100, 5) && n == 10847);
    CHECK(view_counts(c, &n, &d, "exp:50", 0) == 0 && same_counts(c, h50, 5) && same_counts(c + 95, t50, 5) && n == 12608);
    CHECK(view_counts(c, &n, &d, "exp:10", 0) == 0 && same_counts(c, h10, 5) && same_counts(c + 95, t10, 5) && n == 19573);
    tl_dataset_free(&d);
}

/* The real Fashion-MNIST, loaded once. */
static tl_dataset fm_train, fm_test;
static int fm_ok;

static void test_fashion_mnist_load(void) {
    tl_error err;
    fm_ok = tl_data_load("fashion-mnist", &fm_train, &fm_test, &nv, NULL, &err) == 0;
    CHECK_MSG(fm_ok, "%s", err.msg);
    if (!fm_ok) return;
    CHECK(fm_train.n == 60000 && fm_test.n == 10000);
    CHECK(fm_train.c == 1 && fm_train.h == 28 && fm_train.w == 28 && fm_test.h == 28);
    CHECK(fm_train.num_classes == 10 && fm_test.num_classes == 10);
    CHECK(fm_train.class_names && strcmp(fm_train.class_names[9], "Ankle boot") == 0);
    CHECK(fm_test.class_names && strcmp(fm_test.class_names[0], "T-shirt/top") == 0);
    int c[10];
    tl_class_counts(&fm_train, c);
    for (int k = 0; k < 10; k++) CHECK(c[k] == 6000);
    int lo = 255, hi = 0;
    for (int i = 0; i < fm_train.n; i++) {
        const uint8_t *p = px(&fm_train, i);
        for (int j = 0; j < 784; j++) { lo = p[j] < lo ? p[j] : lo; hi = p[j] > hi ? p[j] : hi; }
    }
    CHECK(lo == 0 && hi == 255 && fm_train.images && !fm_train.x);
    CHECK(fm_train.y[0] == 9 && fm_train.y[1] == 0); /* the first two training labels of the release */
}

static void test_golden_fashion_mnist(void) {
    static const int g100[10] = {6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60};
    static const int g50[10] = {6000, 3884, 2515, 1628, 1054, 682, 442, 286, 185, 120};
    static const int g10[10] = {6000, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600};
    static const int v100[10] = {5900, 3536, 2120, 1271, 762, 456, 273, 164, 98, 59};
    if (!fm_ok) { CHECK(fm_ok); return; }
    int c[10], n;
    CHECK(view_counts(c, &n, &fm_train, "exp:100", 0) == 0 && same_counts(c, g100, 10) && n == 14886);
    CHECK(view_counts(c, &n, &fm_train, "exp:50", 0) == 0 && same_counts(c, g50, 10) && n == 16796);
    CHECK(view_counts(c, &n, &fm_train, "exp:10", 0) == 0 && same_counts(c, g10, 10) && n == 24516);
    CHECK(view_counts(c, &n, &fm_train, "exp:100", 100) == 0 && same_counts(c, v100, 10));
    /* the validation set is balanced and disjoint from training */
    tl_view v;
    tl_error err;
    tl_dataset tr, va;
    CHECK(tl_view_parse("exp:100", &v, &err) == 0 && tl_view_apply(&fm_train, &v, 100, &tr, &va, &err) == 0);
    tl_class_counts(&va, c);
    for (int k = 0; k < 10; k++) CHECK(c[k] == 100);
    CHECK(va.n == 1000 && va.class_names && strcmp(va.class_names[3], "Dress") == 0);
    tl_dataset_free(&tr);
    tl_dataset_free(&va);
}

/* kept = first n_i of each class in file order, val = last N (values = file index). */
static void test_view_first_and_last(void) {
    static const int pc[4] = {20, 17, 20, 12};
    tl_dataset d, tr, va;
    make_synth(&d, pc, 4, 1, 1, 1);
    tl_view v;
    tl_error err;
    CHECK(tl_view_parse("exp:4", &v, &err) == 0);
    CHECK(tl_view_apply(&d, &v, 3, &tr, &va, &err) == 0);
    /* after the hold-out: 17 14 17 9, n_max = 17 -> trunc(17 * (1/4)^(i/3)) = 17 10 6 4 */
    int c[4], want[4] = {17, 10, 6, 4};
    tl_class_counts(&tr, c);
    CHECK(same_counts(c, want, 4));
    int *list = malloc(sizeof(int) * d.n);
    for (int k = 0; k < 4; k++) {
        int m = 0;
        for (int i = 0; i < d.n; i++) if (d.y[i] == k) list[m++] = i;
        int t = 0, s = 0;
        for (int i = 0; i < tr.n; i++)
            if (tr.y[i] == k) CHECK((int)tr.x[i] == list[t++]);
        for (int i = 0; i < va.n; i++)
            if (va.y[i] == k) CHECK((int)va.x[i] == list[m - 3 + s++]);
        CHECK(t == want[k] && s == 3);
    }
    /* rows keep file order */
    for (int i = 1; i < tr.n; i++) CHECK(tr.x[i] > tr.x[i - 1]);
    for (int i = 1; i < va.n; i++) CHECK(va.x[i] > va.x[i - 1]);
    free(list);
    tl_dataset_free(&tr); tl_dataset_free(&va); tl_dataset_free(&d);
}

static void test_view_step(void) {
    tl_dataset d;
    balanced(&d, 10, 1000);
    int c[10], n;
    static const int even[10] = {10, 1000, 10, 1000, 10, 1000, 10, 1000, 10, 1000};
    static const int upper[10] = {1000, 1000, 1000, 1000, 1000, 100, 100, 100, 100, 100};
    static const int list[10] = {1000, 333, 1000, 333, 1000, 333, 1000, 1000, 1000, 1000};
    CHECK(view_counts(c, &n, &d, "step:100:even", 0) == 0 && same_counts(c, even, 10) && n == 5050);
    CHECK(view_counts(c, &n, &d, "step:10:upper", 0) == 0 && same_counts(c, upper, 10) && n == 5500);
    CHECK(view_counts(c, &n, &d, "step:3:1/3/5", 0) == 0 && same_counts(c, list, 10));
    CHECK(view_counts(c, &n, &d, "none", 0) == 0 && n == 10000);
    tl_dataset_free(&d);
    balanced(&d, 5, 100); /* odd C: upper = classes 2, 3, 4 */
    static const int up5[5] = {100, 100, 10, 10, 10};
    CHECK(view_counts(c, &n, &d, "step:10:upper", 0) == 0 && same_counts(c, up5, 5));
    tl_dataset_free(&d);
}

static int fails_with(int rc, const tl_error *err, const char *a, const char *b) {
    int ok = rc == -1 && strstr(err->msg, a) && (!b || strstr(err->msg, b));
    if (!ok) fprintf(stderr, "  unexpected: rc %d, message '%s' (wanted '%s' and '%s')\n", rc, err->msg, a, b ? b : "");
    return ok;
}

static void test_view_errors(void) {
    tl_view v;
    tl_error err;
    tl_dataset d, tr, va;
    CHECK(fails_with(tl_view_parse("exp:0.5", &v, &err), &err, "exp:0.5", ">= 1"));
    CHECK(fails_with(tl_view_parse("exp:abc", &v, &err), &err, "exp:abc", NULL));
    CHECK(fails_with(tl_view_parse("step:10", &v, &err), &err, "step:10", "CLASSES"));
    CHECK(fails_with(tl_view_parse("step:10:odd", &v, &err), &err, "step:10:odd", NULL));
    CHECK(fails_with(tl_view_parse("zipf:2", &v, &err), &err, "unknown long-tailed view", "exp:IF"));
    balanced(&d, 4, 5);
    /* trunc(5/10) = 0: the listed class is empty after the cut */
    CHECK(tl_view_parse("step:10:2", &v, &err) == 0);
    CHECK(fails_with(tl_view_apply(&d, &v, 0, &tr, NULL, &err), &err, "class 2", "no training images"));
    CHECK(tl_view_parse("step:2:7", &v, &err) == 0);
    CHECK(fails_with(tl_view_apply(&d, &v, 0, &tr, NULL, &err), &err, "class 7", "out of range"));
    CHECK(tl_view_parse("exp:10", &v, &err) == 0);
    CHECK(fails_with(tl_view_apply(&d, &v, 5, &tr, &va, &err), &err, "too few", NULL));
    CHECK(fails_with(tl_view_apply(&d, &v, 0, &tr, NULL, &err), &err, "class 3", "no training images"));
    tl_dataset_free(&d);
    /* a class absent from the file */
    static const int pc[3] = {5, 0, 5};
    make_synth(&d, pc, 3, 1, 1, 1);
    CHECK(tl_view_parse("none", &v, &err) == 0);
    CHECK(fails_with(tl_view_apply(&d, &v, 0, &tr, NULL, &err), &err, "class 1", "no training images"));
    tl_dataset_free(&d);
}

/* ---- IDX ---- */
static void test_idx_gzip_and_raw(void) {
    write_idx(tmp("train-images-idx3-ubyte"), tmp("train-labels-idx1-ubyte"), 50, 5, 4, 7, 0);
    write_idx(tmp("t10k-images-idx3-ubyte"), tmp("t10k-labels-idx1-ubyte"), 9, 5, 4, 3, 0);
    mkdir(tmp("gz"), 0700);
    write_idx(tmp("gz/train-images-idx3-ubyte.gz"), tmp("gz/train-labels-idx1-ubyte.gz"), 50, 5, 4, 7, 1);
    write_idx(tmp("gz/t10k-images-idx3-ubyte.gz"), tmp("gz/t10k-labels-idx1-ubyte.gz"), 9, 5, 4, 3, 1);
    tl_dataset a, b, at, bt;
    tl_error err;
    char spec[600];
    snprintf(spec, sizeof spec, "idx:%s", tmpdir);
    CHECK_MSG(tl_data_load(spec, &a, &at, &nv, NULL, &err) == 0, "%s", err.msg);
    snprintf(spec, sizeof spec, "mnist:%s/gz", tmpdir);
    CHECK_MSG(tl_data_load(spec, &b, &bt, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(a.n == 50 && b.n == 50 && a.h == 5 && a.w == 4 && b.h == 5 && at.n == 9 && bt.n == 9);
    CHECK(a.num_classes == 7 && at.num_classes == 7 && b.num_classes == 7);
    int same = 1;
    for (int i = 0; i < 50; i++) same &= memcmp(px(&a, i), px(&b, i), 20) == 0;
    for (int i = 0; i < 9; i++) same &= memcmp(px(&at, i), px(&bt, i), 20) == 0;
    CHECK(same && a.n == b.n && memcmp(a.y, b.y, sizeof(int) * 50) == 0);
    CHECK(px(&a, 0)[0] == 0 && px(&a, 0)[1] == 7 && a.y[8] == 1 && !a.class_names);
    tl_dataset_free(&a); tl_dataset_free(&b); tl_dataset_free(&at); tl_dataset_free(&bt);
}

static void test_idx_bad(void) {
    tl_dataset d;
    tl_error err;
    char img[512], lab[512];
    snprintf(img, sizeof img, "%s", tmp("bad-images"));
    snprintf(lab, sizeof lab, "%s", tmp("bad-labels"));
    write_idx(tmp("ok-images"), tmp("ok-labels"), 10, 3, 3, 2, 0);
    /* wrong magic */
    unsigned char h[16];
    put_be32(h, 0x801); put_be32(h + 4, 1); put_be32(h + 8, 1); put_be32(h + 12, 1);
    write_bytes(img, h, 16);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "wrong IDX magic"));
    /* 16 bytes claiming 2^31 images of 28x28 */
    put_be32(h, 0x803); put_be32(h + 4, 0x80000000u); put_be32(h + 8, 28); put_be32(h + 12, 28);
    write_bytes(img, h, 16);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "truncated"));
    CHECK(d.x == NULL && d.n == 0);
    /* 2^31 images of 1x1 in 16 bytes */
    put_be32(h + 8, 1); put_be32(h + 12, 1);
    write_bytes(img, h, 16);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "2147483648"));
    /* truncated pixel data */
    FILE *f = fopen(tmp("ok-images"), "rb");
    unsigned char buf[16 + 90];
    CHECK(fread(buf, 1, sizeof buf, f) == sizeof buf);
    fclose(f);
    write_bytes(img, buf, sizeof buf - 5);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "truncated"));
    /* truncated header */
    write_bytes(img, buf, 10);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "truncated"));
    /* trailing garbage */
    unsigned char big[16 + 91];
    memcpy(big, buf, sizeof buf);
    big[sizeof buf] = 1;
    write_bytes(img, big, sizeof big);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("ok-labels"), &err), &err, img, "unexpected bytes"));
    /* count mismatch: 10 images, 9 labels */
    write_idx(tmp("nine-images"), lab, 9, 3, 3, 2, 0);
    CHECK(fails_with(tl_idx_load(&d, tmp("ok-images"), lab, &err), &err, "10 images", "9 labels"));
    /* missing file */
    CHECK(fails_with(tl_idx_load(&d, tmp("nope"), lab, &err), &err, tmp("nope"), "cannot open"));
    CHECK(fails_with(tl_data_load("idx:/nonexistent-dir", &d, &d, &nv, NULL, &err), &err, "/nonexistent-dir", "train-images-idx3-ubyte"));
    /* truncated gzip stream */
    write_idx(tmp("full.gz"), tmp("full-labels.gz"), 200, 8, 8, 2, 1);
    f = fopen(tmp("full.gz"), "rb");
    unsigned char gzb[4096];
    size_t gn = fread(gzb, 1, sizeof gzb, f);
    fclose(f);
    write_bytes(img, gzb, gn / 2);
    CHECK(fails_with(tl_idx_load(&d, img, tmp("full-labels.gz"), &err), &err, img, NULL));
    tl_dataset_free(&d);
}

/* ---- CIFAR ---- */
static void write_cifar(const char *path, int n, int lab_bytes, int base, int k) {
    int rec = lab_bytes + 3072;
    unsigned char *b = malloc((size_t)n * rec);
    for (int r = 0; r < n; r++) {
        unsigned char *p = b + (size_t)r * rec;
        p[0] = (unsigned char)((base + r) % 20);       /* coarse for CIFAR-100 */
        p[lab_bytes - 1] = (unsigned char)((base + r) % k);
        for (int j = 0; j < 3072; j++) p[lab_bytes + j] = (unsigned char)((base + r + j) & 255);
    }
    write_bytes(path, b, (size_t)n * rec);
    free(b);
}

static void test_cifar_round_trip(void) {
    mkdir(tmp("c10"), 0700);
    mkdir(tmp("c100"), 0700);
    char name[64];
    for (int f = 1; f <= 5; f++) {
        snprintf(name, sizeof name, "c10/data_batch_%d.bin", f);
        write_cifar(tmp(name), 4, 1, (f - 1) * 4, 10);
    }
    write_cifar(tmp("c10/test_batch.bin"), 3, 1, 100, 10);
    write_cifar(tmp("c100/train.bin"), 7, 2, 0, 100);
    write_cifar(tmp("c100/test.bin"), 2, 2, 50, 100);
    tl_dataset tr, te;
    tl_error err;
    char spec[600];
    snprintf(spec, sizeof spec, "cifar10:%s/c10", tmpdir);
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 20 && te.n == 3 && tr.c == 3 && tr.h == 32 && tr.w == 32 && tr.num_classes == 10 && te.num_classes == 10);
    /* the record's planes (byte j = channel j / 1024, pixel j % 1024) become HWC pixels */
    int ok = 1;
    for (int i = 0; i < 20; i++) {
        ok &= tr.y[i] == i % 10;
        const uint8_t *p = px(&tr, i);
        for (int j = 0; j < 3072; j++) ok &= p[(j % 1024) * 3 + j / 1024] == ((i + j) & 255);
    }
    CHECK(ok);
    CHECK(te.y[0] == 0 && px(&te, 0)[3] == 101);
    CHECK(tr.class_names && strcmp(tr.class_names[0], "airplane") == 0 && strcmp(te.class_names[9], "truck") == 0);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* CIFAR-100: fine label is the second byte, names from fine_label_names.txt */
    char names[2000] = "";
    for (int k = 0; k < 100; k++) snprintf(names + strlen(names), sizeof names - strlen(names), "class%d\n", k);
    write_text(tmp("c100/fine_label_names.txt"), names);
    snprintf(spec, sizeof spec, "cifar100:%s/c100", tmpdir);
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 7 && te.n == 2 && tr.num_classes == 100 && te.y[1] == 51 && px(&tr, 1)[15] == 6);
    CHECK(tr.class_names && strcmp(tr.class_names[42], "class42") == 0);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* bad: label 10 in CIFAR-10, truncated record, missing batch */
    write_cifar(tmp("c10/test_batch.bin"), 3, 1, 10, 11); /* labels 10, 0, 1 */
    snprintf(spec, sizeof spec, "cifar10:%s/c10", tmpdir);
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "test_batch.bin", "out of range"));
    write_cifar(tmp("c10/test_batch.bin"), 3, 1, 100, 10);
    FILE *f = fopen(tmp("c10/test_batch.bin"), "ab");
    fputc(1, f);
    fclose(f);
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "test_batch.bin", "truncated"));
    unlink(tmp("c10/data_batch_3.bin"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "data_batch_3.bin", "cannot open"));
}

/* ---- CSV ---- */
static void test_csv(void) {
    tl_dataset tr, te;
    tl_error err;
    char spec[1200];
    write_text(tmp("iris.csv"), "sepal,petal,species\n1.5,2,setosa\n\n3,4.25,virginica\r\n-1e2, 7 ,setosa\n");
    write_text(tmp("iris-test.csv"), "sepal,petal,species\n0,1,versicolor\n");
    snprintf(spec, sizeof spec, "csv:%s,%s,label=species", tmp("iris.csv"), tmp("iris-test.csv"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 3 && te.n == 1 && tr.c == 2 && tr.h == 1 && tr.w == 1 && tr.num_classes == 3 && te.num_classes == 3);
    CHECK(tr.x[0] == 1.5f && tr.x[1] == 2.0f && tr.x[2] == 3.0f && tr.x[3] == 4.25f && tr.x[4] == -100.0f && tr.x[5] == 7.0f);
    /* text labels in order of first appearance (as pandas' factorize): setosa 0, virginica 1, versicolor 2 */
    CHECK(tr.y[0] == 0 && tr.y[1] == 1 && tr.y[2] == 0 && te.y[0] == 2);
    CHECK(tr.class_names && strcmp(tr.class_names[1], "virginica") == 0 && strcmp(te.class_names[2], "versicolor") == 0);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* numeric labels by index, no header, no test file */
    write_text(tmp("num.csv"), "4,0.5,0.25\n1,1,2\n");
    snprintf(spec, sizeof spec, "csv:%s,label=0", tmp("num.csv"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 2 && tr.c == 2 && tr.num_classes == 5 && tr.y[0] == 4 && tr.x[0] == 0.5f && te.n == 0 && te.num_classes == 5);
    CHECK(!tr.class_names);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* default label column: the last */
    write_text(tmp("num2.csv"), "4,0.5,1\n1,1,2\n");
    snprintf(spec, sizeof spec, "csv:%s", tmp("num2.csv"));
    CHECK(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0 && tr.num_classes == 3 && tr.y[1] == 2 && tr.x[0] == 4.0f);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* bad: non-numeric cell, missing label column, negative label, column count, empty file */
    write_text(tmp("bad.csv"), "a,b,label\n1,2,0\n1,x,1\n");
    snprintf(spec, sizeof spec, "csv:%s,label=label", tmp("bad.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "bad.csv:3", "'x' is not a number"));
    snprintf(spec, sizeof spec, "csv:%s,label=species", tmp("bad.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "bad.csv", "no column named 'species'"));
    snprintf(spec, sizeof spec, "csv:%s,label=9", tmp("bad.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "bad.csv", "out of range"));
    write_text(tmp("neg.csv"), "1,2,0\n1,2,-1\n");
    snprintf(spec, sizeof spec, "csv:%s", tmp("neg.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "neg.csv:2", "label -1 is out of range"));
    write_text(tmp("cols.csv"), "1,2,0\n1,0\n");
    snprintf(spec, sizeof spec, "csv:%s", tmp("cols.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "cols.csv:2", "2 columns, expected 3"));
    write_text(tmp("empty.csv"), "\n\n");
    snprintf(spec, sizeof spec, "csv:%s", tmp("empty.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "empty.csv", "empty"));
    snprintf(spec, sizeof spec, "csv:%s,%s", tmp("num.csv"), tmp("iris-test.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "iris-test.csv", NULL));
    snprintf(spec, sizeof spec, "csv:%s,sep=;", tmp("num.csv"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "unknown key 'sep'", NULL));
}

/* ---- image lists (PNG via libpng, JPEG via libjpeg) ---- */
static void write_png(const char *path, int w, int h, int channels, int seed) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = w; im.height = h;
    im.format = channels == 3 ? PNG_FORMAT_RGB : channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_GRAY;
    unsigned char *b = malloc((size_t)w * h * channels);
    for (int i = 0; i < w * h * channels; i++) b[i] = (unsigned char)(seed + i * 3);
    if (channels == 4) for (int i = 0; i < w * h; i++) b[i * 4 + 3] = 255; /* opaque */
    png_image_write_to_file(&im, path, 0, b, 0, NULL);
    free(b);
}

static void write_jpeg(const char *path, int w, int h, int channels, int value) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    FILE *f = fopen(path, "wb");
    jpeg_stdio_dest(&ci, f);
    ci.image_width = w; ci.image_height = h; ci.input_components = channels;
    ci.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    jpeg_start_compress(&ci, TRUE);
    unsigned char *row = malloc((size_t)w * channels);
    for (int i = 0; i < w * channels; i++) row[i] = (unsigned char)(value + 20 * (i % channels));
    while (ci.next_scanline < ci.image_height) jpeg_write_scanlines(&ci, &row, 1);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
    free(row);
}

static void test_imagelist(void) {
    mkdir(tmp("img"), 0700);
    write_png(tmp("img/a.png"), 6, 5, 3, 0);
    write_png(tmp("img/b b.png"), 6, 5, 4, 10);   /* RGBA -> RGB, space in the name */
    write_jpeg(tmp("img/c.jpg"), 6, 5, 3, 100);
    write_png(tmp("img/d.png"), 6, 5, 1, 1);
    write_png(tmp("img/e.png"), 6, 5, 1, 2);
    write_jpeg(tmp("img/f.jpg"), 6, 5, 1, 77);
    write_text(tmp("train.txt"), "img/a.png 2\nimg/b b.png  0\n\nimg/c.jpg 1\n");
    write_text(tmp("test.txt"), "img/a.png 3\n");
    tl_dataset tr, te;
    tl_error err;
    char spec[1200];
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("train.txt"), tmp("test.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 3 && te.n == 1 && tr.c == 3 && tr.h == 0 && tr.num_classes == 4 && te.num_classes == 4);
    CHECK(tr.y[0] == 2 && tr.y[1] == 0 && tr.y[2] == 1 && te.y[0] == 3 && te.images == tr.images);
    CHECK(strstr(tl_images_path(tr.images, tr.file[1]), "img/b b.png") != NULL);
    /* PNG exact, HWC */
    int ok = 1;
    const uint8_t *p0 = px(&tr, 0);
    for (int j = 0; j < 90; j++) ok &= p0[j] == (unsigned char)(j * 3);
    CHECK(ok);
    CHECK(px(&tr, 1)[0] == 10); /* RGBA: alpha dropped, R of pixel 0 as stored */
    /* JPEG quality 100 of a flat image: within 2 of the written values */
    for (int ch = 0; ch < 3; ch++) CHECK(abs(px(&tr, 2)[17 * 3 + ch] - (100 + 20 * ch)) <= 2);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* grayscale files are 1-channel images, converted to the configured channel count */
    write_text(tmp("gray.txt"), "img/d.png 0\nimg/e.png 1\nimg/f.jpg 1\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("gray.txt"), tmp("gray.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tl_images_info(tr.images, 0)->c == 1 && tl_images_configure(tr.images, 1, 0, 0, &err) == 0);
    CHECK(tr.n == 3 && px(&tr, 0)[1] == 4 && px(&tr, 1)[0] == 2 && abs(px(&tr, 2)[7] - 77) <= 1);
    CHECK(tl_images_configure(tr.images, 3, 0, 0, &err) == 0 && px(&tr, 0)[3] == 4 && px(&tr, 0)[5] == 4);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* images of other sizes and channel counts mix in one list */
    write_png(tmp("img/big.png"), 7, 5, 3, 0);
    write_text(tmp("mixed.txt"), "img/a.png 0\nimg/d.png 1\nimg/big.png 1\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("mixed.txt"), tmp("test.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 3 && tl_images_info(tr.images, 2)->w == 7 && tl_images_info(tr.images, 1)->c == 1);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* a VAL.txt gives the validation split */
    snprintf(spec, sizeof spec, "list:%s,%s,%s,%s", tmpdir, tmp("mixed.txt"), tmp("test.txt"), tmp("gray.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    CHECK(nv.n == 3 && nv.num_classes == 4 && nv.y[2] == 1);
    tl_dataset_free(&tr); tl_dataset_free(&te); tl_dataset_free(&nv);
    /* bad: missing file, label out of range, not an image, a path out of ROOT */
    write_text(tmp("missing.txt"), "img/a.png 0\nimg/zzz.png 1\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("missing.txt"), tmp("test.txt"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "zzz.png", "cannot open"));
    write_text(tmp("neg.txt"), "img/a.png -3\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("neg.txt"), tmp("test.txt"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "neg.txt:1", "out of range"));
    write_text(tmp("img/fake.png"), "hello");
    write_text(tmp("fake.txt"), "img/fake.png 0\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("fake.txt"), tmp("test.txt"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "fake.png", "not a PNG or JPEG"));
    write_text(tmp("escape.txt"), "img/../../etc/passwd 0\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("escape.txt"), tmp("test.txt"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "escape.txt:1", "leaves ROOT"));
    write_text(tmp("abs.txt"), "/etc/passwd 0\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("abs.txt"), tmp("test.txt"));
    CHECK(fails_with(tl_data_load(spec, &tr, &te, &nv, NULL, &err), &err, "abs.txt:1", "absolute path"));
    /* a JPEG cut short: its header reads, its pixels do not (found when the image is first used) */
    FILE *f = fopen(tmp("img/c.jpg"), "rb");
    unsigned char jb[8192];
    size_t jn = fread(jb, 1, sizeof jb, f);
    fclose(f);
    write_bytes(tmp("img/half.jpg"), jb, jn * 2 / 3);
    write_text(tmp("half.txt"), "img/half.jpg 0\n");
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("half.txt"), tmp("test.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    tl_image im = {0}, tmpim = {0};
    CHECK(fails_with(tl_images_get(tr.images, 0, &im, &tmpim, &err), &err, "half.jpg", "bad JPEG"));
    tl_image_free(&im); tl_image_free(&tmpim);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    CHECK(fails_with(tl_data_load("list:a,b", &tr, &te, &nv, NULL, &err), &err, "list:ROOT,TRAIN.txt,TEST.txt", NULL));
}

/* The cache keeps stored images up to its budget, and a stored image is the same from the cache and
 * from the file; the load side reduces the shorter side. */
static void test_image_cache(void) {
    mkdir(tmp("cache"), 0700);
    char line[256], list[4000] = "";
    for (int i = 0; i < 12; i++) {
        snprintf(line, sizeof line, "cache/%02d.png", i);
        write_png(tmp(line), 20 + i, 10, 3, i);   /* 10 high, 20 + i wide */
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s %d\n", line, i % 2);
    }
    write_text(tmp("cache.txt"), list);
    tl_dataset tr, te;
    tl_error err;
    char spec[1200];
    snprintf(spec, sizeof spec, "list:%s,%s,%s", tmpdir, tmp("cache.txt"), tmp("cache.txt"));
    CHECK_MSG(tl_data_load(spec, &tr, &te, &nv, NULL, &err) == 0, "%s", err.msg);
    /* a budget for about 4 images of 10 x ~25 x 3 bytes */
    CHECK(tl_images_configure(tr.images, 3, 0, 3000, &err) == 0);
    uint8_t *first[12];
    int ok = 1;
    for (int i = 0; i < 12; i++) {
        const uint8_t *p = px(&tr, i);
        first[i] = malloc(10 * (20 + i) * 3);
        memcpy(first[i], p, 10 * (20 + i) * 3);
    }
    CHECK(tl_images_cached(tr.images) >= 3 && tl_images_cached(tr.images) < 12 && tl_images_cache_bytes(tr.images) <= 3000);
    for (int i = 0; i < 12; i++) ok &= memcmp(px(&tr, i), first[i], 10 * (20 + i) * 3) == 0;  /* hits and misses */
    CHECK(ok && tl_images_cache_bytes(tr.images) <= 3000);
    for (int i = 0; i < 12; i++) free(first[i]);
    /* load side 5: a shorter side of 10 is not more than twice it, kept; load side 4: resized to 4,
     * the other side int(4 * 23 / 10) */
    CHECK(tl_images_configure(tr.images, 3, 5, 1 << 20, &err) == 0);
    tl_image im = {0}, tmpim = {0};
    CHECK(tl_images_get(tr.images, 3, &im, &tmpim, &err) == 0 && im.h == 10 && im.w == 23);
    CHECK(tl_images_configure(tr.images, 3, 4, 1 << 20, &err) == 0);
    CHECK(tl_images_get(tr.images, 3, &im, &tmpim, &err) == 0 && im.h == 4 && im.w == 9);
    CHECK(tl_images_get(tr.images, 3, &im, &tmpim, &err) == 0 && im.h == 4 && im.w == 9 && tl_images_cached(tr.images) == 1);
    tl_image_free(&im); tl_image_free(&tmpim);
    tl_dataset_free(&tr); tl_dataset_free(&te);
}

static void test_spec_errors(void) {
    tl_dataset tr, te;
    tl_error err;
    CHECK(fails_with(tl_data_load("imagenet:/x", &tr, &te, &nv, NULL, &err), &err, "unknown data spec 'imagenet:/x'", "cifar10:DIR"));
    CHECK(fails_with(tl_data_load("cifar10:", &tr, &te, &nv, NULL, &err), &err, "missing argument", NULL));
    CHECK(fails_with(tl_data_load("fashion-mnist:/tmp", &tr, &te, &nv, NULL, &err), &err, "takes no argument", NULL));
    CHECK(tr.x == NULL && te.x == NULL);
}

/* ---- normalisation ---- */
static void test_normalize(void) {
    tl_dataset d;
    tl_error err;
    tl_dataset_alloc(&d, 37, 3, 4, 5, 2, "t", &err);
    for (int i = 0; i < 37; i++) {
        d.y[i] = i % 2;
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < 20; j++) d.x[(i * 3 + c) * 20 + j] = (float)(c * 100 + ((i * 31 + j * 17) % 23) * (c + 1));
    }
    float mean[3], std[3];
    CHECK(tl_norm_stats(mean, std, &d, &err) == 0);
    /* through the loader without augmentation, every channel has mean 0 and std 1 */
    tl_loader *L = tl_loader_create(&d, mean, std, NULL, 3, 4, 5, 8, 1, 0, &err);
    int order[37];
    for (int i = 0; i < 37; i++) order[i] = i;
    CHECK(tl_loader_start(L, order, 37, 0, 0, &err) == 0);
    double s[3] = {0}, q[3] = {0};
    const float *x;
    const int *y;
    int b, total = 0;
    while ((b = tl_loader_next(L, &x, &y, &err)) > 0) {
        for (int i = 0; i < b; i++)
            for (int c = 0; c < 3; c++)
                for (int j = 0; j < 20; j++) { double v = x[(i * 3 + c) * 20 + j]; s[c] += v; q[c] += v * v; }
        total += b;
    }
    CHECK(total == 37);
    for (int c = 0; c < 3; c++) {
        double m = s[c] / (37 * 20), sd = sqrt(q[c] / (37 * 20) - m * m);
        CHECK_CLOSE(m, 0.0, 1e-5);
        CHECK_CLOSE(sd, 1.0, 1e-5);
    }
    tl_loader_free(L);
    /* a constant channel gets std 1 */
    for (int i = 0; i < 37 * 60; i++) d.x[i] = 5.0f;
    CHECK(tl_norm_stats(mean, std, &d, &err) == 0 && mean[0] == 5.0f && std[0] == 1.0f);
    tl_dataset_free(&d);
    /* images: the same statistics as a two-pass double computation over their HWC pixels, and the
     * loader's CHW output has mean 0 and std 1 per channel */
    static const int pc[2] = {20, 17};
    make_images(&d, pc, 2, 3, 4, 5);
    CHECK(tl_norm_stats(mean, std, &d, &err) == 0);
    for (int c = 0; c < 3; c++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < 37; i++) for (int j = 0; j < 20; j++) sum += px(&d, i)[j * 3 + c];
        double m = sum / 740;
        for (int i = 0; i < 37; i++) for (int j = 0; j < 20; j++) { double e = px(&d, i)[j * 3 + c] - m; sq += e * e; }
        CHECK(mean[c] == (float)m && std[c] == (float)sqrt(sq / 740));
    }
    L = tl_loader_create(&d, mean, std, NULL, 3, 4, 5, 8, 1, 2, &err);
    CHECK(L && tl_loader_start(L, order, 37, 0, 0, &err) == 0);
    memset(s, 0, sizeof s); memset(q, 0, sizeof q);
    while ((b = tl_loader_next(L, &x, &y, &err)) > 0)
        for (int i = 0; i < b; i++)
            for (int c = 0; c < 3; c++)
                for (int j = 0; j < 20; j++) { double v = x[(i * 3 + c) * 20 + j]; s[c] += v; q[c] += v * v; }
    for (int c = 0; c < 3; c++) {
        CHECK_CLOSE(s[c] / 740, 0.0, 1e-5);
        CHECK_CLOSE(sqrt(q[c] / 740 - (s[c] / 740) * (s[c] / 740)), 1.0, 1e-5);
    }
    tl_loader_free(L);
    /* a model of another input size is refused, naming both sizes */
    L = tl_loader_create(&d, mean, std, NULL, 3, 5, 5, 8, 1, 0, &err);
    CHECK(L && tl_loader_start(L, order, 37, 0, 0, &err) == 0);
    CHECK(fails_with(tl_loader_next(L, &x, &y, &err), &err, "4x5 image", "5x5"));
    tl_loader_free(L);
    tl_dataset_free(&d);
    if (fm_ok) { /* Fashion-MNIST: the usual 72.94 / 90.02 (0.2860, 0.3530 on [0,1]) */
        CHECK(tl_norm_stats(mean, std, &fm_train, &err) == 0);
        CHECK_CLOSE(mean[0] / 255.0, 0.2860, 1e-3);
        CHECK_CLOSE(std[0] / 255.0, 0.3530, 1e-3);
    }
}

/* ---- loader ---- */
static void run_epochs(float *xs, int *ys, const tl_dataset *d, const float *mean, const float *std, const tl_transform *a,
                       int workers, uint64_t seed, const int *order, int n, int B) {
    tl_error err;
    tl_loader *L = tl_loader_create(d, mean, std, a, d->c, d->h, d->w, B, seed, workers, &err);
    size_t row = (size_t)d->c * d->h * d->w;
    for (int e = 0; e < 2; e++) {
        CHECK(tl_loader_start(L, order, n, e, 0, &err) == 0);
        const float *x;
        const int *y;
        int b, pos = 0;
        while ((b = tl_loader_next(L, &x, &y, &err)) > 0) {
            usleep(workers ? (pos % 3) * 300 : 0); /* vary timing */
            memcpy(xs + ((size_t)e * n + pos) * row, x, sizeof(float) * row * b);
            memcpy(ys + (size_t)e * n + pos, y, sizeof(int) * b);
            pos += b;
        }
        CHECK(pos == n);
    }
    /* an epoch abandoned half-way, then a fresh one; an epoch started at its third batch */
    CHECK(tl_loader_start(L, order, n, 0, 0, &err) == 0);
    const float *x;
    const int *y;
    CHECK(tl_loader_next(L, &x, &y, &err) == (n < B ? n : B));
    CHECK(tl_loader_start(L, order, n, 1, 0, &err) == 0);
    CHECK(tl_loader_next(L, &x, &y, &err) > 0 && memcmp(x, xs + (size_t)n * row, sizeof(float) * row) == 0);
    CHECK(tl_loader_start(L, order, n, 1, 2, &err) == 0);
    CHECK(tl_loader_next(L, &x, &y, &err) == B && memcmp(x, xs + ((size_t)n + 2 * B) * row, sizeof(float) * row * B) == 0);
    tl_loader_free(L);
}

static void test_loader_determinism(void) {
    static const int pc[3] = {40, 30, 33};
    tl_dataset d;
    make_images(&d, pc, 3, 3, 8, 8);
    float mean[3], std[3];
    tl_error err;
    CHECK(tl_norm_stats(mean, std, &d, &err) == 0);
    tl_transform a;
    CHECK(tl_transform_parse(&a, "crop,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4", "--augment", &err) == 0);
    int n = d.n, *order = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) order[i] = n - 1 - i;
    size_t sz = (size_t)2 * n * 192;
    float *x1 = malloc(sz * 4), *x2 = malloc(sz * 4), *x3 = malloc(sz * 4);
    int *y1 = malloc(sizeof(int) * 2 * n), *y2 = malloc(sizeof(int) * 2 * n), *y3 = malloc(sizeof(int) * 2 * n);
    /* in the caller's thread, with 1 worker and with 3: the same batches */
    run_epochs(x1, y1, &d, mean, std, &a, 0, 42, order, n, 16);
    run_epochs(x2, y2, &d, mean, std, &a, 1, 42, order, n, 16);
    CHECK(memcmp(x1, x2, sz * 4) == 0 && memcmp(y1, y2, sizeof(int) * 2 * n) == 0);
    run_epochs(x3, y3, &d, mean, std, &a, 3, 42, order, n, 16);
    CHECK(memcmp(x2, x3, sz * 4) == 0 && memcmp(y1, y3, sizeof(int) * 2 * n) == 0);
    for (int i = 0; i < n; i++) CHECK(y1[i] == d.y[order[i]] && y1[n + i] == d.y[order[i]]);
    /* epochs differ in augmentation; another seed differs */
    CHECK(memcmp(x1, x1 + sz / 2, sz * 2) != 0);
    run_epochs(x3, y3, &d, mean, std, &a, 3, 43, order, n, 16);
    CHECK(memcmp(x1, x3, sz * 4) != 0);
    /* bad order index, batch 0, transforms on feature rows */
    tl_loader *L = tl_loader_create(&d, mean, std, &a, 3, 8, 8, 16, 1, 1, &err);
    order[5] = n;
    CHECK(fails_with(tl_loader_start(L, order, n, 0, 0, &err), &err, "out of range", NULL));
    tl_loader_free(L);
    CHECK(tl_loader_create(&d, mean, std, &a, 3, 8, 8, 0, 1, 1, &err) == NULL);
    tl_dataset rows;
    balanced(&rows, 2, 3);
    CHECK(tl_loader_create(&rows, mean, std, &a, 1, 1, 1, 4, 1, 0, &err) == NULL && strstr(err.msg, "need image data"));
    tl_dataset_free(&rows);
    free(order); free(x1); free(x2); free(x3); free(y1); free(y2); free(y3);
    tl_dataset_free(&d);
}

/* Removes the temp dir's files (the tests create no more than this). */
int main(void) {
    if (tmpfiles_open("data")) return 1;
    RUN_TEST(test_golden_cifar10_shape);
    RUN_TEST(test_golden_cifar100_shape);
    RUN_TEST(test_fashion_mnist_load);
    RUN_TEST(test_golden_fashion_mnist);
    RUN_TEST(test_view_first_and_last);
    RUN_TEST(test_view_step);
    RUN_TEST(test_view_errors);
    RUN_TEST(test_idx_gzip_and_raw);
    RUN_TEST(test_idx_bad);
    RUN_TEST(test_cifar_round_trip);
    RUN_TEST(test_csv);
    RUN_TEST(test_imagelist);
    RUN_TEST(test_image_cache);
    RUN_TEST(test_spec_errors);
    RUN_TEST(test_normalize);
    RUN_TEST(test_loader_determinism);
    tl_dataset_free(&fm_train);
    tl_dataset_free(&fm_test);
    tmpfiles_close();
    TEST_MAIN_END();
}
