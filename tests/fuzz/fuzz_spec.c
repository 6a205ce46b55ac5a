/* Fuzz target: the NAME[:key=value,...] parser and its getters (src/spec/spec.c), and the option
 * parsers built on it or beside it: --optim, --schedule (src/train), --lt, --augment and the transform
 * pipelines (src/data).
 * Input: <mode byte> <text> (used up to its first NUL). */
#include "data/dataset.h"
#include "data/transform.h"
#include "spec/spec.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "fuzz.h"

static void generic(const char *text) {
    static const char *const names[] = {"ce", "focal", "ldam", "balanced-softmax"};
    static const char *const weights[] = {"none", "inverse", "sqrt-inverse", "effective"};
    tl_spec s;
    tl_error err;
    if (tl_spec_parse(&s, text, "--loss", &err)) return;
    double d, list[8];
    int i, b, c, n = 0;
    const char *str;
    tl_spec_lookup(&s, names, sizeof names[0], 4, &err);
    tl_spec_double(&s, "gamma", 2.0, &d, &err);
    tl_spec_int(&s, "k", 1, &i, &err);
    tl_spec_bool(&s, "drw", 0, &b, &err);
    tl_spec_choice(&s, "weights", weights, 4, 0, &c, &err);
    tl_spec_str(&s, "path", "", &str, &err);
    if (str) (void)strlen(str);
    if (tl_spec_doubles(&s, "milestones", list, 8, &n, &err) == 0 && (n < 0 || n > 8)) abort();
    tl_spec_check_unused(&s, &err);
    tl_spec_fail(&err, &s, "fuzz %d", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *text = malloc(size);
    if (!text) abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    tl_error err;
    switch (data[0] % 6) {
    case 0: generic(text); break;
    case 1: { tl_optim_cfg o; tl_optim_parse(&o, text, "--optim", &err); break; }
    case 2: { tl_schedule s; tl_schedule_parse(&s, text, "--schedule", &err); break; }
    case 3: {
        tl_view v;
        if (tl_view_parse(text, &v, &err) == 0) {
            int avail[10] = {500, 450, 400, 350, 300, 250, 200, 150, 100, 50}, kept[10];
            tl_view_counts(kept, avail, 10, &v, &err);
        }
        break;
    }
    case 4:
    case 5: {
        tl_transform t;
        int oh, ow;
        if (tl_transform_parse(&t, text, "--transform", &err) == 0) {
            if (t.n < 0 || t.n > TL_TRANSFORM_MAX) abort();
            tl_transform_out_size(&t, 375, 500, &oh, &ow);
            tl_transform_load_side(&t);
            tl_transform_is_random(&t);
            /* run it on a small image whose shape comes from the text, when no size would blow memory up */
            int small = 1;
            for (int i = 0; i < t.n; i++) small &= t.op[i].size <= 300;
            size_t len = strlen(text);
            tl_image im = {0}, tmp = {0};
            tl_rng rng;
            tl_rng_seed(&rng, len, TL_RNG_AUGMENT);
            if (small && tl_image_reserve(&im, 1 + (int)(len % 37), 1 + (int)(len * 7 % 53), len % 2 ? 3 : 1) == 0) {
                memset(im.pix, (int)len, (size_t)im.h * im.w * im.c);
                tl_transform_apply(&t, &im, &tmp, &rng);
            }
            tl_image_free(&im);
            tl_image_free(&tmp);
        }
        break;
    }
    }
    free(text);
    return 0;
}
