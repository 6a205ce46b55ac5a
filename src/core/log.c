#include <stdarg.h>
#include <stdio.h>
#include "core/log.h"

static tl_log_fn log_fn;
static void *log_user;

void tl_log_set_callback(tl_log_fn fn, void *user) {
    log_fn = fn;
    log_user = user;
}

void tl_log(int level, const char *fmt, ...) {
    if (!log_fn) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_fn(log_user, level, line);
}
