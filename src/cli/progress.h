/* Training progress on stderr: a one-line bar redrawn in place on a terminal (epoch, step, loss,
 * images/s, ETA), plain log lines (one per epoch) otherwise. */
#ifndef TL_CLI_PROGRESS_H
#define TL_CLI_PROGRESS_H
#include "eval/epoch_log.h"

typedef struct {
    int tty, quiet, drawn;
    double start, last_draw;
    long steps_done;
} tl_progress;

void tl_progress_init(tl_progress *p, int quiet);
void tl_progress_step(tl_progress *p, int epoch, int epochs, int step, int steps, double loss, double ips);
void tl_progress_epoch(tl_progress *p, const tl_epoch_log *e, int epochs);
void tl_progress_done(tl_progress *p);

#endif
