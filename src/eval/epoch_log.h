/* metrics.jsonl: one JSON object per training epoch, written by the trainer as the epoch ends and
 * read back to draw training curves. Schema: docs/report-schema.md. */
#ifndef TL_EVAL_EPOCH_LOG_H
#define TL_EVAL_EPOCH_LOG_H
#include <stdio.h>
#include "tailor.h"

typedef struct {
    int epoch;                      /* 0-based */
    double lr;                      /* learning rate at the epoch's last step */
    double train_loss, train_acc;   /* means over the epoch's training samples */
    double val_accuracy, val_balanced_accuracy;   /* NAN when there is no validation set */
    double seconds;                 /* wall time of the epoch (training and validation) */
    double images_per_second;       /* training images / training seconds */
} tl_epoch_log;

/* Writes one line {"epoch":..,"lr":..,...}\n with every key (NAN -> null) and flushes.
 * Returns 0, or -1 when the stream reports a write error. */
int tl_metrics_line_write(FILE *f, const tl_epoch_log *e);

/* Reads a metrics.jsonl file (blank lines skipped; missing or null numbers -> NAN, a missing epoch
 * -> the line's index). On success *logs is a malloc'ed array of *n entries that the caller frees
 * with free(). Returns 0, or -1 naming path and line. */
int tl_epoch_log_read(tl_epoch_log **logs, int *n, const char *path, tl_error *err);

#endif
