/* PNG figures of what a head learned, drawn with PLplot's pngcairo device under the conventions of
 * eval/plot.h: each figure is its own PLplot stream (the caller's stream is restored), PLplot never
 * prints or exits from here (errors come back as -1 with the message), and the PNG is drawn to
 * "<path>.tmp-<pid>", fsync'ed and renamed over path. Call from one thread at a time. */
#ifndef TL_EVAL_PLOT_EMBEDDING_H
#define TL_EVAL_PLOT_EMBEDDING_H
#include <stdint.h>
#include "tailor.h"

/* embedding.png: 2-D features feat [n, 2] as points coloured by their class y [n] (C classes), with
 * the class weight directions dirs [C, 2] (drawn as rays from the origin to the edge of the data,
 * NULL for none) and/or centres [k, 2] of classes centre_class [k] (drawn as large diamonds with a
 * black outline, NULL for none); a legend of the classes (names when given). Returns 0, or -1 naming
 * path. */
int tl_plot_embedding(const char *path, const float *feat, const int *y, int n, int C, const float *dirs,
                      const float *centres, const int *centre_class, int k, const char *const *names,
                      const char *title, tl_error *err);

/* weight_norms.png: the norm of each class's weight vector (y) against its training count (x, log
 * scale; a class with no training images at 1), points labelled by class index (names when C <= 20).
 * Returns 0, or -1 naming path. */
int tl_plot_weight_norms(const char *path, const double *norms, const int64_t *train_count, int C,
                         const char *const *names, const char *title, tl_error *err);

#endif
