/* Image lists: "PATH LABEL" per line (ImageNet-LT style), images decoded with libpng / libjpeg. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

/* One decoded image may hold at most this many bytes (height * width * channels: 16384 x 16384 gray,
 * about 9458 x 9458 RGB), checked from the header before any pixel buffer is allocated, so a small
 * file claiming a huge image fails at once instead of asking for gigabytes. */
#define IMAGE_MAX_BYTES ((int64_t)1 << 28)

typedef struct {
    unsigned char *buf;  /* the list file, split in place */
    int n;
    char **paths;        /* [n] into buf */
    int *labels, *lines;
} image_list;

static void list_free(image_list *l) {
    free(l->buf); free(l->paths); free(l->labels); free(l->lines);
    memset(l, 0, sizeof *l);
}

static int list_read(image_list *l, const char *path, tl_error *err) {
    memset(l, 0, sizeof *l);
    int64_t len;
    if (tl_file_read(&l->buf, &len, path, err)) return -1;
    char *text = (char *)l->buf;
    int64_t nlines = 1;
    for (int64_t i = 0; i < len; i++) nlines += text[i] == '\n';
    if (nlines >= INT_MAX) { list_free(l); return tl_fail(err, "%s: too many lines", path); }
    l->paths = malloc(sizeof(char *) * (size_t)nlines);
    l->labels = malloc(sizeof(int) * (size_t)nlines);
    l->lines = malloc(sizeof(int) * (size_t)nlines);
    if (!l->paths || !l->labels || !l->lines) { list_free(l); return tl_fail(err, "%s: out of memory", path); }
    int line_no = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n'), *s = p;
        if (nl) *nl = 0;
        p = nl ? nl + 1 : NULL;
        line_no++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        char *sp = e;
        while (sp > s && !isspace((unsigned char)sp[-1])) sp--;
        if (sp == s) { list_free(l); return tl_fail(err, "%s:%d: expected 'PATH LABEL'", path, line_no); }
        char *end;
        errno = 0;
        long v = strtol(sp, &end, 10);
        if (end == sp || *end || errno) {
            tl_fail(err, "%s:%d: label '%s' is not an integer", path, line_no, sp); /* sp points into l->buf */
            list_free(l);
            return -1;
        }
        if (v < 0 || v >= TL_DATA_MAX_CLASSES) {
            list_free(l);
            return tl_fail(err, "%s:%d: label %ld is out of range (0..%d)", path, line_no, v, TL_DATA_MAX_CLASSES - 1);
        }
        char *pe = sp;
        while (pe > s && isspace((unsigned char)pe[-1])) *--pe = 0;
        l->paths[l->n] = s;
        l->labels[l->n] = (int)v;
        l->lines[l->n] = line_no;
        l->n++;
    }
    if (l->n == 0) { list_free(l); return tl_fail(err, "%s: the image list is empty", path); }
    return 0;
}

/* ---- PNG through libpng's simplified API: 8-bit gray or RGB out ---- */
static int decode_png(unsigned char **pix, int *h, int *w, int *c, const unsigned char *buf, size_t len,
                      const char *path, tl_error *err) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, buf, len)) return tl_fail(err, "%s: bad PNG: %s", path, im.message);
    *c = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    if (im.width > TL_DATA_MAX_SIDE || im.height > TL_DATA_MAX_SIDE || (int64_t)im.width * im.height * *c > IMAGE_MAX_BYTES) {
        png_image_free(&im);
        return tl_fail(err, "%s: PNG size %ux%u is over the limit", path, im.width, im.height);
    }
    im.format = *c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    *pix = malloc(PNG_IMAGE_SIZE(im));
    if (!*pix) { png_image_free(&im); return tl_fail(err, "%s: out of memory", path); }
    if (!png_image_finish_read(&im, NULL, *pix, 0, NULL)) {
        free(*pix); *pix = NULL;
        return tl_fail(err, "%s: bad PNG: %s", path, im.message);
    }
    *h = (int)im.height; *w = (int)im.width;
    return 0;
}

/* ---- JPEG through libjpeg, errors turned into a longjmp instead of exit() ---- */
typedef struct { struct jpeg_error_mgr pub; jmp_buf jb; char msg[JMSG_LENGTH_MAX]; } jpeg_err;
static void jpeg_on_error(j_common_ptr ci) {
    jpeg_err *e = (jpeg_err *)ci->err;
    (*ci->err->format_message)(ci, e->msg);
    longjmp(e->jb, 1);
}
static void jpeg_quiet(j_common_ptr ci) { (void)ci; } /* the library never prints */
/* libjpeg only warns on corrupt or truncated data (and pads with gray); tailor refuses such files. */
static void jpeg_warning_is_error(j_common_ptr ci, int level) {
    if (level < 0) jpeg_on_error(ci);
}

static int decode_jpeg(unsigned char **pix, int *h, int *w, int *c, const unsigned char *buf, size_t len,
                       const char *path, tl_error *err) {
    struct jpeg_decompress_struct ci;
    jpeg_err je;
    unsigned char *volatile out = NULL;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.output_message = jpeg_quiet;
    je.pub.emit_message = jpeg_warning_is_error;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(out);
        return tl_fail(err, "%s: bad JPEG: %s", path, je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&ci);
        return tl_fail(err, "%s: CMYK JPEG is not supported (convert it to RGB)", path);
    }
    ci.out_color_space = ci.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    if (ci.image_width > TL_DATA_MAX_SIDE || ci.image_height > TL_DATA_MAX_SIDE ||
        (int64_t)ci.image_width * ci.image_height * (ci.out_color_space == JCS_GRAYSCALE ? 1 : 3) > IMAGE_MAX_BYTES) {
        jpeg_destroy_decompress(&ci);
        return tl_fail(err, "%s: JPEG size %ux%u is over the limit", path, ci.image_width, ci.image_height);
    }
    jpeg_start_decompress(&ci);
    size_t stride = (size_t)ci.output_width * ci.output_components;
    out = malloc(stride * ci.output_height);
    if (!out) { jpeg_destroy_decompress(&ci); return tl_fail(err, "%s: out of memory", path); }
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = out + stride * ci.output_scanline;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    *h = (int)ci.output_height; *w = (int)ci.output_width; *c = ci.output_components;
    jpeg_destroy_decompress(&ci);
    *pix = out;
    return 0;
}

/* Decodes one file (format from its first bytes) into *pix, interleaved HWC u8. */
static int decode_file(unsigned char **pix, int *h, int *w, int *c, const char *path, tl_error *err) {
    unsigned char *buf;
    int64_t len;
    *pix = NULL;
    if (tl_file_read(&buf, &len, path, err)) return -1;
    int rc;
    if (len >= 8 && png_sig_cmp(buf, 0, 8) == 0) rc = decode_png(pix, h, w, c, buf, (size_t)len, path, err);
    else if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) rc = decode_jpeg(pix, h, w, c, buf, (size_t)len, path, err);
    else rc = tl_fail(err, "%s: not a PNG or JPEG file", path);
    free(buf);
    return rc;
}

static void hwc_to_chw(float *x, const unsigned char *pix, int c, int h, int w) {
    for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < h * w; j++) x[(size_t)ch * h * w + j] = pix[(size_t)j * c + ch];
}

int tl_image_load(tl_dataset *d, const char *path, tl_error *err) {
    memset(d, 0, sizeof *d);
    unsigned char *pix;
    int h, w, c;
    if (decode_file(&pix, &h, &w, &c, path, err)) return -1;
    int rc = tl_dataset_alloc(d, 1, c, h, w, 1, path, err);
    if (!rc) hwc_to_chw(d->x, pix, c, h, w);
    free(pix);
    return rc;
}

/* Decodes every image of l into d (allocated here). The shape is fixed by *shape_src (the first image of
 * the train list): shape[0..3) = c, h, w, or shape[0] = 0 when not yet known. */
static int load_list(tl_dataset *d, int shape[3], char *shape_src, int shape_cap, const image_list *l,
                     const char *root, const char *list_path, tl_error *err) {
    memset(d, 0, sizeof *d);
    char path[4096];
    for (int i = 0; i < l->n; i++) {
        const char *p = l->paths[i];
        int len = p[0] == '/' ? snprintf(path, sizeof path, "%s", p) : snprintf(path, sizeof path, "%s/%s", root, p);
        if (len < 0 || len >= (int)sizeof path) { tl_fail(err, "%s:%d: path too long", list_path, l->lines[i]); goto fail; }
        unsigned char *pix;
        int h, w, c;
        if (decode_file(&pix, &h, &w, &c, path, err)) { tl_fail_prefix(err, "%s:%d", list_path, l->lines[i]); goto fail; }
        if (!shape[0]) {
            shape[0] = c; shape[1] = h; shape[2] = w;
            snprintf(shape_src, (size_t)shape_cap, "%s", path);
        }
        if (c != shape[0] || h != shape[1] || w != shape[2]) {
            tl_fail(err, "%s: %dx%d with %d channel(s), but %s is %dx%d with %d; all images of a list must match",
                    path, h, w, c, shape_src, shape[1], shape[2], shape[0]);
            free(pix);
            goto fail;
        }
        if (!d->x && tl_dataset_alloc(d, l->n, c, h, w, 0, list_path, err)) { free(pix); goto fail; }
        hwc_to_chw(d->x + (size_t)i * c * h * w, pix, c, h, w);
        d->y[i] = l->labels[i];
        free(pix);
    }
    return 0;
fail:
    tl_dataset_free(d);
    return -1;
}

int tl_imagelist_load(tl_dataset *train, tl_dataset *test, const char *root, const char *train_list,
                      const char *test_list, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    image_list tl = {0}, el = {0};
    int shape[3] = {0, 0, 0}, rc = -1;
    char src[4096] = "";
    if (list_read(&tl, train_list, err) || list_read(&el, test_list, err)) goto out;
    if (load_list(train, shape, src, sizeof src, &tl, root, train_list, err)) goto out;
    if (load_list(test, shape, src, sizeof src, &el, root, test_list, err)) goto out;
    int k = 0;
    for (int i = 0; i < train->n; i++) if (train->y[i] >= k) k = train->y[i] + 1;
    for (int i = 0; i < test->n; i++) if (test->y[i] >= k) k = test->y[i] + 1;
    train->num_classes = test->num_classes = k;
    rc = 0;
out:
    if (rc) { tl_dataset_free(train); tl_dataset_free(test); }
    list_free(&tl);
    list_free(&el);
    return rc;
}
