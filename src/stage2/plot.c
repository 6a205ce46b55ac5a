/* weight_norms.png: ‖w_c‖ of one or more classifiers per class, classes ordered by training count
 * (largest first), one coloured line per classifier (docs/methods.md §8: joint training leaves head
 * classes with larger norms). Drawn through eval/figure.h (PLplot, one thread at a time). */
#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "eval/figure.h"
#include "stage2/stage2.h"

typedef struct {
    const float *const *norms;
    const char *const *labels;
    int nseries, C;
    const int64_t *count;
    const char *title;
    const int *order;
} norms_ctx;

static void draw(const void *p) {
    const norms_ctx *k = p;
    const float *const *norms = k->norms;
    const char *const *labels = k->labels;
    int nseries = k->nseries, C = k->C;
    const int64_t *count = k->count;
    const char *title = k->title;
    const int *order = k->order;
    double hi = 0;
    for (int s = 0; s < nseries; s++)
        for (int c = 0; c < C; c++) hi = fmax(hi, norms[s][c]);
    plvpor(0.1, 0.97, 0.12, 0.9);
    plwind(-0.5, C - 0.5, 0, 1.12 * (hi > 0 ? hi : 1));
    plcol0(2);
    plbox("", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    pllab("classes by training count (largest first; the count under each)", "weight norm", title);
    plschr(0, C <= 20 ? 0.75 : 0.5);
    char text[32];
    for (int k = 0; k < C && C <= 40; k++) {
        snprintf(text, sizeof text, "%lld", (long long)count[order[k]]);
        plmtex("b", 1.2, (k + 0.5) / C, 0.5, text);
    }
    PLFLT *x = malloc((size_t)C * sizeof *x), *y = malloc((size_t)C * sizeof *y);
    for (int s = 0; s < nseries && x && y; s++) {
        for (int k = 0; k < C; k++) { x[k] = k; y[k] = norms[s][order[k]]; }
        plcol0(4 + s % 4);
        plline(C, x, y);
        plschr(0, 1.0);
        plstring(C, x, y, "●");
        plschr(0, 0.8);
        plptex(-0.4, 1.12 * hi * (0.96 - 0.06 * s), 1, 0, 0.0, labels[s]);   /* legend, top left */
    }
    free(x);
    free(y);
    plschr(0, 1.0);
}

int tl_stage2_plot_norms(const char *path, const float *const *norms, const char *const *labels, int nseries,
                         const int64_t *count, int C, const char *title, tl_error *err) {
    static const unsigned char palette[8][3] = {{255, 255, 255}, {0, 0, 0}, {215, 215, 215}, {110, 110, 110},
                                                {31, 119, 180}, {230, 120, 10}, {44, 160, 44}, {214, 39, 40}};
    int *order = malloc((size_t)C * sizeof *order);
    if (!order) return tl_fail(err, "out of memory");
    for (int c = 0; c < C; c++) order[c] = c;
    for (int i = 1; i < C; i++)   /* insertion sort: count descending, label ascending */
        for (int j = i; j > 0 && count[order[j]] > count[order[j - 1]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    norms_ctx ctx = {norms, labels, nseries, C, count, title, order};
    int rc = tl_figure_draw(path, 900, 560, palette, 8, draw, &ctx, err);
    free(order);
    return rc;
}
