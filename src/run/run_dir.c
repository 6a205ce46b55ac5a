#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "run/bundle.h"
#include "run/run_dir.h"
#include "core/dist.h"
#include "core/error.h"

int tl_run_dir_init(tl_run_dir *r, const char *out, const char *option, tl_error *err) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->option = option;
    size_t len = strlen(out);
    /* Room for ".partial" and the longest file name tailor writes inside ("stage2_checkpoint.safetensors.tmp-PID"). */
    enum { ROOM = 64 };
    if (len == 0) return tl_fail(err, "%s '': empty path (name the folder to create)", option);
    if (len + ROOM >= sizeof r->out)
        return tl_fail(err, "%s %.40s...: path of %zu characters is too long (at most %d)", option, out, len,
                       (int)sizeof r->out - ROOM - 1);
    memcpy(r->out, out, len + 1);
    while ((len = strlen(r->out)) > 1 && r->out[len - 1] == '/') r->out[len - 1] = 0;  /* "runs/ce/" */
    const char *base = strrchr(r->out, '/');
    base = base ? base + 1 : r->out;
    if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(r->out, "/"))
        return tl_fail(err, "%s %s: names an existing folder (name a new one)", option, out);
    snprintf(r->partial, sizeof r->partial, "%s.partial", r->out);
    /* Where only rank 0 writes, only it looks (the others may run on machines without the folder). */
    if (!tl_dist_writes()) return 0;
    char parent[sizeof r->out];
    snprintf(parent, sizeof parent, "%.*s", base == r->out ? 1 : base - r->out > 1 ? (int)(base - r->out - 1) : 1,
             base == r->out ? "." : r->out);
    struct stat st;
    if (stat(parent, &st) != 0) return tl_fail(err, "%s %s: folder %s: %s", option, out, parent, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return tl_fail(err, "%s %s: %s is not a folder", option, out, parent);
    return 0;
}

/* What lstat finds at path, in words (for messages). */
static const char *kind(const char *path, const struct stat *st) {
    struct stat target;
    if (S_ISLNK(st->st_mode))
        return stat(path, &target) ? "a dangling symbolic link: remove it or name another folder" : "a symbolic link";
    return S_ISDIR(st->st_mode) ? "a folder" : "a file";
}

int tl_run_dir_check_free(const char *path, const char *option, tl_error *err) {
    struct stat st;
    if (!tl_dist_writes()) return 0;
    if (lstat(path, &st) == 0) return tl_fail(err, "%s %s: already exists (%s)", option, path, kind(path, &st));
    if (errno != ENOENT) return tl_fail(err, "%s %s: cannot check: %s", option, path, strerror(errno));
    return 0;
}

int tl_run_dir_check_no_partial(const tl_run_dir *r, const char *why, tl_error *err) {
    struct stat st;
    if (!tl_dist_writes()) return 0;  /* rank 0 checks: it may have created it already */
    if (lstat(r->partial, &st) != 0) return 0;
    int fd;
    if (tl_dir_lock(&fd, r->partial, r->option, err)) return -1;  /* held: another process is writing it */
    tl_dir_unlock(&fd);
    return tl_fail(err, "%s %s: %s is there (%s)", r->option, r->out, r->partial, why);
}

int tl_dir_lock(int *fd, const char *path, const char *option, tl_error *err) {
    *fd = -1;
    if (!tl_dist_writes()) return 0;  /* only rank 0 writes, so only it locks (the others would meet its lock) */
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return tl_fail(err, "%s %s: cannot open: %s", option, path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return 0;
    int e = errno;
    close(*fd);
    *fd = -1;
    if (e == EWOULDBLOCK)
        return tl_fail(err, "%s %s: another tailor process is writing it; wait for it to finish (or stop it) first", option, path);
    return tl_fail(err, "%s %s: cannot lock: %s", option, path, strerror(e));
}

void tl_dir_unlock(int *fd) {
    if (*fd >= 0) close(*fd);  /* closing the only descriptor releases the flock */
    *fd = -1;
}

static int create(tl_run_dir *r, tl_error *err) {
    if (!tl_dist_writes()) return 0;
    if (tl_mkdir_new(r->partial, r->option, err)) return -1;
    r->created = 1;
    if (tl_dir_lock(&r->fd, r->partial, r->option, err)) { tl_rmdir_files(r->partial); r->created = 0; return -1; }
    return 0;
}

int tl_run_dir_create(tl_run_dir *r, tl_error *err) { return tl_dist_agree(create(r, err), "creating the folder", err); }

static int open_partial(tl_run_dir *r, tl_error *err) {
    if (!tl_dist_writes()) return 0;
    if (tl_dir_lock(&r->fd, r->partial, r->option, err)) return -1;
    /* A writer that held it may have renamed it into place between our open and our lock: then
     * the descriptor is the finished folder, no longer r->partial. */
    struct stat a, b;
    if (fstat(r->fd, &a) || stat(r->partial, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        tl_dir_unlock(&r->fd);
        return tl_fail(err, "%s %s: finished by another tailor process meanwhile", r->option, r->partial);
    }
    return 0;
}

int tl_run_dir_open(tl_run_dir *r, tl_error *err) { return tl_dist_agree(open_partial(r, err), "opening the folder", err); }

int tl_run_dir_remove_stale(tl_run_dir *r, tl_error *err) {
    struct stat st;
    if (!tl_dist_writes()) return 0;
    if (lstat(r->partial, &st) != 0) return 0;
    char ckpt[4300];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", r->partial);
    if (lstat(ckpt, &st) == 0)
        return tl_fail(err, "%s %s: %s holds an interrupted training run (continue it with tailor train --resume %s); choose another %s",
                       r->option, r->out, r->partial, r->out, r->option);
    int fd;
    if (tl_dir_lock(&fd, r->partial, r->option, err)) return -1;
    tl_rmdir_files(r->partial);
    tl_dir_unlock(&fd);
    return 0;
}

/* rename(2) that never replaces what is at `to` (rename would silently replace an empty folder). */
static int rename_noreplace(const char *from, const char *to) {
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    /* A file system without RENAME_NOREPLACE: look first (a narrow race remains there). */
    struct stat st;
    if (lstat(to, &st) == 0) { errno = EEXIST; return -1; }
    return rename(from, to);
}

static int commit(tl_run_dir *r, tl_error *err) {
    if (!tl_dist_writes() || rename_noreplace(r->partial, r->out) == 0) return 0;
    int e = errno;
    struct stat st;
    if (e == EEXIST || e == ENOTEMPTY || e == ENOTDIR || e == EISDIR) {
        const char *what = lstat(r->out, &st) == 0 ? kind(r->out, &st) : "something";
        return tl_fail(err, "%s %s: cannot rename %s into place: %s (%s appeared there while this command ran); "
                       "the finished folder is kept as %s: move %s away, then: mv %s %s",
                       r->option, r->out, r->partial, strerror(EEXIST), what, r->partial, r->out, r->partial, r->out);
    }
    return tl_fail(err, "%s %s: cannot rename %s into place: %s; the finished folder is kept as %s: once that is fixed: mv %s %s",
                   r->option, r->out, r->partial, strerror(e), r->partial, r->partial, r->out);
}

int tl_run_dir_commit(tl_run_dir *r, tl_error *err) { return tl_dist_agree(commit(r, err), "finishing the folder", err); }

void tl_run_dir_close(tl_run_dir *r, int remove) {
    if (remove && r->created) tl_rmdir_files(r->partial);  /* still locked, so no other writer is inside */
    r->created = 0;
    tl_dir_unlock(&r->fd);
}

/* The public output folder (include/tailor.h): a run folder in the making, or a locked finished one. */
struct tl_folder {
    tl_run_dir rd;
    int lock_fd;
    int committed;
};

tl_folder *tl_folder_create(const char *out, const char *option, int remove_stale, tl_error *err) {
    tl_folder *f = calloc(1, sizeof *f);
    if (!f) { tl_fail(err, "out of memory"); return NULL; }
    f->rd.fd = f->lock_fd = -1;
    if (tl_run_dir_init(&f->rd, out ? out : "", option, err) || tl_run_dir_check_free(f->rd.out, option, err) ||
        (remove_stale ? tl_run_dir_remove_stale(&f->rd, err)
                      : tl_run_dir_check_no_partial(&f->rd, "left by an interrupted writer: move it away or remove it", err)) ||
        tl_run_dir_create(&f->rd, err)) {
        tl_run_dir_close(&f->rd, 1);
        free(f);
        return NULL;
    }
    return f;
}

const char *tl_folder_path(const tl_folder *f) { return f->rd.partial; }
const char *tl_folder_name(const tl_folder *f) { return f->rd.out; }

int tl_folder_commit(tl_folder *f, tl_error *err) {
    if (tl_run_dir_commit(&f->rd, err)) return -1;
    f->committed = 1;
    return 0;
}

void tl_folder_close(tl_folder *f, int remove) {
    if (!f) return;
    if (f->lock_fd >= 0) tl_dir_unlock(&f->lock_fd);
    else tl_run_dir_close(&f->rd, remove && !f->committed);
    free(f);
}

tl_folder *tl_folder_lock(const char *path, const char *option, tl_error *err) {
    tl_folder *f = calloc(1, sizeof *f);
    if (!f) { tl_fail(err, "out of memory"); return NULL; }
    f->rd.fd = -1;
    if (tl_dir_lock(&f->lock_fd, path, option, err)) { free(f); return NULL; }
    return f;
}

tl_folder *tl_folder_open(const char *path, const char *option, tl_error *err) {
    tl_error local;
    if (!err) err = &local;
    if (!tl_path_exists(path) && tl_mkdir_new(path, option, err)) return NULL;
    return tl_folder_lock(path, option, err);
}

void tl_folder_unlock(tl_folder *f) { tl_folder_close(f, 0); }
