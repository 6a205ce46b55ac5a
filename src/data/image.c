/* HWC uint8 images (data/transform.h): buffers, crop with zero fill, mirror, and PIL's L/RGB convert. */
#include <stdlib.h>
#include <string.h>
#include "data/transform.h"

int tl_image_reserve(tl_image *im, int h, int w, int c) {
    size_t need = (size_t)h * w * c;
    if (need > im->cap) {
        uint8_t *p = malloc(need); /* the old contents are not kept: no realloc copy */
        if (!p) return -1;
        free(im->pix);
        im->pix = p;
        im->cap = need;
    }
    im->h = h;
    im->w = w;
    im->c = c;
    return 0;
}

void tl_image_free(tl_image *im) {
    free(im->pix);
    memset(im, 0, sizeof *im);
}

int tl_image_crop(tl_image *dst, const tl_image *src, int top, int left, int h, int w) {
    int c = src->c;
    if (tl_image_reserve(dst, h, w, c)) return -1;
    /* the columns [x0, x1) of the window that fall inside src */
    int x0 = left < 0 ? -left : 0, x1 = src->w - left < w ? src->w - left : w;
    if (x1 < x0) x1 = x0;
    size_t row = (size_t)w * c;
    for (int y = 0; y < h; y++) {
        uint8_t *d = dst->pix + (size_t)y * row;
        int sy = top + y;
        if (sy < 0 || sy >= src->h || x0 == x1) { memset(d, 0, row); continue; }
        memset(d, 0, (size_t)x0 * c);
        memcpy(d + (size_t)x0 * c, src->pix + ((size_t)sy * src->w + left + x0) * c, (size_t)(x1 - x0) * c);
        memset(d + (size_t)x1 * c, 0, (size_t)(w - x1) * c);
    }
    return 0;
}

void tl_image_hflip(tl_image *im) {
    int c = im->c, w = im->w;
    for (int y = 0; y < im->h; y++) {
        uint8_t *a = im->pix + (size_t)y * w * c, *b = a + (size_t)(w - 1) * c;
        for (; a < b; a += c, b -= c)
            for (int k = 0; k < c; k++) { uint8_t t = a[k]; a[k] = b[k]; b[k] = t; }
    }
}

int tl_image_convert(tl_image *dst, const tl_image *src, int c) {
    if (tl_image_reserve(dst, src->h, src->w, c)) return -1;
    size_t n = (size_t)src->h * src->w;
    const uint8_t *s = src->pix;
    uint8_t *d = dst->pix;
    if (src->c == c) memcpy(d, s, n * c);
    else if (c == 1) for (size_t i = 0; i < n; i++) d[i] = tl_image_luma(s + 3 * i);
    else for (size_t i = 0; i < n; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
    return 0;
}
