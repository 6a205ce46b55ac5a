/* A scratch folder for the unit tests that write files: tmpfiles_open("NAME") makes
 * /tmp/tl_test_NAME_XXXXXX, tmp("a/b") names a path inside it (8 results stay valid at once), and
 * tmpfiles_close() removes it with everything in it. */
#ifndef TL_TESTS_TMPFILES_H
#define TL_TESTS_TMPFILES_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

static inline int tmpfiles_open(const char *name) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tl_test_%s_XXXXXX", name);
    if (mkdtemp(tmpdir)) return 0;
    perror("mkdtemp");
    return -1;
}

static inline void tmpfiles_close(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static inline const char *tmp(const char *name) {
    static char bufs[8][512];
    static int next = 0;
    char *b = bufs[next++ & 7];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static inline void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static inline void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text)); }
#endif
