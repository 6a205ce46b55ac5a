/* The 2-D embedding and weight-norm figures of `tailor plot`, drawn through eval/figure.h. */
#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "eval/figure.h"
#include "eval/plot_embedding.h"

/* cmap0: 0 background, 1 black, 2 grid grey, 3 mid grey, then 10 class colours (Tableau 10). */
enum { COL_WHITE, COL_BLACK, COL_GRID, COL_GREY, COL_CLASS0, NCOLORS = COL_CLASS0 + 10 };

static const unsigned char palette[NCOLORS][3] = {
    {255, 255, 255}, {0, 0, 0}, {215, 215, 215}, {110, 110, 110},
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
    {140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

static int run_figure(const char *path, int w, int h, void (*draw)(const void *ctx), const void *ctx,
                      tl_error *err) {
    return tl_figure_draw(path, w, h, palette, NCOLORS, draw, ctx, err);
}

static int class_colour(int c) { return COL_CLASS0 + c % 10; }

/* ------------------------------------------------------------------ embedding */

typedef struct {
    const float *feat, *dirs, *centres;
    const int *y, *centre_class;
    int n, C, k;
    const char *const *names;
    const char *title;
    double r;               /* half-width of the square window */
} embed_ctx;

static void draw_embedding(const void *ctx) {
    const embed_ctx *x = ctx;
    double r = x->r;
    char text[512];
    plvpor(0.11, 0.76, 0.1, 0.92);
    plwind(-r, r, -r, r);
    plcol0(COL_GRID);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(COL_BLACK);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    pllab("feature 1", "feature 2", "");
    tl_plot_text(text, sizeof text, x->title ? x->title : "2-D features");
    plschr(0, strlen(text) > 60 ? 0.8 : 1.0);   /* long head specs must fit above the frame */
    plmtex("t", 1.5, 0.5, 0.5, text);
    plschr(0, 1.0);
    /* points, lightest first so that small classes drawn last stay visible */
    plschr(0, 0.35);
    for (int c = 0; c < x->C; c++) {
        plcol0(class_colour(c));
        for (int i = 0; i < x->n; i++) {
            if (x->y[i] != c) continue;
            PLFLT px = x->feat[2 * i], py = x->feat[2 * i + 1];
            plstring(1, &px, &py, "●");
        }
    }
    plschr(0, 1.0);
    if (x->dirs) {
        plwidth(3);
        for (int c = 0; c < x->C; c++) {
            double dx = x->dirs[2 * c], dy = x->dirs[2 * c + 1], nn = sqrt(dx * dx + dy * dy);
            if (!(nn > 0)) continue;
            plcol0(class_colour(c));
            pljoin(0, 0, 0.97 * r * dx / nn, 0.97 * r * dy / nn);
        }
        plwidth(1.5);
    }
    for (int j = 0; x->centres && j < x->k; j++) {
        PLFLT px = x->centres[2 * j], py = x->centres[2 * j + 1];
        plschr(0, 2.2);
        plcol0(COL_BLACK);
        plstring(1, &px, &py, "◆");
        plschr(0, 1.6);
        plcol0(class_colour(x->centre_class[j]));
        plstring(1, &px, &py, "◆");
    }
    /* legend: one coloured line per class at the right */
    plvpor(0.78, 0.99, 0.1, 0.92);
    plwind(0, 1, 0, 1);
    plschr(0, 0.85);
    for (int c = 0; c < x->C && c < 40; c++) {
        double yy = 0.97 - c * 0.94 / (x->C > 10 ? x->C : 10);
        PLFLT px = 0.05, py = yy;
        plcol0(class_colour(c));
        plstring(1, &px, &py, "●");
        plcol0(COL_BLACK);
        tl_plot_class_text(text, sizeof text, c, x->names);
        plptex(0.13, yy, 1, 0, 0, text);
    }
    plschr(0, 1.0);
}

int tl_plot_embedding(const char *path, const float *feat, const int *y, int n, int C, const float *dirs,
                      const float *centres, const int *centre_class, int k, const char *const *names,
                      const char *title, tl_error *err) {
    if (n < 1) return tl_fail(err, "%s: no points to draw", path);
    double r = 0;
    for (int i = 0; i < 2 * n; i++) r = fmax(r, fabs(feat[i]));
    for (int j = 0; centres && j < 2 * k; j++) r = fmax(r, fabs(centres[j]));
    if (!isfinite(r)) return tl_fail(err, "%s: non-finite features", path);
    embed_ctx x = {feat, dirs, centres, y, centre_class, n, C, centres ? k : 0, names, title, r > 0 ? 1.08 * r : 1};
    return run_figure(path, 1000, 800, draw_embedding, &x, err);
}

/* ------------------------------------------------------------------ weight norms */

typedef struct {
    const double *norms;
    const int64_t *count;
    int C;
    const char *const *names;
    const char *title;
    double lo, hi, top;
} norms_ctx;

static double log_count(int64_t n) { return log10(n > 0 ? (double)n : 1.0); }

static void draw_norms(const void *ctx) {
    const norms_ctx *x = ctx;
    char text[512];
    plvpor(0.1, 0.95, 0.11, 0.91);
    plwind(x->lo, x->hi, 0, x->top);
    plcol0(COL_GRID);
    plbox("gl", 0, 0, "g", 0, 0);
    plcol0(COL_BLACK);
    plbox("bcnstl", 0, 0, "bcnstv", 0, 0);
    tl_plot_text(text, sizeof text, x->title ? x->title : "Classifier weight norm per class");
    pllab("training images per class (log scale)", "norm of the class weight vector", text);
    int label_names = x->names && x->C <= 20;
    for (int c = 0; c < x->C; c++) {
        PLFLT px = log_count(x->count[c]), py = x->norms[c];
        plcol0(class_colour(c));
        plschr(0, x->C <= 50 ? 1.3 : 0.7);
        plstring(1, &px, &py, "●");
        if (x->C <= 50) {
            plschr(0, 0.8);
            plcol0(COL_BLACK);
            if (label_names) tl_plot_class_text(text, sizeof text, c, x->names);
            else snprintf(text, sizeof text, "%d", c);
            plptex(px + 0.012 * (x->hi - x->lo), py, 1, 0, 0, text);
        }
    }
    plschr(0, 1.0);
}

int tl_plot_weight_norms(const char *path, const double *norms, const int64_t *train_count, int C,
                         const char *const *names, const char *title, tl_error *err) {
    double lo = INFINITY, hi = -INFINITY, top = 0;
    for (int c = 0; c < C; c++) {
        lo = fmin(lo, log_count(train_count[c]));
        hi = fmax(hi, log_count(train_count[c]));
        if (!isfinite(norms[c])) return tl_fail(err, "%s: non-finite weight norm of class %d", path, c);
        top = fmax(top, norms[c]);
    }
    if (C < 1) return tl_fail(err, "%s: no classes", path);
    double span = hi - lo < 1 ? 1 : hi - lo, mid = 0.5 * (lo + hi);
    double right = names && C <= 20 ? 0.25 * span + 0.1 : 0.06 * span + 0.1;
    norms_ctx x = {norms, train_count, C, names, title, mid - 0.5 * span - 0.1, mid + 0.5 * span + right,
                   top > 0 ? 1.1 * top : 1};
    return run_figure(path, 1100, 750, draw_norms, &x, err);
}
