/* The study's figures (declared in study/output.h), drawn with the shared PLplot figure. */
#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "data/file.h"
#include "eval/figure.h"
#include "study/output.h"

enum { COL_WHITE, COL_BLACK, COL_GRID, COL_BLUE, COL_ORANGE, COL_RED, COL_GREY, NCOLORS };
static const unsigned char palette[NCOLORS][3] = {
    {255, 255, 255}, {0, 0, 0}, {215, 215, 215}, {31, 119, 180}, {230, 120, 10}, {214, 39, 40}, {110, 110, 110}};

#define MAX_BARS 24   /* groups.png shows the best 24 candidates */

typedef struct {
    const tl_study_summary *s;
    int which;        /* 0 val vs test, 1 groups, 2 metric vs time */
    double lo, hi, tlo, thi;
} plot_ctx;

static void mean_of(const tl_study_result *x, int test, int m, double *mean, double *std) {
    double v[TL_STUDY_MAX_SEEDS];
    for (int k = 0; k < x->nseeds; k++) v[k] = test ? x->test[k][m] : x->val[k][m];
    tl_study_mean_std(v, x->nseeds, mean, std);
}

static void label(const tl_study_summary *s, const tl_study_result *x, double px, double py) {
    char text[128];
    tl_plot_text(text, sizeof text, s->grid->c[x->cand].name);
    plschr(0, 0.6);
    plcol0(COL_BLACK);
    plptex(px, py, 1, 0, -0.1, text);
    plschr(0, 1.0);
}

static void draw(const void *ctx) {
    const plot_ctx *p = ctx;
    const tl_study_summary *s = p->s;
    char title[256], xl[128];
    const char *metric = tl_measure_names[s->metric];
    plvpor(0.1, 0.95, 0.12, 0.9);
    if (p->which == 1) {
        int n = s->n < MAX_BARS ? s->n : MAX_BARS;
        plwind(-0.5, n - 0.5, 0, 1.05);
        plcol0(COL_GRID);
        plbox("", 0, 0, "g", 0.1, 0);
        plcol0(COL_BLACK);
        plbox("bc", 1, 0, "bcnstv", 0.1, 2);
        pllab("", "test recall (not used for the choice)", "Head / mid / tail per candidate, best first (blue head, orange mid, red tail)");
        const int part[3] = {TL_MEASURE_HEAD, TL_MEASURE_MID, TL_MEASURE_TAIL}, col[3] = {COL_BLUE, COL_ORANGE, COL_RED};
        for (int i = 0; i < n; i++) {
            const tl_study_result *x = &s->r[s->order[i]];
            for (int g = 0; g < 3 && x->have_test; g++) {
                double mean, std;
                mean_of(x, 1, part[g], &mean, &std);
                if (isnan(mean)) continue;
                PLFLT bx[4] = {i - 0.35 + 0.24 * g, i - 0.35 + 0.24 * g, i - 0.13 + 0.24 * g, i - 0.13 + 0.24 * g};
                PLFLT by[4] = {0, mean, mean, 0};
                plcol0(col[g]);
                plfill(4, bx, by);
            }
            char text[128];
            tl_plot_text(text, sizeof text, s->grid->c[x->cand].name);
            plschr(0, 0.55);
            plcol0(COL_BLACK);
            plptex(i, 0.02, 0, 1, 0, text);
            plschr(0, 1.0);
        }
        return;
    }
    double xlo = p->which == 0 ? p->lo : p->tlo, xhi = p->which == 0 ? p->hi : p->thi;
    double ylo = p->which == 0 ? p->tlo : p->lo, yhi = p->which == 0 ? p->thi : p->hi;
    plwind(xlo, xhi, ylo, yhi);
    plcol0(COL_GRID);
    plbox("g", 0, 0, "g", 0, 0);
    plcol0(COL_BLACK);
    plbox("bcnst", 0, 0, "bcnstv", 0, 0);
    if (p->which == 0) {
        snprintf(xl, sizeof xl, "validation %s (the choice)", metric);
        snprintf(title, sizeof title, "Validation vs test per candidate (bars: seed spread)");
        pllab(xl, "test balanced accuracy (not used)", title);
    } else {
        snprintf(xl, sizeof xl, "validation %s", metric);
        pllab("training seconds per run", xl, "Validation metric against training time");
    }
    for (int i = 0; i < s->n; i++) {
        const tl_study_result *x = &s->r[s->order[i]];
        double vm, vs, tm = NAN, ts = NAN, sec, ss;
        mean_of(x, 0, s->metric, &vm, &vs);
        if (x->have_test) mean_of(x, 1, TL_MEASURE_BAL, &tm, &ts);
        tl_study_mean_std(x->seconds, x->nseeds, &sec, &ss);
        PLFLT px = p->which == 0 ? vm : sec, py = p->which == 0 ? tm : vm;
        if (isnan(px) || isnan(py)) continue;
        plcol0(i == 0 ? COL_RED : COL_BLUE);
        if (p->which == 0 && !isnan(vs)) pljoin(vm - vs, py, vm + vs, py);
        if (p->which == 0 && !isnan(ts)) pljoin(px, tm - ts, px, tm + ts);
        if (p->which == 2 && !isnan(vs)) pljoin(px, vm - vs, px, vm + vs);
        plstring(1, &px, &py, "●");
        if (i < 12) label(s, x, px + 0.01 * (xhi - xlo), py);
    }
}

static void range(const tl_study_summary *s, int test, int m, int seconds, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < s->n; i++) {
        const tl_study_result *x = &s->r[i];
        double mean, std;
        if (seconds) tl_study_mean_std(x->seconds, x->nseeds, &mean, &std);
        else if (test && !x->have_test) continue;
        else mean_of(x, test, m, &mean, &std);
        if (isnan(mean)) continue;
        if (isnan(std)) std = 0;
        *lo = fmin(*lo, mean - std);
        *hi = fmax(*hi, mean + std);
    }
    if (!(*lo <= *hi)) { *lo = 0; *hi = 1; }
    double pad = fmax(0.05 * (*hi - *lo), seconds ? 1 : 0.005);
    *lo -= pad;
    *hi += 3 * pad;   /* room for the labels */
}

int tl_study_plots(const char *dir, const tl_study_summary *s, tl_error *err) {
    static const char *const file[3] = {"val_vs_test.png", "groups.png", "metric_vs_time.png"};
    for (int k = 0; k < 3; k++) {
        plot_ctx p = {s, k, 0, 0, 0, 0};
        range(s, 0, s->metric, 0, &p.lo, &p.hi);
        if (k == 0) range(s, 1, TL_MEASURE_BAL, 0, &p.tlo, &p.thi);
        else range(s, 0, 0, 1, &p.tlo, &p.thi);
        char path[4200];
        if (tl_path_join(path, sizeof path, dir, file[k], err) ||
            tl_figure_draw(path, 1100, 750, palette, NCOLORS, draw, &p, err))
            return -1;
    }
    return 0;
}
