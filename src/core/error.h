/* Errors are returned, never printed or exit()ed inside the library.
 * A function that can fail takes `tl_error *err` last, returns 0 on success and -1 on failure,
 * and on failure leaves one human sentence in err->msg that names the file or option at fault. */
#ifndef TL_CORE_ERROR_H
#define TL_CORE_ERROR_H
#include "tailor.h"

/* Formats the message into err (err may be NULL) and returns -1, so callers write `return tl_fail(err, ...)`. */
int tl_fail(tl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "ctx: old message". Returns -1. */
int tl_fail_prefix(tl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
