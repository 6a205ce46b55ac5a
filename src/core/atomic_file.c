#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"

int tl_atomic_open(tl_atomic_file *af, const char *path, tl_error *err) {
    if (strlen(path) >= sizeof af->path) return tl_fail(err, "%s: path too long", path);
    strcpy(af->path, path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp-%ld", path, (long)getpid());
    /* The other ranks of an MPI job format the same bytes into nothing: only rank 0 writes files,
     * and every rank takes the same path through the code that writes them. */
    if (!tl_dist_writes()) *af->tmp = 0;
    af->f = fopen(*af->tmp ? af->tmp : "/dev/null", "wb");
    if (!af->f) return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

/* fsync of the folder holding path; best effort (some file systems refuse it). */
static void sync_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    else return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

int tl_atomic_commit(tl_atomic_file *af, tl_error *err) {
    if (!*af->tmp) {  /* not rank 0: nothing was written (/dev/null refuses fsync) */
        fclose(af->f);
        af->f = NULL;
        return 0;
    }
    int bad = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !bad) { bad = 1; saved = errno; }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->path) == 0) {
        sync_dir(af->path); /* make the rename itself durable (power loss, not only SIGKILL) */
        return 0;
    }
    if (!bad) saved = errno;
    remove(af->tmp);
    return tl_fail(err, "%s: cannot write: %s", af->path, strerror(saved));
}

void tl_atomic_abort(tl_atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    if (*af->tmp) remove(af->tmp);
}

int tl_atomic_write(const char *path, const void *data, size_t len, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    if (len && fwrite(data, 1, len, af.f) != len) {
        tl_atomic_abort(&af);
        return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    }
    return tl_atomic_commit(&af, err);
}
