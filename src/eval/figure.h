/* One PNG figure drawn with PLplot (src/eval/figure.c), shared by every plot of tailor. */
#ifndef TL_EVAL_FIGURE_H
#define TL_EVAL_FIGURE_H
#include <stddef.h>
#include "tailor.h"

/* Draws one w x h PNG at path: draw(ctx) runs inside a fresh PLplot stream whose cmap0 is palette
 * (ncolors RGB triples, entry 0 the background). Returns 0, or -1 naming path (no pngcairo device,
 * a PLplot error, an unwritable path); path is then untouched. Not thread-safe (PLplot is not). */
int tl_figure_draw(const char *path, int w, int h, const unsigned char (*palette)[3], int ncolors,
                   void (*draw)(const void *ctx), const void *ctx, tl_error *err);
/* s with PLplot's escape character '#' doubled. */
void tl_plot_text(char *out, size_t cap, const char *s);
/* The class name (escaped), or its index when names is NULL. */
void tl_plot_class_text(char *out, size_t cap, int c, const char *const *names);

#endif
