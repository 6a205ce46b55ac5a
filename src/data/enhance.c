/* PIL's ImageEnhance Brightness, Contrast and Color (torchvision's adjust_brightness / _contrast /
 * _saturation on PIL images): Image.blend(degenerate, image, factor), which computes
 * d + factor * (p - d) in single precision per sample, clips to 0..255 and truncates. Brightness and
 * contrast blend with a constant, so they are a 256-entry table; saturation blends with each pixel's
 * luma. */
#include "data/transform.h"

static inline uint8_t blend(int d, int p, float f) {
    float t = (float)d + f * (float)(p - d);
    return t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
}

static void blend_const(tl_image *im, int d, double factor) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) lut[v] = blend(d, v, (float)factor);
    size_t n = (size_t)im->h * im->w * im->c;
    for (size_t i = 0; i < n; i++) im->pix[i] = lut[im->pix[i]];
}

void tl_image_brightness(tl_image *im, double factor) { blend_const(im, 0, factor); }

void tl_image_contrast(tl_image *im, double factor) {
    size_t n = (size_t)im->h * im->w;
    uint64_t sum = 0;
    if (im->c == 3) for (size_t i = 0; i < n; i++) sum += tl_image_luma(im->pix + 3 * i);
    else for (size_t i = 0; i < n; i++) sum += im->pix[i];
    /* ImageStat's mean (a double quotient of exact integers), then int(mean + 0.5) */
    blend_const(im, (int)((double)sum / (double)n + 0.5), factor);
}

void tl_image_saturation(tl_image *im, double factor) {
    if (im->c != 3) return; /* a gray image is its own gray version */
    enum { CHUNK = 64 };
    size_t n = (size_t)im->h * im->w;
    float f = (float)factor;
    uint8_t l3[3 * CHUNK];
    /* per chunk: each pixel's luma spread over its three samples, then one blend loop along the samples
     * (a plain loop the compiler vectorises) */
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        int m = n - i0 < CHUNK ? (int)(n - i0) : CHUNK;
        uint8_t *p = im->pix + 3 * i0;
        for (int i = 0; i < m; i++) l3[3 * i] = l3[3 * i + 1] = l3[3 * i + 2] = tl_image_luma(p + 3 * i);
        for (int j = 0; j < 3 * m; j++) p[j] = blend(l3[j], p[j], f);
    }
}
