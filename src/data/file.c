#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

int tl_file_read(unsigned char **buf, int64_t *len, const char *path, tl_error *err) {
    *buf = NULL; *len = 0;
    struct stat st;
    if (stat(path, &st) != 0) return tl_fail(err, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return tl_fail(err, "%s is not a regular file", path);
    gzFile f = gzopen(path, "rb");
    if (!f) return tl_fail(err, "cannot open %s: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(f, 1 << 17);
    /* Start at the on-disk size (exact for raw files) and grow for gzip content. */
    int64_t cap = st.st_size > 0 ? (int64_t)st.st_size : 4096, used = 0;
    if (cap > TL_DATA_MAX_BYTES) cap = TL_DATA_MAX_BYTES;
    unsigned char *b = malloc((size_t)cap + 1);
    if (!b) { gzclose(f); return tl_fail(err, "%s: out of memory reading %lld bytes", path, (long long)cap); }
    for (;;) {
        if (used == cap) {
            /* Probe one byte first so a raw file of exactly cap bytes is never reallocated. */
            unsigned char probe;
            int p = gzread(f, &probe, 1);
            if (p == 0) break;
            if (p < 0) {
                int zerr; const char *m = gzerror(f, &zerr);
                tl_fail(err, "%s: read error: %s", path, zerr == Z_ERRNO ? strerror(errno) : m);
                free(b); gzclose(f); return -1;
            }
            if (cap >= TL_DATA_MAX_BYTES) {
                free(b); gzclose(f);
                return tl_fail(err, "%s: content exceeds the limit of %lld bytes", path, (long long)TL_DATA_MAX_BYTES);
            }
            int64_t ncap = cap * 2 > TL_DATA_MAX_BYTES ? TL_DATA_MAX_BYTES : cap * 2;
            unsigned char *nb = realloc(b, (size_t)ncap + 1);
            if (!nb) { free(b); gzclose(f); return tl_fail(err, "%s: out of memory reading the file", path); }
            b = nb; cap = ncap;
            b[used++] = probe;
            continue;
        }
        int64_t want = cap - used;
        if (want > (1 << 30)) want = 1 << 30;
        int got = gzread(f, b + used, (unsigned)want);
        if (got < 0) {
            int zerr; const char *m = gzerror(f, &zerr);
            tl_fail(err, "%s: read error: %s", path, zerr == Z_ERRNO ? strerror(errno) : m);
            free(b); gzclose(f); return -1;
        }
        if (got == 0) break;
        used += got;
    }
    /* A truncated gzip stream reads as a short file without an error; ask zlib whether it ended cleanly. */
    int zerr; const char *m = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        size_t pl = strlen(path); /* zlib prefixes its message with the path already */
        if (strncmp(m, path, pl) == 0 && strncmp(m + pl, ": ", 2) == 0) m += pl + 2;
        tl_fail(err, "%s: corrupt or truncated gzip data: %s", path, m);
        free(b); gzclose(f); return -1;
    }
    gzclose(f);
    b[used] = 0; /* lets text parsers treat the buffer as a C string */
    *buf = b; *len = used;
    return 0;
}

char **tl_file_read_names(const char *path, int k) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char **names = calloc((size_t)k, sizeof *names);
    char line[1024];
    int n = 0, ok = names != NULL;
    while (ok && fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t')) line[--l] = 0;
        if (l == 0) continue;
        if (n == k || !(names[n] = strdup(line))) { ok = 0; break; }
        n++;
    }
    fclose(f);
    if (ok && n == k) return names;
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
    return NULL;
}

int tl_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int tl_path_join(char *out, int cap, const char *dir, const char *name, tl_error *err) {
    int l = (dir && dir[0]) ? snprintf(out, (size_t)cap, "%s/%s", dir, name) : snprintf(out, (size_t)cap, "%s", name);
    if (l < 0 || l >= cap) return tl_fail(err, "path too long: %s/%s", dir, name);
    return 0;
}
