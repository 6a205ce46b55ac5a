/* The library's only way to say something: one line at a time to the callback the program installed
 * (tl_log_set_callback in include/tailor.h); dropped when there is none. */
#ifndef TL_CORE_LOG_H
#define TL_CORE_LOG_H
#include "tailor.h"

void tl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
