/* Progressively-balanced sampling (docs/methods.md §2.4): epoch e of T mixes the class masses
 *   mass_j = (1 - λ_e)·n_j + λ_e·N_tr/C,   λ_e = e/(T - 1)   (λ = 1 when T = 1),
 * so the first epoch is instance-balanced and the last class-balanced (the Decoupling reference's
 * np.linspace(0, 1, T)); N_tr draws with replacement. C counts the classes with examples. */
#include "core/error.h"
#include "samplers/sampler.h"

static int progressive_create(tl_sampler *s, tl_spec *spec, tl_error *err) { (void)spec; return tl_class_lists_init(s, err); }

static int progressive_epoch(tl_sampler *s, int *order, int epoch, tl_rng *rng) {
    tl_class_lists *cl = s->priv;
    double lam = s->epochs > 1 ? (double)epoch / (s->epochs - 1) : 1.0, total = 0;
    int present = 0;
    for (int c = 0; c < s->C; c++) { total += (double)s->count[c]; present += s->count[c] > 0; }
    for (int c = 0; c < s->C; c++)
        cl->mass[c] = s->count[c] > 0 ? (1 - lam) * (double)s->count[c] + lam * total / present : 0;
    tl_sampler_draw(order, s->n, cl, s->C, rng);
    return s->n;
}

const tl_sampler_ops tl_sampler_progressive = {"progressive", progressive_create, NULL, progressive_epoch,
                                               tl_class_lists_destroy,
    .keys = "",
    .help = "class masses moving from instance-balanced (first epoch) to class-balanced (last epoch)"};
