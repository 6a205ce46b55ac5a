/* LDAM (docs/methods.md §3.6): a class-dependent margin subtracted from the target cosine,
 *   Δ_j = max_m · n_j^(-1/4) / max_k n_k^(-1/4),   u_ij = z_ij - s·Δ_{y_i}·1[j = y_i],
 * where z = s·cos comes from a normalised head (--head cosine:s=S), then CE(u, y) with PyTorch's
 * weighted mean (plain mean while the weights are off; with weights=effective,drw=E this is
 * LDAM-DRW). ∂L/∂z = ∂L/∂u since the margin is a constant. Keys: max_m (default 0.5), s (must equal
 * the head's scale; it defaults to it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/error.h"
#include "losses/loss.h"

typedef struct { double *shift; } ldam_priv;   /* [C] -s·Δ_c, added to the target logit */

/* Δ_c of docs/methods.md §3.6 for counts n (all > 0). */
void tl_ldam_margins(double *delta, const int64_t *count, int C, double max_m) {
    double top = 0;
    for (int c = 0; c < C; c++) top = fmax(top, pow((double)count[c], -0.25));
    for (int c = 0; c < C; c++) delta[c] = max_m * pow((double)count[c], -0.25) / top;
}

static int ldam_create(tl_loss *l, tl_spec *spec, tl_error *err) {
    double max_m, s;
    if (!l->head || !l->head->normalized)
        return tl_spec_fail(err, spec, "needs a normalised head: --head cosine:s=...");
    if (tl_spec_double(spec, "max_m", 0.5, &max_m, err) || tl_spec_double(spec, "s", l->head->scale, &s, err)) return -1;
    if (s != l->head->scale)
        return tl_spec_fail(err, spec, "s=%g differs from the head's scale %g (give the same s to --head cosine:s=)", s,
                            l->head->scale);
    for (int c = 0; c < l->C; c++)
        if (l->count[c] <= 0) return tl_spec_fail(err, spec, "class %d has no training images, so it has no margin", c);
    ldam_priv *p = malloc(sizeof *p);
    double *shift = malloc((size_t)l->C * sizeof *shift);
    if (!p || !shift) { free(p); free(shift); return tl_fail(err, "out of memory"); }
    tl_ldam_margins(shift, l->count, l->C, max_m);
    for (int c = 0; c < l->C; c++) shift[c] *= -s;
    p->shift = shift;
    l->priv = p;
    return 0;
}

/* With --head left at linear, LDAM trains on the cosine head of its own scale s (default 30). */
static int ldam_default_head(tl_spec *spec, char *head, size_t size, tl_error *err) {
    double s;
    if (tl_spec_double(spec, "s", 30, &s, err)) return -1;
    if ((size_t)snprintf(head, size, "cosine:s=%.17g", s) >= size) return tl_fail(err, "--head: too long");
    return 0;
}

static double ldam_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N, const double *w) {
    const ldam_priv *p = l->priv;
    return tl_loss_shifted_ce(dlogits, logits, y, N, l->C, w, w ? l->batch_weight : 0, NULL, p->shift);
}

static void ldam_destroy(tl_loss *l) {
    ldam_priv *p = l->priv;
    if (p) free(p->shift);
    free(p);
}

const tl_loss_ops tl_loss_ldam = {"ldam", ldam_create, ldam_compute, ldam_destroy,
    .default_head = ldam_default_head,
    .keys = "max_m=0.5,s=30",
    .help = "label-distribution-aware margins, max_m·n_c^(-1/4) scaled to max_m at the rarest class, on a cosine head of scale s (the default --head linear becomes cosine:s=S)"};
