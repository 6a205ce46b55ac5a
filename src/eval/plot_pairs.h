/* A PNG grid of image pairs (before → after), drawn through eval/figure.h under the conventions of
 * eval/plot.h (own PLplot stream, errors returned, written to a temporary name and renamed). Used for
 * the seed → generated pairs of M2m (m2m_samples.png). Call from one thread at a time. */
#ifndef TL_EVAL_PLOT_PAIRS_H
#define TL_EVAL_PLOT_PAIRS_H
#include "tailor.h"

/* n ≥ 1 pairs, four to a row: a_i on the left, an arrow, b_i on the right; each image [c, h, w] with
 * values in [0, 1] (clamped), drawn in colour when c = 3, else as the grey mean of its channels, with
 * its caption (caption_a[i], caption_b[i]) below it; caption_b[i] is green when good[i] is set, red
 * when not (black when good is NULL); title on top (may be NULL). Returns 0, or -1 naming path. */
int tl_plot_image_pairs(const char *path, const float *a, const float *b, int n, int c, int h, int w,
                        const char *const *caption_a, const char *const *caption_b, const int *good,
                        const char *title, tl_error *err);

#endif
