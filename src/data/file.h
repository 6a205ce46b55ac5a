/* Whole-file reading shared by the binary formats (internal to src/data). */
#ifndef TL_DATA_FILE_H
#define TL_DATA_FILE_H
#include <stdint.h>
#include "tailor.h"

/* Reads the whole content of path into *buf (malloc'd, caller frees), *len bytes. gzip files are
 * inflated transparently. The content is bounded by TL_DATA_MAX_BYTES, so a corrupt or hostile file
 * cannot make the reader allocate more than that. */
int tl_file_read(unsigned char **buf, int64_t *len, const char *path, tl_error *err);

/* Class names: the non-empty lines of path (trailing blanks removed). Returns a malloc'd array of k
 * strings when the file exists and has exactly k such lines, else NULL (names are optional). */
char **tl_file_read_names(const char *path, int k);

/* 1 if path names an existing file. */
int tl_file_exists(const char *path);

/* snprintf into out[cap] of "dir/name"; returns -1 (message) if it does not fit. */
int tl_path_join(char *out, int cap, const char *dir, const char *name, tl_error *err);

#endif
