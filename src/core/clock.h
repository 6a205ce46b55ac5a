/* Wall-clock time for timings: tl_clock_seconds, declared in the public header (the command's
 * progress display reads it too). */
#ifndef TL_CORE_CLOCK_H
#define TL_CORE_CLOCK_H
#include "tailor.h"
#endif
