/* PIL's BILINEAR resize of 8-bit images (Pillow 9.4, libImaging/Resample.c semantics, written anew):
 * per axis, output sample o is centred at (o + 0.5) * scale in the input (scale = in / out); the
 * triangle filter's support is max(scale, 1), so a reduction averages every input sample it covers
 * (antialiasing); the weights, normalised to sum 1, become 22-bit fixed point, and each pass rounds
 * to uint8. Horizontal pass first, then vertical, as PIL, so the intermediate rounding matches; a pass
 * whose size does not change is skipped (PIL's need_horizontal / need_vertical).
 * The horizontal rows are made on demand, a block at a time, into a ring of as many rows as the
 * vertical filter spans plus one block, so no intermediate image is allocated; coefficients, ring and
 * accumulators share one scratch block on the stack (on the heap only for images some 2700 pixels
 * wide or more, or very large reductions). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data/transform.h"

#define RS_BITS 22                       /* PIL's PRECISION_BITS for 8-bit images: 32 - 8 - 2 */
#define RS_HALF (1 << (RS_BITS - 1))
#define RS_STACK 65536                   /* bytes of scratch kept on the stack */

typedef struct {
    int ksize;                           /* stride of k: PIL's ceil(support) * 2 + 1 */
    int *lo, *n;                         /* output o reads inputs [lo[o], lo[o] + n[o]) */
    int32_t *k;                          /* fixed-point weights, k[o * ksize + i] */
} rs_axis;

static double rs_support(int in, int out) {
    double scale = (double)in / out;
    return scale < 1.0 ? 1.0 : scale;    /* the bilinear filter's support (1) times the filter scale */
}

static int rs_ksize(int in, int out) { return (int)ceil(rs_support(in, out)) * 2 + 1; }

static size_t rs_axis_bytes(int in, int out) {
    return (size_t)out * (2 * sizeof(int) + (size_t)rs_ksize(in, out) * sizeof(int32_t));
}

static inline double rs_triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Fills a from mem (rs_axis_bytes(in, out) bytes, int-aligned); returns the bytes used. */
static size_t rs_axis_init(rs_axis *a, void *mem, int in, int out) {
    a->ksize = rs_ksize(in, out);
    a->k = mem;
    a->lo = (int *)(a->k + (size_t)out * a->ksize);
    a->n = a->lo + out;
    double scale = (double)in / out, support = rs_support(in, out), ss = 1.0 / support;
    for (int o = 0; o < out; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5); /* PIL truncates */
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        double sum = 0.0;
        for (int i = 0; i < hi - lo; i++) sum += rs_triangle((i + lo - center + 0.5) * ss);
        int32_t *k = a->k + (size_t)o * a->ksize;
        for (int i = 0; i < a->ksize; i++) {
            double w = i < hi - lo ? rs_triangle((i + lo - center + 0.5) * ss) : 0.0;
            if (sum != 0.0) w /= sum;
            k[i] = (int32_t)(0.5 + w * (1 << RS_BITS)); /* w >= 0: PIL's rounding of positive weights */
        }
        a->lo[o] = lo;
        a->n[o] = hi - lo;
    }
    return rs_axis_bytes(in, out);
}

static inline uint8_t rs_clip8(int32_t s) {
    s >>= RS_BITS;
    return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

/* The horizontal pass works on blocks of RS_ROWS rows: the block is first transposed so that each input
 * column holds its RS_ROWS x c samples side by side, then every tap of every output is one multiply-add
 * over those RS_LANES samples (a fixed-length loop the compiler vectorises, where a per-row loop would
 * be scalar: the tap count varies per output). */
#define RS_ROWS 8
#define RS_LANES (RS_ROWS * 3)

static inline void rs_hblock_c(uint8_t *const *out, const uint8_t *in, size_t stride, int rows, int ow, int iw,
                               const rs_axis *a, uint8_t *cols, const int C) {
    const int L = RS_ROWS * C;
    for (int r = 0; r < RS_ROWS; r++) {
        const uint8_t *p = in + (size_t)(r < rows ? r : 0) * stride; /* short blocks repeat row 0 */
        for (int x = 0; x < iw; x++)
            for (int ch = 0; ch < C; ch++) cols[(size_t)x * L + r * C + ch] = p[x * C + ch];
    }
    const int32_t *k = a->k;
    for (int o = 0; o < ow; o++, k += a->ksize) {
        int32_t acc[RS_LANES];
        for (int j = 0; j < L; j++) acc[j] = RS_HALF;
        const uint8_t *col = cols + (size_t)a->lo[o] * L;
        for (int i = 0, n = a->n[o]; i < n; i++, col += L)
            for (int j = 0; j < L; j++) acc[j] += (int32_t)col[j] * k[i];
        for (int r = 0; r < rows; r++)
            for (int ch = 0; ch < C; ch++) out[r][o * C + ch] = rs_clip8(acc[r * C + ch]);
    }
}

/* rows (<= RS_ROWS) input rows from in through the horizontal pass into out[0..rows) */
static void rs_hblock(uint8_t *const *out, const uint8_t *in, size_t stride, int rows, int ow, int iw, int c,
                      const rs_axis *a, uint8_t *cols) {
    if (c == 3) rs_hblock_c(out, in, stride, rows, ow, iw, a, cols, 3);
    else rs_hblock_c(out, in, stride, rows, ow, iw, a, cols, 1);
}

/* src: the top-left pixel of an ih x iw window in rows of `stride` bytes; dst: oh x ow, tightly packed. */
static int rs_resize(uint8_t *dst, int oh, int ow, const uint8_t *src, size_t stride, int ih, int iw, int c) {
    size_t orow = (size_t)ow * c;
    int hpass = ow != iw, vpass = oh != ih;
    if (!hpass && !vpass) {
        for (int y = 0; y < oh; y++) memcpy(dst + y * orow, src + y * stride, orow);
        return 0;
    }
    /* the ring holds the rows the vertical filter spans plus one block made ahead of need */
    int cap = vpass ? rs_ksize(ih, oh) + RS_ROWS : 0;
    size_t bytes = (hpass ? rs_axis_bytes(iw, ow) + (size_t)iw * RS_ROWS * c + (vpass ? (size_t)cap * orow : 0) : 0) +
                   (vpass ? rs_axis_bytes(ih, oh) + orow * sizeof(int32_t) : 0);
    _Alignas(16) unsigned char stack[RS_STACK];
    unsigned char *mem = bytes <= sizeof stack ? stack : malloc(bytes), *m = mem;
    if (!mem) return -1;
    rs_axis ax, ay;
    uint8_t *out[RS_ROWS];
    if (!vpass) {
        m += rs_axis_init(&ax, m, iw, ow);
        for (int y = 0; y < oh; y += RS_ROWS) {
            int rows = oh - y < RS_ROWS ? oh - y : RS_ROWS;
            for (int r = 0; r < rows; r++) out[r] = dst + (y + r) * orow;
            rs_hblock(out, src + y * stride, stride, rows, ow, iw, c, &ax, m);
        }
    } else {
        m += rs_axis_init(&ay, m, ih, oh);
        int32_t *acc = (int32_t *)m;
        m += orow * sizeof(int32_t);
        uint8_t *ring = NULL, *cols = NULL;
        if (hpass) {
            m += rs_axis_init(&ax, m, iw, ow);
            ring = m;
            cols = ring + (size_t)cap * orow;
        }
        int next = 0, last = ay.lo[oh - 1] + ay.n[oh - 1]; /* the next input row to make; the end of those used */
        for (int y = 0; y < oh; y++) {
            int lo = ay.lo[y], n = ay.n[y];
            const int32_t *k = ay.k + (size_t)y * ay.ksize;
            /* the windows only move down and span fewer than cap - RS_ROWS rows, so a block made for this
             * window never overwrites a row of it */
            if (hpass) {
                if (next < lo) next = lo;
                while (next < lo + n) {
                    int rows = last - next < RS_ROWS ? last - next : RS_ROWS;
                    for (int r = 0; r < rows; r++) out[r] = ring + (size_t)((next + r) % cap) * orow;
                    rs_hblock(out, src + next * stride, stride, rows, ow, iw, c, &ax, cols);
                    next += rows;
                }
            }
            for (size_t x = 0; x < orow; x++) acc[x] = RS_HALF;
            for (int i = 0; i < n; i++) {
                const uint8_t *r = hpass ? ring + (size_t)((lo + i) % cap) * orow : src + (size_t)(lo + i) * stride;
                int32_t w = k[i];
                for (size_t x = 0; x < orow; x++) acc[x] += (int32_t)r[x] * w;
            }
            uint8_t *d = dst + y * orow;
            for (size_t x = 0; x < orow; x++) d[x] = rs_clip8(acc[x]);
        }
    }
    if (mem != stack) free(mem);
    return 0;
}

int tl_image_resized_crop(tl_image *dst, const tl_image *src, int top, int left, int h, int w, int oh, int ow) {
    if (tl_image_reserve(dst, oh, ow, src->c)) return -1;
    size_t stride = (size_t)src->w * src->c;
    return rs_resize(dst->pix, oh, ow, src->pix + (size_t)top * stride + (size_t)left * src->c, stride, h, w, src->c);
}

int tl_image_resize(tl_image *dst, const tl_image *src, int oh, int ow) {
    return tl_image_resized_crop(dst, src, 0, 0, src->h, src->w, oh, ow);
}
