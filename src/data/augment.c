/* Training augmentation of the CIFAR-LT references:
 *   torchvision RandomCrop(H, padding=P) then RandomHorizontalFlip(p=0.5), on the raw image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

int tl_augment_parse(const char *spec, tl_augment *a, tl_error *err) {
    memset(a, 0, sizeof *a);
    a->pad = -1;
    if (!spec || strcmp(spec, "none") == 0 || !*spec) return 0;
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) return tl_fail(err, "augmentation '%.40s...' is too long", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "flip") == 0) { a->flip = 1; continue; }
        if (strcmp(tok, "crop") == 0) { a->crop = 1; continue; }
        if (strncmp(tok, "crop:pad=", 9) == 0) {
            char *end;
            long p = strtol(tok + 9, &end, 10);
            if (end == tok + 9 || *end || p < 0 || p > 1024)
                return tl_fail(err, "augmentation '%s': crop:pad= needs an integer 0..1024", spec);
            a->crop = 1;
            a->pad = (int)p;
            continue;
        }
        return tl_fail(err, "augmentation '%s': unknown item '%s' (valid: none, crop, crop:pad=P, flip)", spec, tok);
    }
    return 0;
}

int tl_augment_pad(const tl_augment *a, int h, int w) {
    if (a->pad >= 0) return a->pad;
    return (h < 32 && w < 32) ? 2 : 4;
}

void tl_augment_apply(float *out, const float *inp, int c, int h, int w, const tl_augment *a, tl_rng *rng) {
    size_t hw = (size_t)h * w;
    if (h == 1 && w == 1) { memcpy(out, inp, sizeof(float) * c); return; } /* feature vectors: no-op */
    int dy = 0, dx = 0, flip = 0;
    if (a && a->crop) {
        int P = tl_augment_pad(a, h, w);
        /* torchvision picks the top-left corner (i, j) of the crop in the padded image, i, j in [0, 2P] */
        dy = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
        dx = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
    }
    if (a && a->flip) flip = tl_rng_uniform(rng) < 0.5;
    for (int ch = 0; ch < c; ch++) {
        const float *src = inp + ch * hw;
        float *dst = out + ch * hw;
        for (int y = 0; y < h; y++) {
            int sy = y + dy;
            for (int x = 0; x < w; x++) {
                int sx = (flip ? w - 1 - x : x) + dx;
                dst[(size_t)y * w + x] = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? src[(size_t)sy * w + sx] : 0.0f;
            }
        }
    }
}
