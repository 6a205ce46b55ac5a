/* Synchronised BatchNorm (nn.h): the one switch the training kernels consult. It is process-wide
 * because the kernels keep their signatures (every caller, test and benchmark calls them as in one
 * process); a data-parallel trainer sets it for its steps and clears it after. */
#include "nn/nn.h"

static tl_bn_sync *current;

void tl_bn_sync_set(tl_bn_sync *s) { current = s; }

tl_bn_sync *tl_bn_sync_get(void) { return current; }

double tl_bn_sync_sum(double *v, size_t n) {
    if (!current) return 1;
    if (!current->failed && current->sum(v, n, current->ctx)) current->failed = 1;
    return current->ranks;
}
