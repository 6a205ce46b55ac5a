/* Image transforms named and computed as torchvision's on PIL images (torchvision.transforms), on
 * interleaved HWC uint8 images: what a PIL image holds, so each step rounds to uint8 as PIL does.
 *
 * A pipeline is a comma list of items; a comma token holding '=' is a key of the item before it:
 *   resize:size=S                       shorter side to S, the other side int(S * long / short)
 *                                       (torchvision Resize(S)), bilinear with antialiasing (PIL)
 *   center-crop:size=S                  torchvision CenterCrop(S): top = int(round((h - S) / 2.0))
 *                                       (Python's round: half to even); where S exceeds the image,
 *                                       zero padding, (S - h) // 2 of it above (so top = -((S - h) // 2))
 *   random-resized-crop:size=S,scale=A/B,ratio=A/B
 *                                       torchvision RandomResizedCrop(S, scale=(A, B), ratio=(A, B)):
 *                                       10 tries of (area, log-uniform ratio), then the central
 *                                       fallback; the crop resized to S x S (bilinear, antialiased)
 *                                       defaults scale=0.08/1, ratio=0.75/1.3333333333333333
 *   flip                                RandomHorizontalFlip(p = 0.5)
 *   color-jitter:brightness=B,contrast=C,saturation=S
 *                                       ColorJitter(B, C, S): the factors uniform in [max(0, 1 - x), 1 + x],
 *                                       applied in a random order (PIL ImageEnhance semantics)
 *   crop[:pad=P]                        RandomCrop(h x w, padding=P) (zero fill); P < 0: 2 for images
 *                                       under 32 pixels, 4 otherwise (the CIFAR-LT recipe)
 * "none" or "" is the empty pipeline. Draws from the rng happen in item order, so a pipeline's result
 * depends only on the image and the rng state. */
#ifndef TL_DATA_TRANSFORM_H
#define TL_DATA_TRANSFORM_H
#include <stddef.h>
#include <stdint.h>
#include "tailor.h"
#include "core/rng.h"

/* An image: pix[(y * w + x) * c + ch], c = 1 (gray) or 3 (RGB); cap = bytes allocated at pix. */
typedef struct {
    uint8_t *pix;
    int h, w, c;
    size_t cap;
} tl_image;

/* Makes room for h * w * c bytes (keeps pix when large enough) and sets the shape. -1 on OOM. */
int tl_image_reserve(tl_image *im, int h, int w, int c);
void tl_image_free(tl_image *im);

enum { TL_TF_RESIZE, TL_TF_CENTER_CROP, TL_TF_RESIZED_CROP, TL_TF_FLIP, TL_TF_JITTER, TL_TF_CROP };
#define TL_TRANSFORM_MAX 16
typedef struct {
    int kind;                         /* TL_TF_* */
    int size, pad;                    /* resize / crops: S; crop: P (-1 = default) */
    double scale[2], ratio[2];        /* random-resized-crop */
    double brightness, contrast, saturation;
} tl_transform_op;
typedef struct {
    int n;
    tl_transform_op op[TL_TRANSFORM_MAX];
    char text[256];                   /* the spec as given, for messages and config.json */
} tl_transform;

/* Parses a pipeline; errors name `option` and list the valid items and keys. */
int tl_transform_parse(tl_transform *t, const char *spec, const char *option, tl_error *err);
/* Whether the pipeline draws random numbers (a training augmentation) or is deterministic. */
int tl_transform_is_random(const tl_transform *t);
/* The output size of the pipeline for an in_h x in_w input; returns 1 when it is the same for every
 * input (a center-crop or random-resized-crop fixes it, and the resizes after one keep it fixed), 0
 * when it depends on the input's size (oh, ow then hold this input's; a caller whose images all have
 * one size may still batch them). */
int tl_transform_out_size(const tl_transform *t, int in_h, int in_w, int *oh, int *ow);
/* The shorter side the pipeline wants its input to have at most, so images can be decoded and reduced
 * once to that size before it runs: the first resize's S; a first random-resized-crop or center-crop
 * of size S asks for round(S * 256 / 224) (ImageNet's resize-then-crop ratio); 0 = no limit (crop:pad
 * and flip keep the image as it is). */
int tl_transform_load_side(const tl_transform *t);
/* Runs the pipeline on *im (tmp is scratch; both may be reallocated, the result is in *im). Returns -1
 * only on out of memory. */
int tl_transform_apply(const tl_transform *t, tl_image *im, tl_image *tmp, tl_rng *rng);

/* ---- the single operations, with the parameters a random transform would draw (tests and parity) ---- */
/* dst (not src) = src resized to oh x ow: PIL's BILINEAR resize (triangle filter, support scaled by the reduction
 * factor so downscaling antialiases), separable, horizontal pass first, each pass rounded to uint8. */
int tl_image_resize(tl_image *dst, const tl_image *src, int oh, int ow);
/* dst = the h x w box of src at (top, left) resized to oh x ow: torchvision's resized_crop (crop, then
 * resize), read in place without copying the box out; the box must lie inside src. */
int tl_image_resized_crop(tl_image *dst, const tl_image *src, int top, int left, int h, int w, int oh, int ow);
/* dst (not src) = the h x w window of src at (top, left); pixels outside src are 0 (torchvision's
 * crop/pad). */
int tl_image_crop(tl_image *dst, const tl_image *src, int top, int left, int h, int w);
/* In place: mirror left-right. */
void tl_image_hflip(tl_image *im);
/* In place, PIL ImageEnhance: brightness blends with black, contrast with the mean of the gray image
 * (rounded to an integer), saturation with the gray image (ITU-R 601-2 luma, PIL's "L"); factor 1 is
 * the identity; saturation of a 1-channel image is the identity. */
void tl_image_brightness(tl_image *im, double factor);
void tl_image_contrast(tl_image *im, double factor);
void tl_image_saturation(tl_image *im, double factor);
/* dst (not src) = src converted to c channels as PIL's convert does: "L" from RGB is
 * (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16, "RGB" from L repeats the gray value. */
int tl_image_convert(tl_image *dst, const tl_image *src, int c);
/* PIL's "L" value of one RGB pixel (the one home of the luma weights: convert, contrast, saturation). */
static inline uint8_t tl_image_luma(const uint8_t *rgb) {
    return (uint8_t)(((uint32_t)rgb[0] * 19595 + (uint32_t)rgb[1] * 38470 + (uint32_t)rgb[2] * 7471 + 0x8000) >> 16);
}
/* torchvision RandomResizedCrop.get_params: the crop box (top, left, h, w) for an ih x iw image. */
void tl_resized_crop_params(int *top, int *left, int *h, int *w, int ih, int iw, const double scale[2],
                            const double ratio[2], tl_rng *rng);

#endif
