/* Image transforms (data/transform.h): the parser and its messages, the size queries, crop:pad and flip
 * against the earlier float augmentation (reimplemented here, bitwise, same rng), resize identities, crop
 * padding, jitter factor 1, L/RGB round trip, the box draws and no reallocation on a second run.
 * Parity with torchvision itself is tests/parity/test_transforms.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/transform.h"
#include "check.h"

static void fill_random(tl_image *im, int h, int w, int c, uint64_t seed) {
    tl_rng r;
    tl_rng_seed(&r, seed, TL_RNG_SYNTH);
    CHECK(tl_image_reserve(im, h, w, c) == 0);
    for (size_t i = 0; i < (size_t)h * w * c; i++) im->pix[i] = (uint8_t)tl_rng_below(&r, 256);
}

static int same_image(const tl_image *a, const tl_image *b) {
    return a->h == b->h && a->w == b->w && a->c == b->c && memcmp(a->pix, b->pix, (size_t)a->h * a->w * a->c) == 0;
}

static void test_parse_valid(void) {
    tl_transform t;
    tl_error err;
    CHECK(tl_transform_parse(&t, "random-resized-crop:size=224,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4",
                             "--transform", &err) == 0);
    CHECK(t.n == 3);
    CHECK(t.op[0].kind == TL_TF_RESIZED_CROP && t.op[0].size == 224);
    CHECK(t.op[0].scale[0] == 0.08 && t.op[0].scale[1] == 1.0 && t.op[0].ratio[0] == 0.75 && t.op[0].ratio[1] == 4.0 / 3.0);
    CHECK(t.op[1].kind == TL_TF_FLIP);
    CHECK(t.op[2].kind == TL_TF_JITTER && t.op[2].brightness == 0.4 && t.op[2].contrast == 0.4 && t.op[2].saturation == 0.4);
    CHECK(strcmp(t.text, "random-resized-crop:size=224,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4") == 0);
    CHECK(tl_transform_parse(&t, "random-resized-crop:size=32,scale=0.35/1,ratio=0.5/2", "--transform", &err) == 0);
    CHECK(t.n == 1 && t.op[0].scale[0] == 0.35 && t.op[0].ratio[0] == 0.5 && t.op[0].ratio[1] == 2);
    CHECK(tl_transform_parse(&t, "crop,flip", "--transform", &err) == 0);
    CHECK(t.n == 2 && t.op[0].kind == TL_TF_CROP && t.op[0].pad == -1);
    CHECK(tl_transform_parse(&t, "crop:pad=0", "--transform", &err) == 0 && t.op[0].pad == 0);
    CHECK(tl_transform_parse(&t, "resize:size=256,center-crop:size=224", "--transform", &err) == 0);
    CHECK(t.n == 2 && t.op[0].kind == TL_TF_RESIZE && t.op[0].size == 256 && t.op[1].kind == TL_TF_CENTER_CROP);
    CHECK(tl_transform_parse(&t, "color-jitter:saturation=10", "--transform", &err) == 0 && t.op[0].brightness == 0);
    CHECK(tl_transform_parse(&t, "none", "--transform", &err) == 0 && t.n == 0);
    CHECK(tl_transform_parse(&t, "", "--transform", &err) == 0 && t.n == 0);
    CHECK(tl_transform_parse(&t, NULL, "--transform", &err) == 0 && t.n == 0);
}

/* spec must be refused with a message holding every one of the words */
static void refused(const char *spec, const char *w1, const char *w2) {
    tl_transform t;
    tl_error err = {{0}};
    int rc = tl_transform_parse(&t, spec, "--train-transform", &err);
    CHECK_MSG(rc == -1, "'%s' accepted", spec);
    CHECK_MSG(strstr(err.msg, "--train-transform") && strstr(err.msg, w1) && (!w2 || strstr(err.msg, w2)), "'%s': %s", spec, err.msg);
    CHECK(t.n == 0);
}

static void test_parse_invalid(void) {
    refused("rotate", "unknown name 'rotate'", "valid: resize, center-crop, random-resized-crop, flip, color-jitter, crop");
    refused("flip,", "empty item", NULL);
    refused("flip,,crop", "empty item", NULL);
    refused(":size=3", "empty name", NULL);
    refused("size=3", "before any item", NULL);
    refused("resize", "resize: needs size=S", NULL);
    refused("resize:size=0", "1..65536", NULL);
    refused("resize:size=65537", "1..65536", NULL);
    refused("center-crop:size=12x", "size=12x is not an integer", NULL);
    refused("resize:size=32,scale=0.5/1", "resize: unknown key 'scale'", "valid: size");
    refused("random-resized-crop:size=8,pad=2", "unknown key 'pad'", "valid: scale, ratio, size");
    refused("random-resized-crop:scale=0.5/1", "needs size=S", NULL);
    refused("random-resized-crop:size=8,scale=0/1", "0 < A <= B <= 1", NULL);
    refused("random-resized-crop:size=8,scale=0.5/0.4", "0 < A <= B <= 1", NULL);
    refused("random-resized-crop:size=8,scale=0.5/1.1", "0 < A <= B <= 1", NULL);
    refused("random-resized-crop:size=8,scale=0.5", "A/B", NULL);
    refused("random-resized-crop:size=8,ratio=0/1", "0 < A <= B", NULL);
    refused("random-resized-crop:size=8,ratio=2/1", "0 < A <= B", NULL);
    refused("random-resized-crop:size=8,ratio=1/inf", "ratio", NULL);
    refused("random-resized-crop:size=8,size=9", "given twice", NULL);
    refused("color-jitter:brightness=11", "0..10", NULL);
    refused("color-jitter:contrast=-0.1", "0..10", NULL);
    refused("color-jitter:saturation=nan", "saturation=nan", NULL);
    refused("color-jitter:hue=0.1", "unknown key 'hue'", "valid: brightness, contrast, saturation");
    refused("crop:pad=1025", "0..1024", NULL);
    refused("crop:pad=-1", "0..1024", NULL);
    refused("flip:p=0.3", "flip: unknown key 'p' (this takes no keys)", NULL);
    refused("flip:", "nothing after ':'", NULL);
    refused("none,flip", "unknown name 'none'", NULL);
    refused("flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip,flip", "more than 16", NULL);
    char long_spec[400];
    memset(long_spec, 'x', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = 0;
    refused(long_spec, "longer than 255", NULL);
}

static void test_sizes(void) {
    tl_transform t;
    int oh, ow;
    CHECK(tl_transform_parse(&t, "random-resized-crop:size=224,flip", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 375, 500, &oh, &ow) == 1 && oh == 224 && ow == 224);
    CHECK(tl_transform_load_side(&t) == 256 && tl_transform_is_random(&t));
    CHECK(tl_transform_parse(&t, "resize:size=256,center-crop:size=224", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 375, 500, &oh, &ow) == 1 && oh == 224 && ow == 224);
    CHECK(tl_transform_load_side(&t) == 256 && !tl_transform_is_random(&t));
    CHECK(tl_transform_parse(&t, "resize:size=100", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 375, 500, &oh, &ow) == 0 && oh == 100 && ow == 133); /* int(100 * 500 / 375) */
    CHECK(tl_transform_out_size(&t, 500, 375, &oh, &ow) == 0 && oh == 133 && ow == 100);
    CHECK(tl_transform_load_side(&t) == 100);
    CHECK(tl_transform_parse(&t, "center-crop:size=32,resize:size=64", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 17, 300, &oh, &ow) == 1 && oh == 64 && ow == 64);
    CHECK(tl_transform_load_side(&t) == 37); /* round(32 * 256 / 224) = round(36.57) */
    CHECK(tl_transform_parse(&t, "crop:pad=4,flip", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 32, 32, &oh, &ow) == 0 && oh == 32 && ow == 32);
    CHECK(tl_transform_load_side(&t) == 0 && tl_transform_is_random(&t));
    CHECK(tl_transform_parse(&t, "flip,resize:size=48", "t", NULL) == 0 && tl_transform_load_side(&t) == 48);
    CHECK(tl_transform_parse(&t, "color-jitter:brightness=0.2", "t", NULL) == 0 && tl_transform_is_random(&t));
    CHECK(tl_transform_parse(&t, "none", "t", NULL) == 0);
    CHECK(tl_transform_out_size(&t, 5, 7, &oh, &ow) == 0 && oh == 5 && ow == 7);
    CHECK(tl_transform_load_side(&t) == 0 && !tl_transform_is_random(&t));
}

/* The float CHW augmentation tailor had before its uint8 transforms (RandomCrop with padding, then
 * RandomHorizontalFlip), written out plainly: crop draws dy then dx in [0, 2P] - P, flip draws one
 * uniform, out(y, x) = in(y + dy, (flip ? w-1-x : x) + dx), 0 outside. Runs made before keep their
 * results only if this matches bit for bit. */
static void reference_augment(float *out, const float *in, int c, int h, int w, int crop, int pad, int flip, tl_rng *rng) {
    int dy = 0, dx = 0, f = 0;
    if (crop) {
        int P = pad >= 0 ? pad : (h < 32 && w < 32) ? 2 : 4;
        dy = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
        dx = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
    }
    if (flip) f = tl_rng_uniform(rng) < 0.5;
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sy = y + dy, sx = (f ? w - 1 - x : x) + dx;
                out[((size_t)ch * h + y) * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? in[((size_t)ch * h + sy) * w + sx] : 0.0f;
            }
}

static void test_crop_flip_match_augment(void) {
    static const struct { const char *spec; int crop, pad, flip; } SPECS[] = {
        {"crop:pad=4,flip", 1, 4, 1}, {"crop,flip", 1, -1, 1}, {"crop", 1, -1, 0}, {"flip", 0, -1, 1},
        {"crop:pad=0,flip", 1, 0, 1}, {"crop:pad=9", 1, 9, 0}};
    static const int SHAPES[][3] = {{32, 32, 3}, {28, 28, 1}, {17, 40, 3}, {31, 31, 1}, {1, 1, 3}, {5, 3, 1}};
    tl_image im = {0}, tmp = {0};
    for (size_t s = 0; s < sizeof SPECS / sizeof *SPECS; s++)
        for (size_t k = 0; k < sizeof SHAPES / sizeof *SHAPES; k++) {
            int h = SHAPES[k][0], w = SHAPES[k][1], c = SHAPES[k][2];
            size_t n = (size_t)h * w * c;
            tl_transform t;
            CHECK(tl_transform_parse(&t, SPECS[s].spec, "t", NULL) == 0);
            float *chw = malloc(n * sizeof *chw), *ref = malloc(n * sizeof *ref);
            tl_rng r1, r2;
            tl_rng_seed(&r1, 7 + s, TL_RNG_AUGMENT);
            r2 = r1;
            for (int img = 0; img < 40; img++) { /* one rng through many images, as a loader batch */
                fill_random(&im, h, w, c, 100 * s + img);
                for (int ch = 0; ch < c; ch++)
                    for (size_t i = 0; i < (size_t)h * w; i++) chw[ch * (size_t)h * w + i] = im.pix[i * c + ch];
                reference_augment(ref, chw, c, h, w, SPECS[s].crop, SPECS[s].pad, SPECS[s].flip, &r1);
                CHECK(tl_transform_apply(&t, &im, &tmp, &r2) == 0);
                int same = im.h == h && im.w == w && im.c == c;
                for (int ch = 0; ch < c && same; ch++)
                    for (size_t i = 0; i < (size_t)h * w; i++) same &= ref[ch * (size_t)h * w + i] == (float)im.pix[i * c + ch];
                CHECK_MSG(same, "%s on %dx%dx%d, image %d", SPECS[s].spec, h, w, c, img);
            }
            CHECK(memcmp(&r1, &r2, sizeof r1) == 0); /* the same draws */
            free(chw);
            free(ref);
        }
    tl_image_free(&im);
    tl_image_free(&tmp);
}

static void test_resize_identities(void) {
    tl_image a = {0}, b = {0}, c = {0};
    fill_random(&a, 13, 29, 3, 1);
    CHECK(tl_image_resize(&b, &a, 13, 29) == 0 && same_image(&a, &b)); /* same size: a copy */
    static const int SIZES[][2] = {{1, 1}, {7, 100}, {40, 3}, {224, 224}, {13, 5}, {2, 29}};
    for (int ch = 1; ch <= 3; ch += 2) {
        CHECK(tl_image_reserve(&a, 37, 53, ch) == 0);
        for (int v = 0; v < 256; v += 51) {
            memset(a.pix, v, (size_t)37 * 53 * ch);
            for (size_t k = 0; k < sizeof SIZES / sizeof *SIZES; k++) {
                CHECK(tl_image_resize(&b, &a, SIZES[k][0], SIZES[k][1]) == 0);
                CHECK(b.h == SIZES[k][0] && b.w == SIZES[k][1] && b.c == ch);
                int constant = 1;
                for (size_t i = 0; i < (size_t)b.h * b.w * ch; i++) constant &= b.pix[i] == v;
                CHECK_MSG(constant, "value %d to %dx%d", v, SIZES[k][0], SIZES[k][1]);
            }
        }
    }
    /* wide enough that the scratch goes to the heap */
    CHECK(tl_image_reserve(&a, 20, 3000, 3) == 0);
    memset(a.pix, 99, (size_t)20 * 3000 * 3);
    CHECK(tl_image_resize(&b, &a, 7, 2999) == 0 && b.pix[0] == 99 && b.pix[7 * 2999 * 3 - 1] == 99);
    /* resized_crop of a box = crop, then resize */
    fill_random(&a, 60, 80, 3, 2);
    CHECK(tl_image_resized_crop(&b, &a, 11, 17, 31, 45, 20, 24) == 0);
    CHECK(tl_image_crop(&c, &a, 11, 17, 31, 45) == 0 && tl_image_resize(&a, &c, 20, 24) == 0);
    CHECK(same_image(&a, &b));
    tl_image_free(&a);
    tl_image_free(&b);
    tl_image_free(&c);
}

static void test_crop_padding(void) {
    tl_image a = {0}, b = {0};
    fill_random(&a, 4, 6, 3, 3);
    CHECK(tl_image_crop(&b, &a, -2, 3, 5, 7) == 0 && b.h == 5 && b.w == 7 && b.c == 3);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++)
            for (int k = 0; k < 3; k++) {
                int sy = y - 2, sx = x + 3;
                int want = sy >= 0 && sy < 4 && sx < 6 ? a.pix[(sy * 6 + sx) * 3 + k] : 0;
                CHECK(b.pix[(y * 7 + x) * 3 + k] == want);
            }
    CHECK(tl_image_crop(&b, &a, 10, -20, 2, 2) == 0); /* entirely outside: all zero */
    CHECK(b.pix[0] == 0 && b.pix[11] == 0);
    /* center-crop larger than the image pads, torchvision's split: (S - w) // 2 on the left */
    tl_transform t;
    tl_image tmp = {0};
    CHECK(tl_transform_parse(&t, "center-crop:size=9", "t", NULL) == 0);
    fill_random(&a, 4, 6, 1, 4);
    CHECK(tl_image_crop(&b, &a, 0, 0, 4, 6) == 0);
    CHECK(tl_transform_apply(&t, &b, &tmp, NULL) == 0 && b.h == 9 && b.w == 9);
    CHECK(b.pix[2 * 9 + 1] == a.pix[0] && b.pix[2 * 9 + 0] == 0 && b.pix[(2 + 3) * 9 + 1 + 5] == a.pix[3 * 6 + 5]);
    tl_image_free(&a);
    tl_image_free(&b);
    tl_image_free(&tmp);
}

static void test_jitter_identity(void) {
    tl_image a = {0}, b = {0};
    for (int c = 1; c <= 3; c += 2) {
        fill_random(&a, 9, 11, c, 5);
        CHECK(tl_image_crop(&b, &a, 0, 0, 9, 11) == 0);
        tl_image_brightness(&b, 1.0);
        tl_image_contrast(&b, 1.0);
        tl_image_saturation(&b, 1.0);
        CHECK(same_image(&a, &b));
        tl_image_brightness(&b, 0.0);
        int black = 1;
        for (size_t i = 0; i < (size_t)9 * 11 * c; i++) black &= b.pix[i] == 0;
        CHECK(black);
    }
    fill_random(&a, 9, 11, 1, 6); /* saturation of a gray image is the identity */
    CHECK(tl_image_crop(&b, &a, 0, 0, 9, 11) == 0);
    tl_image_saturation(&b, 3.7);
    CHECK(same_image(&a, &b));
    /* contrast 0 gives the rounded mean everywhere */
    CHECK(tl_image_reserve(&a, 1, 2, 1) == 0);
    a.pix[0] = 10;
    a.pix[1] = 13; /* mean 11.5 -> 12 */
    tl_image_contrast(&a, 0.0);
    CHECK(a.pix[0] == 12 && a.pix[1] == 12);
    tl_image_free(&a);
    tl_image_free(&b);
}

static void test_convert_round_trip(void) {
    tl_image g = {0}, rgb = {0}, back = {0};
    fill_random(&g, 7, 5, 1, 8);
    CHECK(tl_image_convert(&rgb, &g, 3) == 0 && rgb.c == 3);
    CHECK(rgb.pix[0] == g.pix[0] && rgb.pix[1] == g.pix[0] && rgb.pix[2] == g.pix[0]);
    CHECK(tl_image_convert(&back, &rgb, 1) == 0 && same_image(&back, &g));
    uint8_t px[3] = {255, 0, 0};
    CHECK(tl_image_luma(px) == 76); /* (255 * 19595 + 0x8000) >> 16 */
    tl_image_free(&g);
    tl_image_free(&rgb);
    tl_image_free(&back);
}

static void test_resized_crop_params(void) {
    tl_rng r;
    tl_rng_seed(&r, 3, TL_RNG_AUGMENT);
    const double scale[2] = {0.08, 1.0}, ratio[2] = {0.75, 4.0 / 3.0};
    for (int i = 0; i < 2000; i++) {
        int top, left, h, w;
        tl_resized_crop_params(&top, &left, &h, &w, 30, 70, scale, ratio, &r);
        CHECK(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= 30 && left + w <= 70);
    }
    /* no try can fit a 1 x 500 strip: the central fallback, height 1, width round(1 * 4/3) = 1 */
    int top, left, h, w;
    tl_resized_crop_params(&top, &left, &h, &w, 1, 500, scale, ratio, &r);
    CHECK(h == 1 && w == 1 && top == 0 && left == 249);
    /* a tall strip: width kept, height round(w / 0.75) */
    tl_resized_crop_params(&top, &left, &h, &w, 500, 3, (const double[2]){0.99, 1.0}, ratio, &r);
    CHECK(w == 3 && h == 4 && top == 248 && left == 0);
}

static void test_no_realloc(void) {
    tl_transform t;
    CHECK(tl_transform_parse(&t, "random-resized-crop:size=24,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4",
                             "t", NULL) == 0);
    tl_image im = {0}, tmp = {0}, src = {0};
    fill_random(&src, 50, 70, 3, 9);
    tl_rng r;
    tl_rng_seed(&r, 1, TL_RNG_AUGMENT);
    CHECK(tl_image_crop(&im, &src, 0, 0, 50, 70) == 0 && tl_image_reserve(&tmp, 50, 70, 3) == 0);
    uint8_t *p1 = im.pix, *p2 = tmp.pix;
    for (int i = 0; i < 20; i++) {
        CHECK(tl_image_crop(&im, &src, 0, 0, 50, 70) == 0);
        CHECK(tl_transform_apply(&t, &im, &tmp, &r) == 0 && im.h == 24 && im.w == 24 && im.c == 3);
        CHECK((im.pix == p1 && tmp.pix == p2) || (im.pix == p2 && tmp.pix == p1));
    }
    tl_image_free(&im);
    tl_image_free(&tmp);
    tl_image_free(&src);
}

int main(void) {
    RUN_TEST(test_parse_valid);
    RUN_TEST(test_parse_invalid);
    RUN_TEST(test_sizes);
    RUN_TEST(test_crop_flip_match_augment);
    RUN_TEST(test_resize_identities);
    RUN_TEST(test_crop_padding);
    RUN_TEST(test_jitter_identity);
    RUN_TEST(test_convert_round_trip);
    RUN_TEST(test_resized_crop_params);
    RUN_TEST(test_no_realloc);
    TEST_MAIN_END();
}
