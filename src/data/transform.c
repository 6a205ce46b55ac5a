/* Transform pipelines (data/transform.h): the spec parser, the output and load sizes, torchvision's
 * RandomResizedCrop box, and the pipeline run. The pixel work is in image.c, resize.c and enhance.c. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/transform.h"
#include "spec/spec.h"

/* Each item is a tl_spec (src/spec): NAME[:key=value,...]; the pipeline is those specs joined by ','. */
typedef struct {
    const char *name;  /* first, for tl_spec_lookup */
    int kind;
} item_def;

static const item_def ITEMS[] = {
    {"resize", TL_TF_RESIZE},          {"center-crop", TL_TF_CENTER_CROP}, {"random-resized-crop", TL_TF_RESIZED_CROP},
    {"flip", TL_TF_FLIP},              {"color-jitter", TL_TF_JITTER},     {"crop", TL_TF_CROP},
};
#define NITEMS ((int)(sizeof ITEMS / sizeof *ITEMS))

/* key=A/B with 0 < A <= B <= hi */
static int get_range(tl_spec *s, const char *key, double hi, double out[2], tl_error *err) {
    int n = 2;
    if (tl_spec_doubles(s, key, out, 2, &n, err)) return -1;
    if (n != 2 || !(out[0] > 0 && out[0] <= out[1] && out[1] <= hi))
        return hi < INFINITY ? tl_spec_fail(err, s, "%s= needs A/B with 0 < A <= B <= %g", key, hi)
                             : tl_spec_fail(err, s, "%s= needs A/B with 0 < A <= B", key);
    return 0;
}

/* One item: its kind and keys, validated. */
static int parse_item(tl_transform_op *op, const char *text, const char *option, tl_error *err) {
    tl_spec s;
    if (tl_spec_parse(&s, text, option, err)) return -1;
    int i = tl_spec_lookup(&s, ITEMS, sizeof ITEMS[0], NITEMS, err);
    if (i < 0) return -1;
    memset(op, 0, sizeof *op);
    op->kind = ITEMS[i].kind;
    op->pad = -1;
    op->scale[0] = 0.08;
    op->scale[1] = 1.0;
    op->ratio[0] = 3.0 / 4.0;
    op->ratio[1] = 4.0 / 3.0;
    switch (op->kind) {
    case TL_TF_RESIZED_CROP:
        if (get_range(&s, "scale", 1.0, op->scale, err) || get_range(&s, "ratio", INFINITY, op->ratio, err)) return -1;
        /* fall through */ /* (and a size) */
    case TL_TF_RESIZE:
    case TL_TF_CENTER_CROP:
        if (tl_spec_int(&s, "size", 0, &op->size, err)) return -1;
        if (tl_spec_check_unused(&s, err)) return -1;
        if (op->size < 1 || op->size > 65536) return tl_spec_fail(err, &s, "needs size=S, S in 1..65536");
        return 0;
    case TL_TF_JITTER: {
        static const char *const keys[3] = {"brightness", "contrast", "saturation"};
        double *f[3] = {&op->brightness, &op->contrast, &op->saturation};
        for (int k = 0; k < 3; k++)
            if (tl_spec_double(&s, keys[k], 0.0, f[k], err)) return -1;
        if (tl_spec_check_unused(&s, err)) return -1;
        for (int k = 0; k < 3; k++)
            if (*f[k] < 0 || *f[k] > 10) return tl_spec_fail(err, &s, "%s=%g is not in 0..10", keys[k], *f[k]);
        return 0;
    }
    case TL_TF_CROP:
        if (tl_spec_int(&s, "pad", -1, &op->pad, err) || tl_spec_check_unused(&s, err)) return -1;
        if (s.nkv && (op->pad < 0 || op->pad > 1024)) return tl_spec_fail(err, &s, "pad=%d is not in 0..1024", op->pad);
        return 0;
    default:
        return tl_spec_check_unused(&s, err);
    }
}

/* Whether a comma token is a key of the item before it: it holds '=' before any ':'. */
static int is_key(const char *tok, const char *end) {
    for (const char *p = tok; p < end && *p != ':'; p++)
        if (*p == '=') return 1;
    return 0;
}

int tl_transform_parse(tl_transform *t, const char *spec, const char *option, tl_error *err) {
    memset(t, 0, sizeof *t);
    if (!spec) spec = "";
    if (snprintf(t->text, sizeof t->text, "%s", spec) >= (int)sizeof t->text)
        return tl_fail(err, "%s '%.40s...': longer than %d characters", option, spec, (int)sizeof t->text - 1);
    if (!*spec || strcmp(spec, "none") == 0) return 0;
    int rc = 0;
    for (const char *p = spec; !rc;) {
        /* the item runs to the comma before the next token that is not a key */
        const char *end = strchr(p, ',');
        if (is_key(p, end ? end : p + strlen(p))) {
            rc = tl_fail(err, "%s '%s': '%.*s' comes before any item (keys follow NAME:key=value)", option, spec,
                         end ? (int)(end - p) : (int)strlen(p), p);
            break;
        }
        while (end) {
            const char *next = strchr(end + 1, ',');
            if (!is_key(end + 1, next ? next : end + 1 + strlen(end + 1))) break;
            end = next;
        }
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[sizeof t->text];
        memcpy(item, p, n);
        item[n] = 0;
        if (!n) rc = tl_fail(err, "%s '%s': an empty item (a stray ',')", option, spec);
        else if (t->n == TL_TRANSFORM_MAX) rc = tl_fail(err, "%s '%s': more than %d items", option, spec, TL_TRANSFORM_MAX);
        else if (!(rc = parse_item(&t->op[t->n], item, option, err))) t->n++;
        if (!end) break;
        p = end + 1;
    }
    if (rc) t->n = 0; /* nothing half-parsed */
    return rc;
}

int tl_transform_is_random(const tl_transform *t) {
    for (int i = 0; i < t->n; i++)
        if (t->op[i].kind == TL_TF_RESIZED_CROP || t->op[i].kind == TL_TF_FLIP || t->op[i].kind == TL_TF_JITTER ||
            t->op[i].kind == TL_TF_CROP)
            return 1;
    return 0;
}

/* torchvision Resize(S): the shorter side to S, the longer int(S * long / short) (an exact quotient
 * rounded once, then truncated, as Python's true division) */
static void resize_size(int S, int h, int w, int *oh, int *ow) {
    int shorter = h < w ? h : w, longer = h < w ? w : h;
    double q = (double)((int64_t)S * longer) / shorter;
    int nl = q < INT_MAX ? (int)q : INT_MAX; /* no real image is that long: the reserve then fails */
    if (w <= h) { *ow = S; *oh = nl; } else { *oh = S; *ow = nl; }
}

int tl_transform_out_size(const tl_transform *t, int in_h, int in_w, int *oh, int *ow) {
    int h = in_h, w = in_w, fixed = 0;
    for (int i = 0; i < t->n; i++) {
        const tl_transform_op *op = &t->op[i];
        if (op->kind == TL_TF_RESIZE) resize_size(op->size, h, w, &h, &w); /* a square stays square: fixed stays */
        else if (op->kind == TL_TF_CENTER_CROP || op->kind == TL_TF_RESIZED_CROP) { h = w = op->size; fixed = 1; }
    }
    *oh = h;
    *ow = w;
    return fixed;
}

int tl_transform_load_side(const tl_transform *t) {
    for (int i = 0; i < t->n; i++) {
        const tl_transform_op *op = &t->op[i];
        if (op->kind == TL_TF_RESIZE) return op->size;
        if (op->kind == TL_TF_CENTER_CROP || op->kind == TL_TF_RESIZED_CROP) return (int)(((int64_t)op->size * 256 + 112) / 224);
        if (op->kind == TL_TF_CROP) return 0;
    }
    return 0;
}

void tl_resized_crop_params(int *top, int *left, int *h, int *w, int ih, int iw, const double scale[2],
                            const double ratio[2], tl_rng *rng) {
    double area = (double)ih * iw, lr0 = log(ratio[0]), lr1 = log(ratio[1]);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (scale[0] + (scale[1] - scale[0]) * tl_rng_uniform(rng));
        double aspect = exp(lr0 + (lr1 - lr0) * tl_rng_uniform(rng));
        /* Python's round() rounds half to even, as rint() does in the default rounding mode */
        double cw = rint(sqrt(target * aspect)), ch = rint(sqrt(target / aspect));
        if (cw > 0 && cw <= iw && ch > 0 && ch <= ih) {
            *h = (int)ch;
            *w = (int)cw;
            *top = (int)tl_rng_below(rng, (uint64_t)(ih - *h + 1));
            *left = (int)tl_rng_below(rng, (uint64_t)(iw - *w + 1));
            return;
        }
    }
    /* the central fallback: the whole image, its aspect clamped to the ratio range */
    double in_ratio = (double)iw / ih;
    if (in_ratio < ratio[0]) { *w = iw; *h = (int)rint(iw / ratio[0]); }
    else if (in_ratio > ratio[1]) { *h = ih; *w = (int)rint(ih * ratio[1]); }
    else { *w = iw; *h = ih; }
    *top = (ih - *h) / 2;
    *left = (iw - *w) / 2;
}

/* torchvision center_crop's corner: int(round((in - S) / 2.0)) when cropping (round half to even),
 * -((S - in) // 2) when padding */
static int center_start(int in, int S) {
    if (S > in) return -((S - in) / 2);
    int d = in - S, half = d / 2;
    return half + (d % 2 && half % 2);
}

static void swap_images(tl_image *a, tl_image *b) {
    tl_image t = *a;
    *a = *b;
    *b = t;
}

/* ColorJitter: torchvision draws the order first (randperm), then each factor of a nonzero strength
 * uniform in [max(0, 1 - x), 1 + x] */
static void jitter(tl_image *im, const tl_transform_op *op, tl_rng *rng) {
    int order[3] = {0, 1, 2};
    double x[3] = {op->brightness, op->contrast, op->saturation}, f[3];
    tl_rng_shuffle(rng, order, 3);
    for (int k = 0; k < 3; k++) {
        double lo = x[k] < 1 ? 1 - x[k] : 0;
        f[k] = x[k] > 0 ? lo + (1 + x[k] - lo) * tl_rng_uniform(rng) : 1.0;
    }
    for (int k = 0; k < 3; k++) {
        int j = order[k];
        if (x[j] <= 0) continue;
        if (j == 0) tl_image_brightness(im, f[0]);
        else if (j == 1) tl_image_contrast(im, f[1]);
        else tl_image_saturation(im, f[2]);
    }
}

int tl_transform_apply(const tl_transform *t, tl_image *im, tl_image *tmp, tl_rng *rng) {
    for (int i = 0; i < t->n; i++) {
        const tl_transform_op *op = &t->op[i];
        int h = im->h, w = im->w, S = op->size;
        switch (op->kind) {
        case TL_TF_RESIZE: {
            int oh, ow;
            resize_size(S, h, w, &oh, &ow);
            if (oh == h && ow == w) break; /* torchvision returns the image itself */
            if (tl_image_resize(tmp, im, oh, ow)) return -1;
            swap_images(im, tmp);
            break;
        }
        case TL_TF_CENTER_CROP:
            if (S == h && S == w) break;
            if (tl_image_crop(tmp, im, center_start(h, S), center_start(w, S), S, S)) return -1;
            swap_images(im, tmp);
            break;
        case TL_TF_RESIZED_CROP: {
            int top, left, ch, cw;
            tl_resized_crop_params(&top, &left, &ch, &cw, h, w, op->scale, op->ratio, rng);
            if (tl_image_resized_crop(tmp, im, top, left, ch, cw, S, S)) return -1;
            swap_images(im, tmp);
            break;
        }
        case TL_TF_FLIP:
            if (tl_rng_uniform(rng) < 0.5) tl_image_hflip(im);
            break;
        case TL_TF_JITTER:
            jitter(im, op, rng);
            break;
        case TL_TF_CROP: {
            /* RandomCrop(h x w, padding=P): the corner in the padded image, y then x, in [0, 2P] */
            int P = op->pad >= 0 ? op->pad : (h < 32 && w < 32) ? 2 : 4;
            int dy = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
            int dx = (int)tl_rng_below(rng, (uint64_t)(2 * P + 1)) - P;
            if (!dy && !dx) break;
            if (tl_image_crop(tmp, im, dy, dx, h, w)) return -1;
            swap_images(im, tmp);
            break;
        }
        }
    }
    return 0;
}
