/* An evaluation pass shared by the ranks of an MPI job (trainer.h tl_eval_pass_shared). */
#include <stdlib.h>
#include "core/dist.h"
#include "core/error.h"
#include "train/trainer.h"

typedef struct {
    int (*visit)(void *ctx, tl_model *m, int got, int done);
    void *ctx;
    int first;   /* this rank's first row in the whole pass */
} shifted;

static int visit_shifted(void *p, tl_model *m, int got, int done) {
    shifted *s = p;
    return s->visit(s->ctx, m, got, s->first + done);
}

/* The first row of rank r's share: whole batches of B rows, the batches split as evenly as they go. */
static int share_start(int n, int B, int r, int P) {
    long batches = (n + B - 1) / B, at = batches * r / P * B;
    return at < n ? (int)at : n;
}

int tl_eval_pass_shared(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                        int head, int (*visit)(void *ctx, tl_model *m, int got, int done), void *ctx,
                        const tl_eval_out *outs, int nouts, tl_error *err) {
    int P = tl_dist_size();
    if (P == 1) return tl_eval_pass(m, d, idx, n, mean, std, head, visit, ctx, err);
    if (!idx) n = d->n;
    int r = tl_dist_rank(), lo = share_start(n, m->N, r, P), hi = share_start(n, m->N, r + 1, P), rc = 0;
    if (hi > lo) {
        int *rows = idx ? NULL : malloc((size_t)(hi - lo) * sizeof *rows);
        if (!idx && !rows) rc = tl_fail(err, "out of memory");
        for (int i = 0; rows && i < hi - lo; i++) rows[i] = lo + i;
        shifted s = {visit, ctx, lo};
        if (!rc) rc = tl_eval_pass(m, d, idx ? idx + lo : rows, hi - lo, mean, std, head, visit_shifted, &s, err);
        free(rows);
    }
    /* A rank whose rows failed (an unreadable image) must not leave the others waiting in the gather. */
    if (tl_dist_agree(rc, "the evaluation pass", err)) return -1;
    size_t counts[P];
    for (int k = 0; k < nouts; k++) {
        if (!outs[k].buf) continue;
        for (int q = 0; q < P; q++)
            counts[q] = (size_t)(share_start(n, m->N, q + 1, P) - share_start(n, m->N, q, P)) * outs[k].row_bytes;
        if (tl_dist_allgatherv((char *)outs[k].buf + (size_t)lo * outs[k].row_bytes, counts, outs[k].buf, err)) return -1;
    }
    return 0;
}
