/* Wall-clock time for timings (epoch seconds, images per second, progress): the one clock tailor reads. */
#ifndef TL_CORE_CLOCK_H
#define TL_CORE_CLOCK_H

/* Seconds on the monotonic clock (CLOCK_MONOTONIC), from an arbitrary origin: only differences mean anything. */
double tl_clock_seconds(void);

#endif
