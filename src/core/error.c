#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"

int tl_fail(tl_error *err, const char *fmt, ...) {
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int tl_fail_prefix(tl_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[sizeof err->msg], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof err->msg) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    strncpy(err->msg + n + 2, old, sizeof err->msg - n - 3);
    err->msg[sizeof err->msg - 1] = 0;
    return -1;
}
