/* Class-balanced sampling (docs/methods.md §2.2), class mass 1/C. Two forms, both from the references:
 *   mode=weighted (default)  N_tr draws with replacement, instance weight 1/n_y (§2.2(1))
 *   mode=aware               the class-aware sampler used by cRT/LWS (§2.2(2)): a cyclic iterator over
 *                            the classes and one over each class's instances, each reshuffled when it
 *                            wraps; each class visit takes per_class (default 4) consecutive items.
 * The aware iterators restart every epoch from the epoch's rng (the reference keeps them across
 * epochs), so an epoch depends on (epoch, rng) alone and resumed runs draw the same. */
#include <string.h>
#include "core/error.h"
#include "samplers/sampler.h"

static int class_create(tl_sampler *s, tl_spec *spec, tl_error *err) {
    static const char *const modes[] = {"weighted", "aware"};
    int mode, per;
    if (tl_spec_choice(spec, "mode", modes, 2, 0, &mode, err) || tl_spec_int(spec, "per_class", 4, &per, err)) return -1;
    if (mode == 0 && per != 4) return tl_spec_fail(err, spec, "per_class applies to mode=aware only");
    if (tl_class_lists_init(s, err)) return -1;
    tl_class_lists *cl = s->priv;
    cl->mode = mode;
    cl->per_class = per;
    for (int c = 0; c < s->C; c++) cl->mass[c] = 1.0;
    return 0;
}

/* The next item of a cyclic iterator over list[0..len) at *pos, reshuffling when it wraps
 * (RandomCycleIter: the first call shuffles too). */
static int cycle_next(int *list, int len, int *pos, tl_rng *rng) {
    if (*pos == len) { tl_rng_shuffle(rng, list, len); *pos = 0; }
    return list[(*pos)++];
}

static int class_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    tl_class_lists *cl = s->priv;
    (void)epoch;
    if (cl->mode == 0) { tl_sampler_draw(order, s->n, cl, s->C, rng); return s->n; }
    /* Aware: work on copies of the lists so each epoch starts from the same state. */
    int C = s->C, ncls = 0;
    int *classes = cl->work, *pos = cl->work + C, *lists = cl->work + 2 * C;
    memcpy(lists, cl->idx, (size_t)s->n * sizeof *lists);
    for (int c = 0; c < C; c++) {
        if (cl->start[c + 1] > cl->start[c]) classes[ncls++] = c;
        pos[c] = cl->start[c + 1] - cl->start[c];   /* "at the end": the first use shuffles */
    }
    int cpos = ncls, m = 0;
    while (m < s->n) {
        int c = cycle_next(classes, ncls, &cpos, rng);
        for (int k = 0; k < cl->per_class && m < s->n; k++)
            order[m++] = cycle_next(lists + cl->start[c], cl->start[c + 1] - cl->start[c], &pos[c], rng);
    }
    return m;
}

const tl_sampler_ops tl_sampler_class = {"class", class_create, NULL, class_epoch, tl_class_lists_destroy,
    .keys = "mode=weighted|aware,per_class=4",
    .help = "class-balanced: N draws with replacement, every class equally likely (weighted), or cRT's class-aware sampler, per_class images per class visit (aware)"};
