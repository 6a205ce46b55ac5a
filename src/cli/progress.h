/* Training progress on stderr: a one-line bar redrawn in place on a terminal (epoch, step, loss,
 * images/s, ETA), plain log lines (one per epoch) otherwise. */
#ifndef TL_CLI_PROGRESS_H
#define TL_CLI_PROGRESS_H
#include "tailor.h"

typedef struct {
    int tty, quiet, drawn;
    double start, last_draw;
    long steps_done;
} tl_progress;

void tl_progress_init(tl_progress *p, int quiet);
/* A step (s->epoch_end = 0) redraws the bar; an epoch's end prints its line. */
void tl_progress_show(tl_progress *p, const tl_train_status *s);
void tl_progress_done(tl_progress *p);

#endif
