#include <errno.h>
#include <math.h>
#include <plplot/plplot.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "eval/figure.h"
#include "eval/plot.h"

/* cmap0 entries used below; 0 is the background. */
enum { COL_WHITE, COL_BLACK, COL_GRID, COL_BLUE, COL_ORANGE, COL_GREEN, COL_RED, COL_GREY, COL_EMPTY, NCOLORS };

static const unsigned char palette[NCOLORS][3] = {
    {255, 255, 255}, {0, 0, 0}, {215, 215, 215}, {31, 119, 180}, {230, 120, 10},
    {44, 160, 44}, {214, 39, 40}, {110, 110, 110}, {228, 228, 228}};

static int run_figure(const char *path, int w, int h, void (*draw)(const void *ctx), const void *ctx,
                      tl_error *err) {
    return tl_figure_draw(path, w, h, palette, NCOLORS, draw, ctx, err);
}

/* ------------------------------------------------------------------ per-class accuracy */

static const int shot_colour[3] = {COL_BLUE, COL_ORANGE, COL_RED};
static const char *const shot_label[3] = {"many", "medium", "few"};

static double log_count(int64_t n) { return log10(n > 0 ? (double)n : 1.0); }

typedef struct {
    const tl_metrics *m;
    const char *const *names;
    const char *title;
    double lo, hi;          /* x range, log10 of the training count */
} per_class_ctx;

static void draw_per_class(const void *ctx) {
    const per_class_ctx *x = ctx;
    const tl_metrics *m = x->m;
    double lo = x->lo, hi = x->hi, dx = hi - lo;
    int C = m->C, label_names = x->names && C <= 20, labelled = C <= 50;
    char text[512];
    plvpor(0.1, 0.97, 0.11, 0.91);
    plwind(lo, hi, -0.04, 1.07);   /* margins keep markers at recall 0 and 1 inside the frame */
    plcol0(COL_GRID);
    plbox("gl", 0, 0, "g", 0.1, 0);
    plcol0(COL_BLACK);
    plbox("bcnstl", 0, 0, "bcnstv", 0.1, 2);
    tl_plot_text(text, sizeof text, x->title ? x->title : "Per-class test accuracy");
    pllab("training images per class (log scale)", "test recall", text);

    /* shot-group boundaries (n = 20 and n = 100 both belong to "medium") and the group names */
    const double edge[2] = {log10(19.5), log10(100.5)};
    pllsty(3);
    plcol0(COL_GREY);
    for (int i = 0; i < 2; i++)
        if (edge[i] > lo && edge[i] < hi) pljoin(edge[i], -0.04, edge[i], 1.07);
    pllsty(1);
    const double from[3] = {edge[1], edge[0], lo}, to[3] = {hi, edge[1], edge[0]};
    for (int g = 0; g < 3; g++) {
        double a = fmax(from[g], lo), b = fmin(to[g], hi);
        if (b - a < 0.08 * dx) continue;
        plcol0(shot_colour[g]);
        plptex(0.5 * (a + b), 1.035, 1, 0, 0.5, shot_label[g]);
    }
    if (!isnan(m->balanced_accuracy)) {
        pllsty(2);
        plcol0(COL_GREY);
        pljoin(lo, m->balanced_accuracy, hi, m->balanced_accuracy);
        pllsty(1);
        snprintf(text, sizeof text, "dashed: balanced accuracy %.3f", m->balanced_accuracy);
        plschr(0, 0.8);
        plmtex("t", 0.9, 1.0, 1.0, text);
        plschr(0, 1.0);
    }
    /* markers and labels shrink as classes get more numerous */
    double marker = C <= 20 ? 1.3 : C <= 50 ? 0.9 : 0.6, font = C <= 20 ? 0.85 : 0.65;
    for (int c = 0; c < C; c++) {
        if (!m->test_count[c]) continue;
        PLFLT px = log_count(m->train_count[c]), py = m->recall[c];
        plcol0(shot_colour[m->shot[c]]);
        plschr(0, marker);
        plstring(1, &px, &py, "●");
        if (labelled) {
            plschr(0, font);
            plcol0(COL_BLACK);
            if (label_names) tl_plot_class_text(text, sizeof text, c, x->names);
            else snprintf(text, sizeof text, "%d", c);
            plptex(px + 0.012 * dx, py, 1, 0, 0, text);
        }
        plschr(0, 1.0);
    }
}

int tl_plot_per_class(const char *path, const tl_metrics *m, const char *const *names, const char *title,
                      tl_error *err) {
    double lo = INFINITY, hi = -INFINITY;
    for (int c = 0; c < m->C; c++)
        if (m->test_count[c]) { lo = fmin(lo, log_count(m->train_count[c])); hi = fmax(hi, log_count(m->train_count[c])); }
    if (!(lo <= hi)) return tl_fail(err, "%s: no class is present in the test set", path);
    /* at least one decade, so the log axis always has a labelled tick */
    double span = hi - lo < 1 ? 1 : hi - lo, mid = 0.5 * (lo + hi);
    /* room on the right for the labels, which sit right of their points */
    double right = names && m->C <= 20 ? 0.22 * span + 0.12 : 0.06 * span + 0.12;
    per_class_ctx x = {m, names, title, mid - 0.5 * span - 0.12, mid + 0.5 * span + right};
    return run_figure(path, 1100, 750, draw_per_class, &x, err);
}

/* ------------------------------------------------------------------ confusion matrix */

typedef struct {
    const tl_metrics *m;
    const char *const *names;
    const char *title;
    size_t longest;         /* longest class label in characters */
} confusion_ctx;

static void draw_confusion(const void *ctx) {
    const confusion_ctx *x = ctx;
    const tl_metrics *m = x->m;
    int C = m->C, show_values = C <= 20, show_labels = C <= 40;
    double label_scale = C <= 20 ? 1.0 : 0.75, value_scale = C <= 10 ? 0.9 : 0.7;
    char text[512];
    PLFLT def, ht, xmin, xmax, ymin, ymax;
    plgchr(&def, &ht);
    plgspa(&xmin, &xmax, &ymin, &ymax);
    double pw = xmax - xmin, ph = ymax - ymin;
    /* margins in mm: tick labels (at most about 0.75 character heights per character) plus the axis title */
    double lab = show_labels ? (double)x->longest * 0.75 * ht * label_scale : 0;
    double left = lab + 4.0 * ht, bottom = lab + 4.0 * ht, top = 3.5 * ht, right = 0.2 * pw;
    double size = fmin(pw - left - right, ph - bottom - top);   /* square cells */
    plvpor(left / pw, (left + size) / pw, bottom / ph, (bottom + size) / ph);
    plwind(0, C, 0, C);

    const PLFLT pos[3] = {0, 0.5, 1}, r[3] = {1, 0.42, 0.03}, g[3] = {1, 0.68, 0.19}, b[3] = {1, 0.84, 0.42};
    plscmap1l(1, 3, pos, r, g, b, NULL);
    double cell_ht = ht / size * C;   /* one character height in cell units */
    for (int t = 0; t < C; t++) {
        int64_t row = m->test_count[t];
        for (int p = 0; p < C; p++) {
            int64_t k = m->confusion[(size_t)t * C + p];
            double v = row ? (double)k / (double)row : 0;
            PLFLT xs[4] = {p, p + 1, p + 1, p}, ys[4] = {C - t - 1, C - t - 1, C - t, C - t};
            if (row) plcol1(v); else plcol0(COL_EMPTY);
            plfill(4, xs, ys);
            if (show_values && row) {
                if (k == 0) snprintf(text, sizeof text, "0");
                else snprintf(text, sizeof text, C <= 10 ? "%.1f" : "%.0f", 100 * v);
                plcol0(v > 0.55 ? COL_WHITE : COL_BLACK);
                plschr(0, value_scale);
                plptex(p + 0.5, C - t - 0.5 - 0.3 * cell_ht * value_scale, 1, 0, 0.5, text);
                plschr(0, 1.0);
            }
        }
    }
    plcol0(COL_BLACK);
    plbox("bc", 0, 0, "bc", 0, 0);
    if (show_labels) {
        plschr(0, label_scale);
        for (int c = 0; c < C; c++) {
            tl_plot_class_text(text, sizeof text, c, x->names);
            plmtex("bv", 0.7, (c + 0.5) / C, 1.0, text);
            plmtex("lv", 0.7, 1.0 - (c + 0.5) / C, 1.0, text);
        }
        plschr(0, 1.0);
    }
    double disp = lab / ht + 1.8;   /* plmtex displacement is in character heights */
    plmtex("b", disp, 0.5, 0.5, "predicted class");
    plmtex("l", disp, 0.5, 0.5, "true class");
    tl_plot_text(text, sizeof text, x->title ? x->title : "Confusion matrix (row-normalised, %)");
    plmtex("t", 1.5, 0.5, 0.5, text);

    /* colour bar: bands filled one by one (plcolorbar's gradient leaks a cairo pattern per call in
     * PLplot 5.15's cairo driver) */
    double bar = (left + size + 0.035 * pw) / pw;
    plvpor(bar, bar + 0.035, bottom / ph, (bottom + size) / ph);
    plwind(0, 1, 0, 100);
    for (int i = 0; i < 100; i++) {
        PLFLT xs[4] = {0, 1, 1, 0}, ys[4] = {i, i, i + 1, i + 1};
        plcol1((i + 0.5) / 100);
        plfill(4, xs, ys);
    }
    plcol0(COL_BLACK);
    plbox("bc", 0, 0, "bcmtv", 20, 0);
    plmtex("r", 3.2, 0.5, 0.5, "% of the true class");
}

int tl_plot_confusion(const char *path, const tl_metrics *m, const char *const *names, const char *title,
                      tl_error *err) {
    char text[512];
    size_t longest = 1;
    for (int c = 0; c < m->C && m->C <= 40; c++) {
        tl_plot_class_text(text, sizeof text, c, names);
        if (strlen(text) > longest) longest = strlen(text);
    }
    confusion_ctx x = {m, names, title, longest};
    return run_figure(path, 1150, 1000, draw_confusion, &x, err);
}

/* ------------------------------------------------------------------ training curves */

/* Draws field (an offset into tl_epoch_log) as a line, skipping NAN points; markers when few epochs. */
static void curve(const tl_epoch_log *logs, int n, size_t field, int colour, int style) {
    plcol0(colour);
    pllsty(style);
    plwidth(2.5);
    for (int i = 0; i < n; i++) {
        PLFLT y = *(const double *)((const char *)&logs[i] + field), x = logs[i].epoch + 1;
        if (isnan(y)) continue;
        if (i + 1 < n) {
            double y2 = *(const double *)((const char *)&logs[i + 1] + field);
            if (!isnan(y2)) pljoin(x, y, logs[i + 1].epoch + 1, y2);
        }
        if (n <= 40) { plschr(0, 0.8); plstring(1, &x, &y, "●"); plschr(0, 1.0); }
    }
    pllsty(1);
    plwidth(1.5);
}

static int any_finite(const tl_epoch_log *logs, int n, size_t field) {
    for (int i = 0; i < n; i++)
        if (!isnan(*(const double *)((const char *)&logs[i] + field))) return 1;
    return 0;
}

typedef struct {
    const tl_epoch_log *logs;
    int n;
    const char *title;
    double e0, e1, lmin, lmax;  /* x range (epochs) and loss range */
} curves_ctx;

static void draw_curves(const void *ctx) {
    const curves_ctx *x = ctx;
    const tl_epoch_log *logs = x->logs;
    int n = x->n;
    double pad = 0.03 * (x->e1 - x->e0), xtick = x->e1 - x->e0 <= 10 ? 1 : 0;   /* whole epochs */
    char text[512];
    if (x->title) {
        plvpor(0, 1, 0, 1);
        plwind(0, 1, 0, 1);
        tl_plot_text(text, sizeof text, x->title);
        plschr(0, 1.15);
        plptex(0.5, 0.94, 1, 0, 0.5, text);
        plschr(0, 1.0);
    }
    /* left panel: loss */
    plvpor(0.06, 0.47, 0.14, 0.8);
    plwind(x->e0 - pad, x->e1 + pad, x->lmin, x->lmax);
    plcol0(COL_GRID);
    plbox("g", xtick, 0, "g", 0, 0);
    plcol0(COL_BLACK);
    plbox("bcnst", xtick, 0, "bcnstv", 0, 0);
    pllab("epoch", "loss", "Training loss");
    curve(logs, n, offsetof(tl_epoch_log, train_loss), COL_BLUE, 1);

    /* right panel: accuracies */
    plvpor(0.56, 0.97, 0.14, 0.8);
    plwind(x->e0 - pad, x->e1 + pad, 0, 1.02);
    plcol0(COL_GRID);
    plbox("g", xtick, 0, "g", 0.1, 0);
    plcol0(COL_BLACK);
    plbox("bcnst", xtick, 0, "bcnstv", 0.2, 2);
    pllab("epoch", "accuracy", "Accuracy");
    const size_t field[3] = {offsetof(tl_epoch_log, train_acc), offsetof(tl_epoch_log, val_accuracy),
                             offsetof(tl_epoch_log, val_balanced_accuracy)};
    const int colour[3] = {COL_BLUE, COL_GREEN, COL_RED}, style[3] = {1, 1, 2};
    const char *name[3] = {"train accuracy", "validation accuracy", "validation balanced accuracy"};
    PLINT opt[3], tcol[3], lcol[3], lsty[3], k = 0;
    PLFLT lwid[3];
    const char *ltext[3];
    for (int i = 0; i < 3; i++) {
        if (!any_finite(logs, n, field[i])) continue;
        curve(logs, n, field[i], colour[i], style[i]);
        opt[k] = PL_LEGEND_LINE;
        tcol[k] = COL_BLACK;
        lcol[k] = colour[i];
        lsty[k] = style[i];
        lwid[k] = 2.5;
        ltext[k++] = name[i];
    }
    PLFLT lw, lh;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_BOTTOM | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02, 0.03, 0.06,
             COL_WHITE, COL_GREY, 1, 0, 0, k, opt, 0.6, 0.9, 2.0, 0.0, tcol, ltext,
             NULL, NULL, NULL, NULL, lcol, lsty, lwid, NULL, NULL, NULL, NULL);
}

int tl_plot_training_curves(const char *path, const tl_epoch_log *logs, int n, const char *title,
                            tl_error *err) {
    if (n < 1) return tl_fail(err, "%s: no epochs to plot", path);
    curves_ctx x = {logs, n, title, logs[0].epoch + 1, logs[0].epoch + 1, 0, 0};
    for (int i = 0; i < n; i++) {
        x.e0 = fmin(x.e0, logs[i].epoch + 1);
        x.e1 = fmax(x.e1, logs[i].epoch + 1);
        if (isfinite(logs[i].train_loss)) {
            x.lmax = fmax(x.lmax, logs[i].train_loss);
            x.lmin = fmin(x.lmin, logs[i].train_loss);
        }
    }
    if (x.e1 - x.e0 < 1) { x.e0 -= 0.5; x.e1 += 0.5; }
    x.lmax = x.lmax > x.lmin ? x.lmin + 1.05 * (x.lmax - x.lmin) : x.lmin + 1;
    return run_figure(path, 1400, 620, draw_curves, &x, err);
}
