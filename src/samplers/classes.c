/* Per-class instance lists and weighted class draws, shared by the class-level samplers. */
#include <stdlib.h>
#include "core/error.h"
#include "samplers/sampler.h"

int tl_class_lists_init(tl_sampler *s, tl_error *err) {
    tl_class_lists *cl = calloc(1, sizeof *cl);
    if (!cl) return tl_fail(err, "out of memory (--sampler)");
    s->priv = cl;
    cl->start = calloc((size_t)s->C + 1, sizeof *cl->start);
    cl->idx = malloc(((size_t)s->n + 1) * sizeof *cl->idx);
    cl->mass = calloc((size_t)s->C, sizeof *cl->mass);
    cl->cum = calloc((size_t)s->C, sizeof *cl->cum);
    cl->work = malloc(((size_t)s->n + 2 * (size_t)s->C + 1) * sizeof *cl->work);
    if (!cl->start || !cl->idx || !cl->mass || !cl->cum || !cl->work) return tl_fail(err, "out of memory (--sampler)");
    for (int i = 0; i < s->n; i++) cl->start[s->labels[i] + 1]++;
    for (int c = 0; c < s->C; c++) cl->start[c + 1] += cl->start[c];
    int *fill = malloc(((size_t)s->C + 1) * sizeof *fill);
    if (!fill) return tl_fail(err, "out of memory (--sampler)");
    for (int c = 0; c < s->C; c++) fill[c] = cl->start[c];
    for (int i = 0; i < s->n; i++) cl->idx[fill[s->labels[i]]++] = i;
    free(fill);
    return 0;
}

void tl_class_lists_destroy(tl_sampler *s) {
    tl_class_lists *cl = s->priv;
    if (!cl) return;
    free(cl->start);
    free(cl->idx);
    free(cl->mass);
    free(cl->cum);
    free(cl->work);
    free(cl);
}

void tl_sampler_draw(int *order, int m, tl_class_lists *cl, int C, tl_rng *rng) {
    double *cum = cl->cum, total = 0;
    for (int c = 0; c < C; c++) {
        if (cl->start[c + 1] > cl->start[c]) total += cl->mass[c];
        cum[c] = total;
    }
    for (int t = 0; t < m; t++) {
        double r = tl_rng_uniform(rng) * total;
        int lo = 0, hi = C - 1;          /* the first class with cum > r */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (cum[mid] > r) hi = mid; else lo = mid + 1;
        }
        int n_c = cl->start[lo + 1] - cl->start[lo];
        order[t] = cl->idx[cl->start[lo] + (int)tl_rng_below(rng, (uint64_t)n_c)];
    }
}

int tl_sampler_target(tl_spec *spec, int def, int *out, tl_error *err) {
    if (tl_spec_int(spec, "target", def, out, err)) return -1;
    return 0;
}
