/* What the C benchmarks share: the library's monotonic clock in seconds and the median of n timings (sorts them). */
#ifndef TL_BENCH_TIMING_H
#define TL_BENCH_TIMING_H
#include <stdlib.h>
#include "core/clock.h"

static inline double now(void) { return tl_clock_seconds(); }

static inline int timing_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, timing_cmp);
    return t[n / 2];
}
#endif
