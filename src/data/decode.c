/* PNG (libpng) and JPEG (libjpeg-turbo) decoding into HWC uint8 images; see data/decode.h for the rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <jpeglib.h>
#include "core/error.h"
#include "data/file.h"
#include "data/decode.h"

int tl_image_sniff(const unsigned char *head, size_t n) {
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && !memcmp(head, png, 8)) return TL_IMAGE_PNG;
    if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) return TL_IMAGE_JPEG;
    return TL_IMAGE_NONE;
}

static int check_size(const char *path, const char *fmt, int64_t w, int64_t h, tl_error *err) {
    if (w <= 0 || h <= 0) return tl_fail(err, "%s: bad %s header (size %lldx%lld)", path, fmt, (long long)w, (long long)h);
    if (w > TL_IMAGE_MAX_SIDE || h > TL_IMAGE_MAX_SIDE || w * h > TL_IMAGE_MAX_PIXELS)
        return tl_fail(err, "%s: %s of %lldx%lld pixels is over the limit of %lld pixels", path, fmt, (long long)w,
                       (long long)h, (long long)TL_IMAGE_MAX_PIXELS);
    return 0;
}

/* ---- headers, read directly (no decoder state): PNG's IHDR, JPEG's first SOF marker ---- */
static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int probe_png(tl_image_info *info, FILE *f, const unsigned char *head, const char *path, tl_error *err) {
    (void)f;
    /* signature(8) length(4) "IHDR"(4) width(4) height(4) depth(1) colour type(1) */
    if (memcmp(head + 12, "IHDR", 4)) return tl_fail(err, "%s: bad PNG: no IHDR chunk first", path);
    int ct = head[25];
    if (ct != 0 && ct != 2 && ct != 3 && ct != 4 && ct != 6) return tl_fail(err, "%s: bad PNG: colour type %d", path, ct);
    info->format = TL_IMAGE_PNG;
    info->w = (int)(be32(head + 16) > 0x7fffffff ? 0 : be32(head + 16));
    info->h = (int)(be32(head + 20) > 0x7fffffff ? 0 : be32(head + 20));
    info->c = (ct == 0 || ct == 4) ? 1 : 3;
    return check_size(path, "PNG", be32(head + 16), be32(head + 20), err);
}

static int probe_jpeg(tl_image_info *info, FILE *f, const char *path, tl_error *err) {
    if (fseek(f, 2, SEEK_SET)) return tl_fail(err, "%s: cannot read: %s", path, strerror(errno));
    for (;;) {
        int m = fgetc(f);
        if (m == EOF) break;
        if (m != 0xFF) return tl_fail(err, "%s: bad JPEG: no marker where one is expected", path);
        while ((m = fgetc(f)) == 0xFF) {}
        if (m == EOF) break;
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* markers without a length */
        if (m == 0xD9 || m == 0xDA) break;                               /* end of image / start of scan before SOF */
        unsigned char len[2];
        if (fread(len, 1, 2, f) != 2) break;
        unsigned L = be16(len);
        if (L < 2) return tl_fail(err, "%s: bad JPEG: marker segment of length %u", path, L);
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            unsigned char sof[6];  /* precision, height, width, components */
            if (L < 8 || fread(sof, 1, 6, f) != 6) break;
            int nc = sof[5];
            if (nc != 1 && nc != 3 && nc != 4) return tl_fail(err, "%s: bad JPEG: %d colour components", path, nc);
            info->format = TL_IMAGE_JPEG;
            info->h = (int)be16(sof + 1);
            info->w = (int)be16(sof + 3);
            info->c = nc == 1 ? 1 : 3;
            return check_size(path, "JPEG", info->w, info->h, err);
        }
        if (fseek(f, (long)L - 2, SEEK_CUR)) break;
    }
    return tl_fail(err, "%s: bad JPEG: truncated before its frame header", path);
}

int tl_image_probe(tl_image_info *info, const char *path, tl_error *err) {
    memset(info, 0, sizeof *info);
    FILE *f = fopen(path, "rb");
    if (!f) return tl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[33];
    size_t n = fread(head, 1, sizeof head, f);
    int kind = tl_image_sniff(head, n), rc = 0;
    if (ferror(f)) rc = tl_fail(err, "%s: cannot read: %s", path, strerror(errno));
    else if (kind == TL_IMAGE_PNG) rc = n < sizeof head ? tl_fail(err, "%s: bad PNG: truncated header", path) : probe_png(info, f, head, path, err);
    else if (kind == TL_IMAGE_JPEG) rc = probe_jpeg(info, f, path, err);
    fclose(f);
    if (rc) return -1;
    return kind == TL_IMAGE_NONE ? 0 : 1;
}

/* ---- PNG through libpng's low-level API, so each conversion is the one chosen here ---- */
typedef struct { const unsigned char *buf; size_t len, pos; } png_mem;
static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    png_mem *m = png_get_io_ptr(png);
    if (n > m->len - m->pos) png_error(png, "file truncated");
    memcpy(out, m->buf + m->pos, n);
    m->pos += n;
}
typedef struct { jmp_buf jb; char msg[200]; } png_err;
static void png_on_error(png_structp png, png_const_charp msg) {
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jb, 1);
}
static void png_on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static int decode_png(tl_image *im, const unsigned char *buf, size_t len, const char *path, tl_error *err) {
    png_err e;
    png_mem m = {buf, len, 0};
    png_bytep *volatile rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        return tl_fail(err, "%s: out of memory", path);
    }
    if (setjmp(e.jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return tl_fail(err, "%s: bad PNG: %s", path, e.msg);
    }
    png_set_read_fn(png, &m, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int ct = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (check_size(path, "PNG", w, h, err)) { png_destroy_read_struct(&png, &info, NULL); return -1; }
    if (depth == 16) png_set_strip_16(png);              /* the high byte, as Pillow keeps it */
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth < 8) png_set_packing(png);
    if ((ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int c = png_get_channels(png, info);
    if ((c != 1 && c != 3) || png_get_rowbytes(png, info) != (size_t)w * c) {
        png_destroy_read_struct(&png, &info, NULL);
        return tl_fail(err, "%s: bad PNG: unexpected layout (%d channels)", path, c);
    }
    rows = malloc(sizeof(png_bytep) * h);
    if (!rows || tl_image_reserve(im, (int)h, (int)w, c)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        return tl_fail(err, "%s: out of memory for a %ux%u image", path, (unsigned)w, (unsigned)h);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = im->pix + (size_t)y * w * c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
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
static uint8_t clip8(int v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

static int decode_jpeg(tl_image *im, const unsigned char *buf, size_t len, int min_side, const char *path, tl_error *err) {
    struct jpeg_decompress_struct ci;
    jpeg_err je;
    uint8_t *volatile cmyk = NULL;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.output_message = jpeg_quiet;
    je.pub.emit_message = jpeg_warning_is_error;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(cmyk);
        return tl_fail(err, "%s: bad JPEG: %s", path, je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (check_size(path, "JPEG", ci.image_width, ci.image_height, err)) { jpeg_destroy_decompress(&ci); return -1; }
    int inks = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    ci.out_color_space = inks ? JCS_CMYK : ci.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    if (min_side > 0) {
        /* The largest reduction 1/8, 1/4, 1/2 whose shorter side (libjpeg rounds up) stays >= min_side. */
        unsigned s = ci.image_width < ci.image_height ? ci.image_width : ci.image_height;
        ci.scale_num = 1;
        ci.scale_denom = 1;
        for (unsigned d = 8; d > 1; d /= 2)
            if ((s + d - 1) / d >= (unsigned)min_side) { ci.scale_denom = d; break; }
    }
    jpeg_start_decompress(&ci);
    int c = inks ? 3 : ci.output_components;
    size_t stride = (size_t)ci.output_width * ci.output_components;
    if (tl_image_reserve(im, (int)ci.output_height, (int)ci.output_width, c) || (inks && !(cmyk = malloc(stride)))) {
        jpeg_destroy_decompress(&ci);
        return tl_fail(err, "%s: out of memory for a %ux%u image", path, ci.output_width, ci.output_height);
    }
    while (ci.output_scanline < ci.output_height) {
        uint8_t *row = im->pix + (size_t)ci.output_scanline * ci.output_width * c;
        JSAMPROW r = inks ? cmyk : row;
        jpeg_read_scanlines(&ci, &r, 1);
        if (!inks) continue;
        /* Adobe CMYK is stored inverted (what Pillow reads as "CMYK;I"); then R = 255 - min(255, C + K). */
        int inv = ci.saw_Adobe_marker;
        for (unsigned x = 0; x < ci.output_width; x++) {
            const uint8_t *p = cmyk + 4 * x;
            int k = inv ? 255 - p[3] : p[3];
            for (int ch = 0; ch < 3; ch++) row[3 * x + ch] = clip8(255 - ((inv ? 255 - p[ch] : p[ch]) + k));
        }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(cmyk);
    return 0;
}

int tl_image_decode(tl_image *im, const char *path, int min_side, tl_error *err) {
    unsigned char *buf;
    int64_t len;
    if (tl_file_read(&buf, &len, path, err)) return -1;
    int rc;
    switch (tl_image_sniff(buf, (size_t)len)) {
    case TL_IMAGE_PNG: rc = decode_png(im, buf, (size_t)len, path, err); break;
    case TL_IMAGE_JPEG: rc = decode_jpeg(im, buf, (size_t)len, min_side, path, err); break;
    default: rc = tl_fail(err, "%s: not a PNG or JPEG file", path);
    }
    free(buf);
    return rc;
}

int tl_image_load(tl_image *im, tl_image *tmp, const char *path, int c, int side, tl_error *err) {
    if (tl_image_decode(im, path, side, err)) return -1;
    if (im->c != c) {
        if (tl_image_convert(tmp, im, c)) return tl_fail(err, "%s: out of memory", path);
        tl_image t = *im; *im = *tmp; *tmp = t;
    }
    int s = im->h < im->w ? im->h : im->w, l = im->h < im->w ? im->w : im->h;
    if (side > 0 && s > 2 * side) {
        int other = (int)((int64_t)side * l / s);
        int oh = im->h < im->w ? side : other, ow = im->h < im->w ? other : side;
        if (tl_image_resize(tmp, im, oh, ow)) return tl_fail(err, "%s: out of memory", path);
        tl_image t = *im; *im = *tmp; *tmp = t;
    }
    return 0;
}
