/* Random over- and under-sampling to a target count per class (docs/methods.md §2.5, [tailor]):
 *   oversample[:target=N]   class c contributes all n_c originals plus max(0, N - n_c) duplicates
 *                           drawn uniformly with replacement (default N = n_max)
 *   undersample[:target=N]  class c contributes min(n_c, N) instances drawn without replacement
 *                           (default N = n_min over the classes with examples)
 * Each epoch is a random permutation of that multiset (a new draw every epoch). */
#include "core/error.h"
#include "samplers/sampler.h"

static int resample_create(tl_sampler *s, tl_spec *spec, tl_error *err, int over) {
    int nmax = 0, nmin = 0, target;
    for (int c = 0; c < s->C; c++) {
        int n = (int)s->count[c];
        if (n > nmax) nmax = n;
        if (n > 0 && (nmin == 0 || n < nmin)) nmin = n;
    }
    if (tl_sampler_target(spec, over ? nmax : (nmin ? nmin : 1), &target, err) || tl_class_lists_init(s, err)) return -1;
    tl_class_lists *cl = s->priv;
    cl->target = target;
    long long cap = 0;
    for (int c = 0; c < s->C; c++) {
        int n = (int)s->count[c];
        cap += over ? (n > 0 && n < target ? target : n) : (n < target ? n : target);
    }
    if (cap > 0x7fffffff) return tl_spec_fail(err, spec, "target=%d makes an epoch of more than 2^31 items", target);
    if (cap < 1) return tl_spec_fail(err, spec, "no training examples");
    s->capacity = (int)cap;
    return 0;
}

static int over_create(tl_sampler *s, tl_spec *spec, tl_error *err) { return resample_create(s, spec, err, 1); }
static int under_create(tl_sampler *s, tl_spec *spec, tl_error *err) { return resample_create(s, spec, err, 0); }

static int over_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    const tl_class_lists *cl = s->priv;
    int m = 0;
    (void)epoch;
    for (int c = 0; c < s->C; c++) {
        int b = cl->start[c], n = cl->start[c + 1] - b;
        for (int i = 0; i < n; i++) order[m++] = cl->idx[b + i];
        for (int i = n; n > 0 && i < cl->target; i++) order[m++] = cl->idx[b + (int)tl_rng_below(rng, (uint64_t)n)];
    }
    tl_rng_shuffle(rng, order, m);
    return m;
}

static int under_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    tl_class_lists *cl = s->priv;
    int m = 0, *tmp = cl->work;
    (void)epoch;
    for (int c = 0; c < s->C; c++) {
        int b = cl->start[c], n = cl->start[c + 1] - b, keep = n < cl->target ? n : cl->target;
        /* The first `keep` steps of a Fisher-Yates shuffle: `keep` distinct instances, uniformly. */
        for (int i = 0; i < n; i++) tmp[i] = cl->idx[b + i];
        for (int i = 0; i < keep; i++) {
            int j = i + (int)tl_rng_below(rng, (uint64_t)(n - i)), t = tmp[i];
            tmp[i] = tmp[j];
            tmp[j] = t;
            order[m++] = tmp[i];
        }
    }
    tl_rng_shuffle(rng, order, m);
    return m;
}

const tl_sampler_ops tl_sampler_oversample = {"oversample", over_create, NULL, over_epoch, tl_class_lists_destroy,
    .keys = "target=n_max",
    .help = "every class topped up to target images with random duplicates, drawn afresh every epoch"};
const tl_sampler_ops tl_sampler_undersample = {"undersample", under_create, NULL, under_epoch, tl_class_lists_destroy,
    .keys = "target=n_min",
    .help = "every class cut to at most target images, drawn afresh every epoch"};
