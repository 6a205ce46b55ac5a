/* Writes random images and tailor's transforms of them, for test_transforms.py.
 * Usage: transform_dump OUT.safetensors. Image s is "img<s>" (I32, h x w x c); case k is "k" (its output,
 * I32, h x w x c) with the metadata entry "k" = "s WHAT", WHAT what was done to image s, as words the
 * test hands to torchvision:
 *   resize OH OW | center_crop S | pad_crop P TOP LEFT (the h x w window of the image padded by P) |
 *   hflip | resized_crop TOP LEFT H W S | brightness F | contrast F | saturation F | convert C |
 *   pipeline SPEC (a deterministic tl_transform).
 * Case "boxes" (I32, N x 4: top, left, h, w) holds tl_resized_crop_params draws; its metadata entry
 * gives "IH IW SCALE0 SCALE1 RATIO0 RATIO1". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "data/transform.h"

#define MAXC 400
static tl_st_tensor T[2 * MAXC + 8];
static char *M[2 * MAXC + 8], names[2 * MAXC + 8][32];
static int nt, nm;
static int32_t *bufs[2 * MAXC + 8];

static void put(const char *name, const tl_image *im) {
    int32_t *b = malloc((size_t)im->h * im->w * im->c * sizeof *b);
    for (size_t i = 0; i < (size_t)im->h * im->w * im->c; i++) b[i] = im->pix[i];
    snprintf(names[nt], sizeof names[nt], "%s", name);
    bufs[nt] = b;
    T[nt] = (tl_st_tensor){names[nt], "I32", 3, {im->h, im->w, im->c}, b};
    nt++;
}

static int ncase, nimg;
/* Records the output of one case on image nimg - 1 with its description. */
static void record(const tl_image *out, const char *what) {
    char key[32], desc[240];
    snprintf(key, sizeof key, "%d", ncase++);
    put(key, out);
    snprintf(desc, sizeof desc, "%d %s", nimg - 1, what);
    M[nm++] = strdup(key);
    M[nm++] = strdup(desc);
}

static void random_image(tl_image *im, int h, int w, int c, tl_rng *r) {
    tl_image_reserve(im, h, w, c);
    /* half the images smooth (a gradient plus noise: what photos look like), half pure noise */
    int smooth = (int)tl_rng_below(r, 2);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                int v = smooth ? (int)(255.0 * (x + y * (k + 1)) / (w + h * (k + 1))) + (int)tl_rng_below(r, 21) - 10
                               : (int)tl_rng_below(r, 256);
                im->pix[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: transform_dump OUT.safetensors\n"); return 2; }
    static const int SIZES[][3] = {{17, 300, 1}, {17, 300, 3}, {375, 500, 3}, {500, 375, 1}, {64, 64, 3}, {3, 5, 1}, {3, 5, 3}};
    static const double FACTORS[] = {0.0, 0.3, 0.77, 1.0, 1.4, 2.5};
    tl_rng rng;
    tl_rng_seed(&rng, 15, TL_RNG_DATA);
    tl_image in = {0}, out = {0}, tmp = {0};
    char what[200];
    for (size_t s = 0; s < sizeof SIZES / sizeof *SIZES; s++) {
        int h = SIZES[s][0], w = SIZES[s][1], c = SIZES[s][2];
        random_image(&in, h, w, c, &rng);
        char iname[16];
        snprintf(iname, sizeof iname, "img%d", nimg++);
        put(iname, &in);
        /* resize: down, up, both, one axis only, and a shorter side of 1 */
        const int RS[][2] = {{h / 2 + 1, w / 3 + 1}, {h < 100 ? h * 2 + 3 : h + 50, w < 100 ? (w * 7) / 3 : w + 21},
                             {h < 100 ? h * 3 : h / 9, w / 4 + 1}, {h, w / 2 + 1},
                             {h / 5 + 1, w}, {1, 1}, {224, 224}, {h + 1, w - 1}};
        for (size_t k = 0; k < sizeof RS / sizeof *RS; k++) {
            tl_image_resize(&out, &in, RS[k][0], RS[k][1]);
            snprintf(what, sizeof what, "resize %d %d", RS[k][0], RS[k][1]);
            record(&out, what);
        }
        const int CS[] = {1, 2, 3, 4, 16, 63, 224};
        for (size_t k = 0; k < sizeof CS / sizeof *CS; k++) {
            tl_transform t;
            snprintf(what, sizeof what, "center-crop:size=%d", CS[k]);
            if (tl_transform_parse(&t, what, "transform_dump", NULL)) return 1;
            tl_image_crop(&tmp, &in, 0, 0, h, w);
            tl_transform_apply(&t, &tmp, &out, &rng);
            snprintf(what, sizeof what, "center_crop %d", CS[k]);
            record(&tmp, what);
        }
        for (int k = 0; k < 3; k++) {
            int P = (int)tl_rng_below(&rng, 6), top = (int)tl_rng_below(&rng, 2 * P + 1) - P, left = (int)tl_rng_below(&rng, 2 * P + 1) - P;
            tl_image_crop(&out, &in, top, left, h, w);
            snprintf(what, sizeof what, "pad_crop %d %d %d", P, top, left);
            record(&out, what);
        }
        tl_image_crop(&out, &in, 0, 0, h, w);
        tl_image_hflip(&out);
        record(&out, "hflip");
        const double scale[2] = {0.08, 1.0}, ratio[2] = {3.0 / 4.0, 4.0 / 3.0};
        for (int k = 0; k < 3; k++) {
            int top, left, bh, bw, S = k == 0 ? 224 : k == 1 ? 32 : 7;
            tl_resized_crop_params(&top, &left, &bh, &bw, h, w, scale, ratio, &rng);
            tl_image_resized_crop(&out, &in, top, left, bh, bw, S, S);
            snprintf(what, sizeof what, "resized_crop %d %d %d %d %d", top, left, bh, bw, S);
            record(&out, what);
        }
        for (size_t k = 0; k < sizeof FACTORS / sizeof *FACTORS; k++) {
            const char *op[3] = {"brightness", "contrast", "saturation"};
            for (int j = 0; j < 3; j++) {
                tl_image_crop(&out, &in, 0, 0, h, w);
                if (j == 0) tl_image_brightness(&out, FACTORS[k]);
                else if (j == 1) tl_image_contrast(&out, FACTORS[k]);
                else tl_image_saturation(&out, FACTORS[k]);
                snprintf(what, sizeof what, "%s %.17g", op[j], FACTORS[k]);
                record(&out, what);
            }
        }
        tl_image_convert(&out, &in, 4 - c);
        snprintf(what, sizeof what, "convert %d", 4 - c);
        record(&out, what);
        const char *PIPES[] = {"resize:size=256,center-crop:size=224", "resize:size=40", "center-crop:size=32,resize:size=100"};
        for (size_t k = 0; k < sizeof PIPES / sizeof *PIPES; k++) {
            tl_transform t;
            if (tl_transform_parse(&t, PIPES[k], "transform_dump", NULL)) return 1;
            tl_image_crop(&out, &in, 0, 0, h, w);
            tl_transform_apply(&t, &out, &tmp, &rng);
            snprintf(what, sizeof what, "pipeline %s", PIPES[k]);
            record(&out, what);
        }
    }
    /* box draws: a photo, a wide strip (the fallback for about half the draws), a narrow scale range */
    static const struct { int ih, iw; double s0, s1, r0, r1; } BOX[] = {
        {375, 500, 0.08, 1.0, 0.75, 4.0 / 3.0}, {40, 300, 0.08, 1.0, 0.75, 4.0 / 3.0}, {64, 64, 0.5, 0.7, 0.5, 2.0}};
    enum { NBOX = 20000 };
    static char bnames[3][24];
    for (int b = 0; b < 3; b++) {
        int32_t *box = malloc(NBOX * 4 * sizeof *box);
        const double sc[2] = {BOX[b].s0, BOX[b].s1}, ra[2] = {BOX[b].r0, BOX[b].r1};
        for (int i = 0; i < NBOX; i++)
            tl_resized_crop_params(&box[4 * i], &box[4 * i + 1], &box[4 * i + 2], &box[4 * i + 3], BOX[b].ih, BOX[b].iw, sc, ra, &rng);
        snprintf(bnames[b], sizeof bnames[b], "boxes%d", b);
        bufs[nt] = box;
        T[nt++] = (tl_st_tensor){bnames[b], "I32", 2, {NBOX, 4}, box};
        snprintf(what, sizeof what, "%d %d %.17g %.17g %.17g %.17g", BOX[b].ih, BOX[b].iw, sc[0], sc[1], ra[0], ra[1]);
        M[nm++] = strdup(bnames[b]);
        M[nm++] = strdup(what);
    }
    tl_error err;
    int rc = tl_st_write(argv[1], T, nt, (const char *const *)M, nm / 2, &err);
    if (rc) fprintf(stderr, "transform_dump: %s\n", err.msg);
    for (int i = 0; i < nt; i++) free(bufs[i]);
    for (int i = 0; i < nm; i++) free(M[i]);
    tl_image_free(&in);
    tl_image_free(&out);
    tl_image_free(&tmp);
    return rc ? 1 : 0;
}
