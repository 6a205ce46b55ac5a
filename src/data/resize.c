/* PIL's BILINEAR resize of 8-bit images (Pillow 9.4, libImaging/Resample.c semantics, written anew):
 * per axis, output sample o is centred at (o + 0.5) * scale in the input (scale = in / out); the
 * triangle filter's support is max(scale, 1), so a reduction averages every input sample it covers
 * (antialiasing); the weights, normalised to sum 1, become 22-bit fixed point, and each pass rounds
 * to uint8. Horizontal pass first, then vertical, as PIL, so the intermediate rounding matches; a pass
 * whose size does not change is skipped (PIL's need_horizontal / need_vertical).
 * The horizontal rows are made on demand into a ring of as many rows as the vertical filter spans, so
 * no intermediate image is allocated; coefficients, ring and accumulators share one scratch block on
 * the stack (on the heap only for very large reductions). */
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

/* One horizontal pass over a row of c-channel pixels (the tap count varies per output, so this stays
 * a scalar loop; the vertical pass below runs along whole rows and vectorises). */
static void rs_hrow(uint8_t *out, const uint8_t *in, int ow, int c, const rs_axis *a) {
    const int32_t *k = a->k;
    if (c == 3) {
        for (int o = 0; o < ow; o++, k += a->ksize, out += 3) {
            const uint8_t *p = in + (size_t)a->lo[o] * 3;
            int32_t s0 = RS_HALF, s1 = RS_HALF, s2 = RS_HALF;
            for (int i = 0, n = a->n[o]; i < n; i++, p += 3) {
                s0 += p[0] * k[i];
                s1 += p[1] * k[i];
                s2 += p[2] * k[i];
            }
            out[0] = rs_clip8(s0);
            out[1] = rs_clip8(s1);
            out[2] = rs_clip8(s2);
        }
    } else {
        for (int o = 0; o < ow; o++, k += a->ksize) {
            const uint8_t *p = in + a->lo[o];
            int32_t s0 = RS_HALF;
            for (int i = 0, n = a->n[o]; i < n; i++) s0 += p[i] * k[i];
            out[o] = rs_clip8(s0);
        }
    }
}

/* src: the top-left pixel of an ih x iw window in rows of `stride` bytes; dst: oh x ow, tightly packed. */
static int rs_resize(uint8_t *dst, int oh, int ow, const uint8_t *src, size_t stride, int ih, int iw, int c) {
    size_t orow = (size_t)ow * c;
    int hpass = ow != iw, vpass = oh != ih;
    if (!hpass && !vpass) {
        for (int y = 0; y < oh; y++) memcpy(dst + y * orow, src + y * stride, orow);
        return 0;
    }
    int kv = vpass ? rs_ksize(ih, oh) : 0;
    size_t bytes = (hpass ? rs_axis_bytes(iw, ow) : 0) +
                   (vpass ? rs_axis_bytes(ih, oh) + orow * sizeof(int32_t) + (hpass ? (size_t)kv * orow : 0) : 0);
    _Alignas(16) unsigned char stack[RS_STACK];
    unsigned char *mem = bytes <= sizeof stack ? stack : malloc(bytes), *m = mem;
    if (!mem) return -1;
    rs_axis ax, ay;
    if (hpass) m += rs_axis_init(&ax, m, iw, ow);
    if (!vpass) {
        for (int y = 0; y < oh; y++) rs_hrow(dst + y * orow, src + y * stride, ow, c, &ax);
    } else {
        m += rs_axis_init(&ay, m, ih, oh);
        int32_t *acc = (int32_t *)m;
        uint8_t *ring = (uint8_t *)(acc + orow);
        int next = 0; /* the next input row the horizontal pass makes */
        for (int y = 0; y < oh; y++) {
            int lo = ay.lo[y], n = ay.n[y];
            const int32_t *k = ay.k + (size_t)y * ay.ksize;
            /* the windows only move down and span at most kv rows, so the ring holds all of this one */
            if (hpass) {
                if (next < lo) next = lo;
                for (; next < lo + n; next++) rs_hrow(ring + (size_t)(next % kv) * orow, src + next * stride, ow, c, &ax);
            }
            for (size_t x = 0; x < orow; x++) acc[x] = RS_HALF;
            for (int i = 0; i < n; i++) {
                const uint8_t *r = hpass ? ring + (size_t)((lo + i) % kv) * orow : src + (size_t)(lo + i) * stride;
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
