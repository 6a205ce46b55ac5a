/* Finite-difference probes shared by the gradient checks: the k-th direction of a check that uses
 * ndir random directions and then single coordinates (docs/methods.md §0.5's float32 protocol). */
#ifndef TL_TESTS_FD_H
#define TL_TESTS_FD_H
#include <math.h>
#include <string.h>
#include "core/rng.h"

/* v[n] = a random unit vector for k < ndir, else a random coordinate axis. */
static inline void fd_direction(double *v, size_t n, int k, int ndir, tl_rng *rng) {
    if (k < ndir) {
        double nv = 0;
        for (size_t j = 0; j < n; j++) { v[j] = tl_rng_normal(rng); nv += v[j] * v[j]; }
        for (size_t j = 0; j < n; j++) v[j] /= sqrt(nv);
    } else {
        memset(v, 0, n * sizeof *v);
        v[tl_rng_below(rng, n)] = 1;
    }
}

#endif
