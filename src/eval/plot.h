/* PNG figures of a run, drawn with PLplot's pngcairo device.
 *
 * Each figure is its own PLplot stream (plmkstrm ... plend1), so any number of figures can be drawn in
 * one process, and the caller's current PLplot stream (if any) is restored afterwards. The PNG is
 * drawn to "<path>.tmp-<pid>", fsync'ed and renamed over path, so a reader never sees half a figure.
 * PLplot never prints and never exits from here: recoverable errors are collected per stream
 * (plsError), and its fatal path (plexit) jumps back through a handler, leaving that one stream
 * abandoned; both come back as -1 with the message. PLplot keeps global state, so call these from
 * one thread at a time. */
#ifndef TL_EVAL_PLOT_H
#define TL_EVAL_PLOT_H
#include "eval/epoch_log.h"
#include "eval/metrics.h"

/* per_class_accuracy.png: test recall of each class (y, 0..1) against its training count (x, log
 * scale; a class with no training images is drawn at 1), points coloured by shot group and, when
 * C <= 50, labelled with the class index (its name when names is non-NULL and C <= 20);
 * dotted lines at the shot-group boundaries 20 and 100, a dashed line at the balanced accuracy.
 * Classes absent from the test set are left out. title may be NULL. Returns 0, or -1 naming path. */
int tl_plot_per_class(const char *path, const tl_metrics *m, const char *const *names, const char *title,
                      tl_error *err);

/* confusion.png: the row-normalised confusion matrix (row = true class, top to bottom; column =
 * predicted class) as a white-to-blue heatmap with a colour bar; cell values in percent when
 * C <= 20; class labels (names when given) on both axes when C <= 40. Rows without test samples are
 * grey. Returns 0, or -1 naming path. */
int tl_plot_confusion(const char *path, const tl_metrics *m, const char *const *names, const char *title,
                      tl_error *err);

/* training_curves.png: two panels over the epochs (x = epoch + 1): training loss; training accuracy
 * with validation accuracy and balanced accuracy when present (not NAN). n >= 1. Returns 0, or -1
 * naming path. */
int tl_plot_training_curves(const char *path, const tl_epoch_log *logs, int n, const char *title,
                            tl_error *err);

#endif
