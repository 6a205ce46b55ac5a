/* Instance-balanced sampling (docs/methods.md §2.1), the default: a fresh random permutation of the
 * training set each epoch (what every reference does with shuffle=True). */
#include "samplers/sampler.h"

static int instance_create(tl_sampler *s, tl_spec *spec, tl_error *err) { (void)s; (void)spec; (void)err; return 0; }

static int instance_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    (void)epoch;
    for (int i = 0; i < s->n; i++) order[i] = i;
    tl_rng_shuffle(rng, order, s->n);
    return s->n;
}

const tl_sampler_ops tl_sampler_instance = {"instance", instance_create, NULL, instance_epoch, NULL,
    .keys = "",
    .help = "a fresh random order of the training set every epoch (the default)"};
