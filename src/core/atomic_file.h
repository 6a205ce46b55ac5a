/* Crash-safe writes: every file tailor writes goes to "<path>.tmp-<pid>" in the same folder, is
 * flushed and fsync'ed, then renamed over <path>. A reader (or a SIGKILL at any moment) sees either
 * the old complete file or the new complete file, never a torn one. */
#ifndef TL_CORE_ATOMIC_FILE_H
#define TL_CORE_ATOMIC_FILE_H
#include <stdio.h>
#include "tailor.h"

typedef struct {
    FILE *f;
    char path[4096], tmp[4200];
} tl_atomic_file;

/* Opens the temporary file. Returns 0, or -1 with an error naming `path`. */
int tl_atomic_open(tl_atomic_file *af, const char *path, tl_error *err);
/* Flushes, fsyncs, closes and renames into place. Returns 0, or -1 (the temporary is removed). */
int tl_atomic_commit(tl_atomic_file *af, tl_error *err);
/* Closes and removes the temporary file; the previous file (if any) is untouched. */
void tl_atomic_abort(tl_atomic_file *af);
/* Writes a whole buffer atomically. */
int tl_atomic_write(const char *path, const void *data, size_t len, tl_error *err);

#endif
