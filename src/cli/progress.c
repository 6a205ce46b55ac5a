#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include "progress.h"

void tl_progress_init(tl_progress *p, int quiet) {
    p->tty = isatty(2) && tl_dist_rank() == 0;  /* one bar for an MPI job */
    p->quiet = quiet;
    p->drawn = 0;
    p->start = p->last_draw = tl_clock_seconds();
    p->steps_done = 0;
}

static void step_bar(tl_progress *p, int epoch, int epochs, int step, int steps, double loss, double ips) {
    p->steps_done++;
    if (p->quiet || !p->tty) return;
    double t = tl_clock_seconds();
    if (t - p->last_draw < 0.2 && step + 1 < steps) return;
    p->last_draw = t;
    long total = (long)epochs * steps, done = (long)epoch * steps + step + 1;
    double rate = p->steps_done / (t - p->start + 1e-9), eta = (double)(total - done) / (rate > 0 ? rate : 1);
    int width = 24, fill = (int)((double)(step + 1) / steps * width);
    fprintf(stderr, "\r\033[Kepoch %d/%d [", epoch + 1, epochs);
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] step %d/%d  loss %.4f  %.0f img/s  ETA %dm%02ds", step + 1, steps, loss, ips,
            (int)(eta / 60), (int)fmod(eta, 60));
    p->drawn = 1;
}

static void epoch_line(tl_progress *p, const tl_train_status *e) {
    if (p->quiet) return;
    if (p->drawn) fputs("\r\033[K", stderr);
    fprintf(stderr, "epoch %d/%d  lr %.4g  loss %.4f  train acc %.4f", e->epoch + 1, e->epochs, e->lr, e->train_loss, e->train_accuracy);
    if (!isnan(e->val_accuracy)) fprintf(stderr, "  val acc %.4f  val bal acc %.4f", e->val_accuracy, e->val_balanced_accuracy);
    fprintf(stderr, "  %.0f img/s  %.1fs\n", e->images_per_second, e->seconds);
    p->drawn = 0;
}

void tl_progress_show(tl_progress *p, const tl_train_status *s) {
    if (s->epoch_end) epoch_line(p, s);
    else step_bar(p, s->epoch, s->epochs, s->step, s->steps, s->loss, s->images_per_second);
}

void tl_progress_done(tl_progress *p) {
    if (p->drawn) fputs("\r\033[K", stderr);
    p->drawn = 0;
}
