/* The image-pair grid of eval/plot_pairs.h. Each pixel is one filled rectangle in its own colour (a
 * cmap0 entry reset per pixel), so grey and RGB images take the same path; rectangles overlap by a
 * fraction of a pixel so that anti-aliasing leaves no seams. */
#include <math.h>
#include <plplot/plplot.h>
#include <stdio.h>
#include "eval/figure.h"
#include "eval/plot_pairs.h"

enum { COL_WHITE, COL_BLACK, COL_FRAME, COL_GREEN, COL_RED, COL_PIXEL, NCOLORS };

static const unsigned char palette[NCOLORS][3] = {
    {255, 255, 255}, {0, 0, 0}, {160, 160, 160}, {30, 140, 30}, {200, 30, 30}, {0, 0, 0}};

#define PER_ROW 4
#define CELL 150      /* image side in figure pixels */
#define GAP_IN 50     /* between the two images of a pair (the arrow) */
#define GAP_OUT 90    /* between pairs */
#define CAPTION 44    /* below each row of images */
#define TOP 60        /* room for the title */
#define MARGIN 30

typedef struct {
    const float *a, *b;
    int n, c, h, w, rows, width, height;
    const char *const *cap_a, *const *cap_b;
    const int *good;
    const char *title;
} pairs_ctx;

static unsigned char level(float v) {
    return (unsigned char)lrintf(255.0f * fminf(fmaxf(v, 0.0f), 1.0f));
}

/* One image with its top-left corner at (x0, y0) (figure pixels, y up) and its caption below. */
static void draw_image(const pairs_ctx *x, const float *img, double x0, double y0, const char *caption, int colour) {
    int c = x->c, h = x->h, w = x->w;
    size_t plane = (size_t)h * w;
    double px = (double)CELL / w, py = (double)CELL / h, eps = 0.3;
    for (int r = 0; r < h; r++)
        for (int q = 0; q < w; q++) {
            const float *v = img + (size_t)r * w + q;
            unsigned char rgb[3];
            if (c == 3) for (int k = 0; k < 3; k++) rgb[k] = level(v[k * plane]);
            else {
                float s = 0;
                for (int k = 0; k < c; k++) s += v[k * plane];
                rgb[0] = rgb[1] = rgb[2] = level(s / c);
            }
            plscol0(COL_PIXEL, rgb[0], rgb[1], rgb[2]);
            plcol0(COL_PIXEL);
            PLFLT xs[4] = {x0 + q * px - eps, x0 + (q + 1) * px + eps, x0 + (q + 1) * px + eps, x0 + q * px - eps};
            PLFLT ys[4] = {y0 - r * py + eps, y0 - r * py + eps, y0 - (r + 1) * py - eps, y0 - (r + 1) * py - eps};
            plfill(4, xs, ys);
        }
    plcol0(COL_FRAME);
    PLFLT fx[5] = {x0, x0 + CELL, x0 + CELL, x0, x0}, fy[5] = {y0, y0, y0 - CELL, y0 - CELL, y0};
    plline(5, fx, fy);
    char text[512];
    tl_plot_text(text, sizeof text, caption);
    plcol0(colour);
    plschr(0, 0.7);
    plptex(x0 + 0.5 * CELL, y0 - CELL - 0.45 * CAPTION, 1, 0, 0.5, text);
    plschr(0, 1.0);
}

static void draw_pairs(const void *ctx) {
    const pairs_ctx *x = ctx;
    size_t size = (size_t)x->c * x->h * x->w;
    plvpor(0, 1, 0, 1);
    plwind(0, x->width, 0, x->height);
    if (x->title) {
        char text[512];
        tl_plot_text(text, sizeof text, x->title);
        plcol0(COL_BLACK);
        plschr(0, 1.1);
        plptex(0.5 * x->width, x->height - 0.55 * TOP, 1, 0, 0.5, text);
        plschr(0, 1.0);
    }
    for (int i = 0; i < x->n; i++) {
        double x0 = MARGIN + (i % PER_ROW) * (2 * CELL + GAP_IN + GAP_OUT);
        double y0 = x->height - TOP - (i / PER_ROW) * (CELL + CAPTION);
        draw_image(x, x->a + i * size, x0, y0, x->cap_a[i], COL_BLACK);
        draw_image(x, x->b + i * size, x0 + CELL + GAP_IN, y0, x->cap_b[i],
                   !x->good ? COL_BLACK : x->good[i] ? COL_GREEN : COL_RED);
        plcol0(COL_BLACK);
        plschr(0, 1.6);
        plptex(x0 + CELL + 0.5 * GAP_IN, y0 - 0.5 * CELL - 5, 1, 0, 0.5, "→");
        plschr(0, 1.0);
    }
}

int tl_plot_image_pairs(const char *path, const float *a, const float *b, int n, int c, int h, int w,
                        const char *const *caption_a, const char *const *caption_b, const int *good,
                        const char *title, tl_error *err) {
    int cols = n < PER_ROW ? n : PER_ROW, rows = (n + PER_ROW - 1) / PER_ROW;
    pairs_ctx x = {a, b, n, c, h, w, rows, 0, 0, caption_a, caption_b, good, title};
    x.width = 2 * MARGIN + cols * (2 * CELL + GAP_IN) + (cols - 1) * GAP_OUT;
    if (x.width < 700) x.width = 700;   /* room for the title */
    x.height = TOP + rows * (CELL + CAPTION) + MARGIN;
    return tl_figure_draw(path, x.width, x.height, palette, NCOLORS, draw_pairs, &x, err);
}
