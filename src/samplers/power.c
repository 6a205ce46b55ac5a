/* q-power sampling (docs/methods.md §2.3): class mass p_j = n_j^q / Σ_i n_i^q, N_tr draws with
 * replacement. q = 1 is instance-balanced (in expectation), q = 0 class-balanced, `sqrt` is q = 1/2
 * (the Decoupling reference's square-root sampler). */
#include <math.h>
#include "core/error.h"
#include "samplers/sampler.h"

static int masses(tl_sampler *s, double q, tl_error *err) {
    if (tl_class_lists_init(s, err)) return -1;
    tl_class_lists *cl = s->priv;
    cl->q = q;
    for (int c = 0; c < s->C; c++) cl->mass[c] = s->count[c] > 0 ? pow((double)s->count[c], q) : 0;
    return 0;
}

static int sqrt_create(tl_sampler *s, tl_spec *spec, tl_error *err) { (void)spec; return masses(s, 0.5, err); }

static int power_create(tl_sampler *s, tl_spec *spec, tl_error *err) {
    double q;
    if (tl_spec_double(spec, "q", 0.5, &q, err)) return -1;
    return masses(s, q, err);
}

static int power_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    (void)epoch;
    tl_sampler_draw(order, s->n, s->priv, s->C, rng);
    return s->n;
}

const tl_sampler_ops tl_sampler_sqrt = {"sqrt", sqrt_create, NULL, power_epoch, tl_class_lists_destroy,
    .keys = "",
    .help = "class mass proportional to sqrt(n_c), N draws with replacement"};
const tl_sampler_ops tl_sampler_power = {"power", power_create, NULL, power_epoch, tl_class_lists_destroy,
    .keys = "q=0.5",
    .help = "class mass proportional to n_c^q, N draws with replacement (q=1: instance-balanced, q=0: class-balanced)"};
