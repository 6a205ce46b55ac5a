/* The global batch's sums of a data-parallel step (nn.h): the one switch the BN training kernels and
 * the heads with batch state consult. It is process-wide because the kernels keep their signatures
 * (every caller, test and benchmark calls them as in one process); a data-parallel trainer sets it
 * for its steps and clears it after. */
#include "nn/nn.h"

static tl_batch_sync *current;

void tl_batch_sync_set(tl_batch_sync *s) { current = s; }

tl_batch_sync *tl_batch_sync_get(void) { return current; }

double tl_batch_sum(double *v, size_t n) {
    if (!current) return 1;
    if (!current->failed && current->sum(v, n, current->ctx)) current->failed = 1;
    return current->ranks;
}
