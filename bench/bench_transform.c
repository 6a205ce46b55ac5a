/* Times tailor's transforms on one 500 x 375 RGB photo-like image (the size of a typical ImageNet /
 * iNaturalist JPEG): each pipeline of PIPES run `reps` times on a fresh copy of the image, median
 * and fastest microseconds per image (the copy, about 0.56 MB of memcpy, included: tl_transform_apply
 * works in place). Usage: bench_transform [REPS]   (one line per pipeline: spec<TAB>median<TAB>min) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "data/transform.h"
#include "timing.h"

static const char *const PIPES[] = {
    "random-resized-crop:size=224,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4",
    "random-resized-crop:size=224,flip",
    "resize:size=256,center-crop:size=224",
    "color-jitter:brightness=0.4,contrast=0.4,saturation=0.4",
};

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 200, H = 375, W = 500;
    tl_image src = {0}, im = {0}, tmp = {0};
    if (reps < 1 || tl_image_reserve(&src, H, W, 3)) return 1;
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_SYNTH);
    for (int y = 0; y < H; y++) /* smooth colour gradients plus noise */
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) {
                int v = (x * (k + 1) + y * (3 - k)) * 255 / (W * (k + 1) + H * (3 - k)) + (int)tl_rng_below(&r, 31) - 15;
                src.pix[((size_t)y * W + x) * 3 + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    double *t = malloc((size_t)reps * sizeof *t);
    for (size_t p = 0; p < sizeof PIPES / sizeof *PIPES; p++) {
        tl_transform tf;
        tl_error err;
        if (tl_transform_parse(&tf, PIPES[p], "bench_transform", &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        tl_rng_seed(&r, 2, TL_RNG_AUGMENT);
        for (int i = -10; i < reps; i++) {
            double t0 = now();
            if (tl_image_reserve(&im, H, W, 3)) return 1;
            memcpy(im.pix, src.pix, (size_t)H * W * 3);
            if (tl_transform_apply(&tf, &im, &tmp, &r)) return 1;
            if (i >= 0) t[i] = now() - t0;
        }
        double med = median(t, reps); /* sorts t */
        printf("%s\t%.1f\t%.1f\n", PIPES[p], 1e6 * med, 1e6 * t[0]);
    }
    free(t);
    tl_image_free(&src);
    tl_image_free(&im);
    tl_image_free(&tmp);
    return 0;
}
