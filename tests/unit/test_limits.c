/* Limits on hostile input: every size a file header declares is checked against the real file size
 * and a sane limit before anything is allocated from it, so a tiny file claiming a huge content
 * fails at once with a message naming the file (issue 9; the fuzz targets of tests/fuzz probe the
 * same parsers at random). Each case runs in well under a second even under ASan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jpeglib.h>
#include <zlib.h>
#include "core/safetensors.h"
#include "data/dataset.h"
#include "check.h"
#include "tmpfiles.h"

static void put_be32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* rc failed and err names both a and b (b may be NULL). */
static int fails_with(int rc, const tl_error *err, const char *a, const char *b) {
    int ok = rc != 0 && strstr(err->msg, a) && (!b || strstr(err->msg, b));
    if (!ok) fprintf(stderr, "  rc %d, message: %s\n", rc, err->msg);
    return ok;
}

/* A 16-byte IDX file whose header claims 2^31 - 1 images of 28x28 (and 2^31 labels). */
static void test_idx_huge_count(void) {
    unsigned char h[16];
    put_be32(h, 0x803); put_be32(h + 4, 0x7fffffffu); put_be32(h + 8, 28); put_be32(h + 12, 28);
    write_bytes(tmp("huge-images"), h, 16);
    tl_dataset d;
    tl_error err;
    double t0 = now();
    CHECK(fails_with(tl_idx_load(&d, tmp("huge-images"), NULL, &err), &err, "huge-images", "truncated"));
    CHECK(d.x == NULL && d.n == 0);
    put_be32(h, 0x801); put_be32(h + 4, 0x80000000u);
    write_bytes(tmp("huge-labels"), h, 8);
    put_be32(h, 0x803); put_be32(h + 4, 1); put_be32(h + 8, 1); put_be32(h + 12, 1);
    unsigned char img[17];
    memcpy(img, h, 16); img[16] = 7;
    write_bytes(tmp("one-image"), img, 17);
    CHECK(fails_with(tl_idx_load(&d, tmp("one-image"), tmp("huge-labels"), &err), &err, "huge-labels", "truncated"));
    /* sides over the limit, with the data present: 1 image of 1 x 70000 */
    size_t n = 16 + 70000;
    unsigned char *wide = calloc(1, n);
    put_be32(wide, 0x803); put_be32(wide + 4, 1); put_be32(wide + 8, 1); put_be32(wide + 12, 70000);
    write_bytes(tmp("wide"), wide, n);
    free(wide);
    CHECK(fails_with(tl_idx_load(&d, tmp("wide"), NULL, &err), &err, "wide", "over the limit"));
    CHECK(now() - t0 < 5.0);
}

/* A gzip'ed IDX whose header claims more images than the inflated content holds. */
static void test_idx_gzip_short(void) {
    unsigned char b[16 + 4];
    put_be32(b, 0x803); put_be32(b + 4, 1000000); put_be32(b + 8, 2); put_be32(b + 12, 2);
    memset(b + 16, 1, 4);
    gzFile f = gzopen(tmp("short.gz"), "wb");
    gzwrite(f, b, sizeof b);
    gzclose(f);
    tl_dataset d;
    tl_error err;
    CHECK(fails_with(tl_idx_load(&d, tmp("short.gz"), NULL, &err), &err, "short.gz", "truncated"));
}

/* PNG signature + IHDR chunk declaring w x h (8-bit, colour type ct) + an IDAT of one zero byte + IEND. */
static void write_png_header(const char *path, uint32_t w, uint32_t h, int ct) {
    unsigned char b[8 + 25 + 12 + 64 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *c = b + 8;
    put_be32(c, 13); memcpy(c + 4, "IHDR", 4); put_be32(c + 8, w); put_be32(c + 12, h);
    c[16] = 8; c[17] = (unsigned char)ct; c[18] = c[19] = c[20] = 0;
    put_be32(c + 21, (uint32_t)crc32(0, c + 4, 17));
    c += 25;
    unsigned char zero = 0;
    uLongf zl = 64;
    compress(c + 8, &zl, &zero, 1);
    put_be32(c, (uint32_t)zl); memcpy(c + 4, "IDAT", 4); put_be32(c + 8 + zl, (uint32_t)crc32(0, c + 4, (uInt)zl + 4));
    c += 12 + zl;
    put_be32(c, 0); memcpy(c + 4, "IEND", 4); put_be32(c + 8, (uint32_t)crc32(0, c + 4, 4));
    c += 12;
    write_bytes(path, b, (size_t)(c - b));
}

/* Decodes one image file (header probe first, as a data set does) and frees it. */
static int load_one(const char *path, tl_error *err) {
    tl_image_info info;
    tl_image im = {0}, tmp = {0};
    int rc = tl_image_probe(&info, path, err) < 0 ? -1 : tl_image_load(&im, &tmp, path, 3, 0, err);
    tl_image_free(&im);
    tl_image_free(&tmp);
    return rc;
}

static void test_png_huge_header(void) {
    tl_error err;
    write_png_header(tmp("huge.png"), 100000, 100000, 2);
    CHECK(fails_with(load_one(tmp("huge.png"), &err), &err, "huge.png", "over the limit"));
    /* each side within TL_DATA_MAX_SIDE, but 30000 x 30000 RGB is 2.7 GB of pixels */
    write_png_header(tmp("wide.png"), 30000, 30000, 2);
    CHECK(fails_with(load_one(tmp("wide.png"), &err), &err, "wide.png", "over the limit"));
    /* a sane header without its data is a decode error, not a crash */
    write_png_header(tmp("nodata.png"), 8, 8, 0);
    CHECK(fails_with(load_one(tmp("nodata.png"), &err), &err, "nodata.png", "bad PNG"));
}

/* A real 8x8 JPEG whose SOF0 marker is patched to claim w x h. */
static void test_jpeg_huge_header(void) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = ci.image_height = 8; ci.input_components = 3; ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    unsigned char row[24] = {0};
    JSAMPROW r = row;
    while (ci.next_scanline < 8) jpeg_write_scanlines(&ci, &r, 1);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    int patched = 0;
    for (unsigned long i = 0; i + 9 < len && !patched; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xC0) {   /* FFC0 len(2) precision(1) height(2) width(2) */
            buf[i + 5] = 60000 >> 8; buf[i + 6] = 60000 & 255; buf[i + 7] = 60000 >> 8; buf[i + 8] = 60000 & 255;
            patched = 1;
        }
    CHECK(patched);
    write_bytes(tmp("huge.jpg"), buf, len);
    free(buf);
    tl_error err;
    CHECK(fails_with(load_one(tmp("huge.jpg"), &err), &err, "huge.jpg", "over the limit"));
}

/* safetensors: a header length beyond the file, offsets beyond the data, shapes that disagree. */
static int st_parse_text(const char *header, size_t data_bytes, tl_error *err) {
    size_t hl = strlen(header), n = 8 + hl + data_bytes;
    unsigned char *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    tl_st_file f;
    int rc = tl_st_parse(&f, b, n, "t.safetensors", err);  /* takes b */
    if (rc == 0) tl_st_free(&f);
    return rc;
}

static void test_safetensors_limits(void) {
    tl_error err;
    unsigned char *b = calloc(1, 16);
    b[0] = 0xff; b[1] = 0xff; b[2] = 0xff; b[3] = 0x7f;           /* header of 2 GiB in a 16-byte file */
    tl_st_file f;
    CHECK(fails_with(tl_st_parse(&f, b, 16, "t.safetensors", &err), &err, "t.safetensors", "exceeds the file"));
    b = calloc(1, 16);
    b[0] = 9;                                                      /* 9 > 16 - 8 */
    CHECK(fails_with(tl_st_parse(&f, b, 16, "t.safetensors", &err), &err, "t.safetensors", "exceeds the file"));
    b = calloc(1, 16);
    b[7] = 0x80;                                                   /* 2^63 */
    CHECK(fails_with(tl_st_parse(&f, b, 16, "t.safetensors", &err), &err, "t.safetensors", "exceeds the file"));
    CHECK(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, &err) == 0);
    CHECK(fails_with(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, &err), &err,
                     "t.safetensors", "data_offsets out of range"));
    CHECK(fails_with(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000000,1000000000000],\"data_offsets\":[0,8]}}",
                                   8, &err), &err, "t.safetensors", "shape does not match"));
    CHECK(fails_with(st_parse_text("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8.5]}}", 9, &err), &err,
                     "t.safetensors", NULL));
    /* two tensors on the same bytes, and a gap between two tensors */
    CHECK(fails_with(st_parse_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, &err), &err,
                     "t.safetensors", "contiguous"));
    CHECK(fails_with(st_parse_text("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, &err), &err,
                     "t.safetensors", "contiguous"));
    /* in any order in the header, zero-size tensors included */
    CHECK(st_parse_text("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"z\":{\"dtype\":\"I32\",\"shape\":[0],"
                        "\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, &err) == 0);
}

/* CSV: one 10 MB line (5 million columns) followed by thousands of blank lines must load as one row
 * without reserving lines x columns values; a 10 MB cell is a clean error. */
static void test_csv_long_line(void) {
    size_t cols = 5000000, blank = 5000, n = cols * 2 + blank;
    char *text = malloc(n);
    for (size_t j = 0; j < cols; j++) { text[2 * j] = j + 1 == cols ? '3' : '1'; text[2 * j + 1] = j + 1 == cols ? '\n' : ','; }
    memset(text + cols * 2, '\n', blank);
    write_bytes(tmp("wide.csv"), text, n);
    tl_dataset tr, te;
    tl_error err;
    double t0 = now();
    CHECK_MSG(tl_csv_load(&tr, &te, tmp("wide.csv"), NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(tr.n == 1 && tr.c == (int)cols - 1 && tr.y[0] == 3 && tr.num_classes == 4 && te.n == 0);
    tl_dataset_free(&tr); tl_dataset_free(&te);
    /* one cell of 10 MB digits after a header (the message is cut to its buffer) */
    memcpy(text, "a,label\n", 8);
    memset(text + 8, '7', n - 11);
    memcpy(text + n - 3, ",1\n", 3);
    write_bytes(tmp("cell.csv"), text, n);
    CHECK(fails_with(tl_csv_load(&tr, &te, tmp("cell.csv"), NULL, NULL, &err), &err, "cell.csv:2", "column 0 ('a')"));
    free(text);
    CHECK(now() - t0 < 20.0);
}

/* CIFAR has no header: the record count comes from the file size, which must be whole records. */
static void test_cifar_sizes(void) {
    unsigned char rec[3073 + 5] = {0};
    write_bytes(tmp("part.bin"), rec, sizeof rec);
    const char *p = tmp("part.bin");
    tl_dataset d;
    tl_error err;
    CHECK(fails_with(tl_cifar_load(&d, &p, 1, 10, &err), &err, "part.bin", "whole number"));
    write_bytes(tmp("empty.bin"), rec, 0);
    p = tmp("empty.bin");
    CHECK(fails_with(tl_cifar_load(&d, &p, 1, 10, &err), &err, "empty.bin", NULL));
}

/* An image list whose label is not a number: the message quotes the label (found by fuzz_image:
 * the text was read after the list's buffer had been freed). */
static void test_imagelist_bad_label(void) {
    const char *text = "a.png 0\nb.png 3x\n";
    write_bytes(tmp("list.txt"), text, strlen(text));
    tl_dataset tr, te, va;
    tl_error err;
    CHECK(fails_with(tl_imagelist_load(&tr, &te, &va, tmpdir, tmp("list.txt"), tmp("list.txt"), NULL, &err), &err,
                     "list.txt:2", "label '3x' is not an integer"));
}

int main(void) {
    if (tmpfiles_open("limits")) return 1;
    RUN_TEST(test_idx_huge_count);
    RUN_TEST(test_idx_gzip_short);
    RUN_TEST(test_png_huge_header);
    RUN_TEST(test_jpeg_huge_header);
    RUN_TEST(test_safetensors_limits);
    RUN_TEST(test_csv_long_line);
    RUN_TEST(test_cifar_sizes);
    RUN_TEST(test_imagelist_bad_label);
    tmpfiles_close();
    TEST_MAIN_END();
}
