#include <cblas.h>
#include "core/threads.h"

void tl_threads_set_blas(int n) {
    /* OpenBLAS starts more workers only when asked for more than it has; the same count is a no-op. */
    if (n >= 1 && openblas_get_num_threads() != n) openblas_set_num_threads(n);
}
