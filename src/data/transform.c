/* Transform pipelines (data/transform.h): the spec parser, the output and load sizes, torchvision's
 * RandomResizedCrop box, and the pipeline run. The pixel work is in image.c, resize.c and enhance.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/transform.h"

#define VALID_ITEMS "none, resize:size=S, center-crop:size=S, random-resized-crop:size=S[,scale=A/B][,ratio=A/B], " \
                    "flip, color-jitter[:brightness=B][,contrast=C][,saturation=S], crop[:pad=P]"

typedef struct {
    const char *name;
    int kind;
    const char *keys[3];  /* the valid keys, NULL-terminated when fewer */
    int needs_size;
} item_def;

static const item_def ITEMS[] = {
    {"resize", TL_TF_RESIZE, {"size"}, 1},
    {"center-crop", TL_TF_CENTER_CROP, {"size"}, 1},
    {"random-resized-crop", TL_TF_RESIZED_CROP, {"size", "scale", "ratio"}, 1},
    {"flip", TL_TF_FLIP, {NULL}, 0},
    {"color-jitter", TL_TF_JITTER, {"brightness", "contrast", "saturation"}, 0},
    {"crop", TL_TF_CROP, {"pad"}, 0},
};
#define NITEMS ((int)(sizeof ITEMS / sizeof *ITEMS))

static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_num(const char *s, char **end, double *out) {
    *out = strtod(s, end);
    return *end == s || !isfinite(*out) ? -1 : 0;
}

/* "A/B" with lo <= A <= B <= hi (lo exclusive) */
static int parse_range(const char *s, double hi, double out[2]) {
    char *end;
    if (parse_num(s, &end, &out[0]) || *end != '/' || parse_num(end + 1, &end, &out[1]) || *end) return -1;
    return out[0] > 0 && out[0] <= out[1] && out[1] <= hi ? 0 : -1;
}

/* Sets key=val of op (item d); *seen marks the keys given, to refuse one given twice. */
static int set_key(tl_transform_op *op, const item_def *d, char *kv, unsigned *seen, const char *option,
                   const char *spec, tl_error *err) {
    char *eq = strchr(kv, '=');
    *eq = 0;
    const char *key = kv, *val = eq + 1;
    int ki = -1;
    for (int i = 0; i < 3 && d->keys[i]; i++)
        if (strcmp(key, d->keys[i]) == 0) ki = i;
    if (ki < 0) {
        if (!d->keys[0]) return tl_fail(err, "%s '%s': %s takes no keys (got '%s')", option, spec, d->name, key);
        return tl_fail(err, "%s '%s': %s has no key '%s' (valid: %s%s%s%s%s)", option, spec, d->name, key, d->keys[0],
                       d->keys[1] ? ", " : "", d->keys[1] ? d->keys[1] : "", d->keys[2] ? ", " : "", d->keys[2] ? d->keys[2] : "");
    }
    if (*seen & (1u << ki)) return tl_fail(err, "%s '%s': %s:%s is given twice", option, spec, d->name, key);
    *seen |= 1u << ki;
    if (strcmp(key, "size") == 0) {
        if (parse_int(val, 1, 65536, &op->size)) return tl_fail(err, "%s '%s': %s:size=%s: needs an integer 1..65536", option, spec, d->name, val);
    } else if (strcmp(key, "pad") == 0) {
        if (parse_int(val, 0, 1024, &op->pad)) return tl_fail(err, "%s '%s': crop:pad=%s: needs an integer 0..1024", option, spec, val);
    } else if (strcmp(key, "scale") == 0) {
        if (parse_range(val, 1.0, op->scale)) return tl_fail(err, "%s '%s': %s:scale=%s: needs A/B with 0 < A <= B <= 1", option, spec, d->name, val);
    } else if (strcmp(key, "ratio") == 0) {
        if (parse_range(val, INFINITY, op->ratio)) return tl_fail(err, "%s '%s': %s:ratio=%s: needs A/B with 0 < A <= B", option, spec, d->name, val);
    } else {
        double *f = ki == 0 ? &op->brightness : ki == 1 ? &op->contrast : &op->saturation;
        char *end;
        if (parse_num(val, &end, f) || *end || *f < 0 || *f > 10)
            return tl_fail(err, "%s '%s': color-jitter:%s=%s: needs a number 0..10", option, spec, key, val);
    }
    return 0;
}

int tl_transform_parse(tl_transform *t, const char *spec, const char *option, tl_error *err) {
    memset(t, 0, sizeof *t);
    if (!spec) spec = "";
    if (snprintf(t->text, sizeof t->text, "%s", spec) >= (int)sizeof t->text)
        return tl_fail(err, "%s '%.40s...': longer than %d characters", option, spec, (int)sizeof t->text - 1);
    if (!*spec || strcmp(spec, "none") == 0) return 0;
    char buf[sizeof t->text];
    memcpy(buf, t->text, sizeof buf);
    const item_def *d = NULL;
    unsigned seen = 0;
    int rc = 0;
    /* strtok would merge empty tokens (",,") into nothing; split by hand so they are refused */
    for (char *tok = buf, *next; tok && !rc; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        char *colon = strchr(tok, ':'), *eq = strchr(tok, '=');
        if (eq && (!colon || colon > eq)) { /* a key of the item before */
            if (!d) { rc = tl_fail(err, "%s '%s': key '%s' comes before any item (valid items: %s)", option, spec, tok, VALID_ITEMS); break; }
            rc = set_key(&t->op[t->n - 1], d, tok, &seen, option, spec, err);
            continue;
        }
        if (colon) *colon = 0;
        if (!*tok) { rc = tl_fail(err, "%s '%s': an empty item name (a stray comma or colon?)", option, spec); break; }
        if (d && d->needs_size && !t->op[t->n - 1].size) { rc = tl_fail(err, "%s '%s': %s needs size=S", option, spec, d->name); break; }
        d = NULL;
        for (int i = 0; i < NITEMS; i++)
            if (strcmp(tok, ITEMS[i].name) == 0) d = &ITEMS[i];
        if (!d) { rc = tl_fail(err, "%s '%s': unknown item '%s' (valid: %s)", option, spec, tok, VALID_ITEMS); break; }
        if (t->n == TL_TRANSFORM_MAX) { rc = tl_fail(err, "%s '%s': more than %d items", option, spec, TL_TRANSFORM_MAX); break; }
        tl_transform_op *op = &t->op[t->n++];
        op->kind = d->kind;
        op->pad = -1;
        op->scale[0] = 0.08; op->scale[1] = 1.0;
        op->ratio[0] = 3.0 / 4.0; op->ratio[1] = 4.0 / 3.0;
        seen = 0;
        if (colon) {
            if (!strchr(colon + 1, '=')) { rc = tl_fail(err, "%s '%s': expected KEY=VALUE after '%s:'", option, spec, tok); break; }
            rc = set_key(op, d, colon + 1, &seen, option, spec, err);
        }
    }
    if (!rc && d && d->needs_size && !t->op[t->n - 1].size) rc = tl_fail(err, "%s '%s': %s needs size=S", option, spec, d->name);
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
    int nl = (int)((double)((int64_t)S * longer) / shorter);
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
        /* a 1 x 1 image is a feature vector: crop and flip leave it and draw nothing, as augment.c */
        int vector = h == 1 && w == 1;
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
            if (!vector && tl_rng_uniform(rng) < 0.5) tl_image_hflip(im);
            break;
        case TL_TF_JITTER:
            jitter(im, op, rng);
            break;
        case TL_TF_CROP: {
            if (vector) break;
            /* RandomCrop(h x w, padding=P): the corner in the padded image, y then x, in [0, 2P] */
            int P = tl_augment_pad(&(tl_augment){.crop = 1, .pad = op->pad}, h, w);
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
