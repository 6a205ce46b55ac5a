/* The life cycle of a folder a command writes (a run folder of train or retrain, a report folder of
 * eval): it is built under OUT.partial, held under an exclusive flock(2) on the folder itself for as
 * long as the command writes it, and renamed to OUT only when complete and only when nothing has
 * appeared at OUT meanwhile (renameat2 RENAME_NOREPLACE). A second writer of the same folder is
 * refused instead of racing the first. Folders that are written in place (a finished run that eval
 * writes RUN/eval into, a distill chain) take the same lock with tl_dir_lock. The lock goes with the
 * folder's inode, so it holds across the final rename until the process closes it or exits. */
#ifndef TL_RUN_RUN_DIR_H
#define TL_RUN_RUN_DIR_H
#include "tailor.h"

typedef struct {
    char out[4096];      /* the final name */
    char partial[4200];  /* out + ".partial" */
    const char *option;  /* the option that named the folder, for messages ("--out", "--resume") */
    int fd;              /* the locked folder (-1: none) */
    int created;         /* partial was made by this process */
} tl_run_dir;

/* Fills r for the final name out (trailing slashes dropped) after checking the path: not empty, not
 * "." or "..", short enough for OUT.partial and the files inside, its parent an existing folder. Takes
 * no lock and touches no file. */
int tl_run_dir_init(tl_run_dir *r, const char *out, const char *option, tl_error *err);
/* Fails when anything is at path, a dangling symbolic link included: "<option> <path>: already exists
 * (a folder)" (a file, a symbolic link, a dangling symbolic link). */
int tl_run_dir_check_free(const char *path, const char *option, tl_error *err);
/* Fails when r->partial exists: "another tailor process is writing it" while locked, else
 * "<option> <out>: <partial> is there (<why>)". */
int tl_run_dir_check_no_partial(const tl_run_dir *r, const char *why, tl_error *err);
/* Creates r->partial (it must not exist) and locks it. */
int tl_run_dir_create(tl_run_dir *r, tl_error *err);
/* Locks the existing r->partial (a run to continue). Fails when another process holds it or when it
 * was renamed away meanwhile. */
int tl_run_dir_open(tl_run_dir *r, tl_error *err);
/* Removes r->partial when a stopped or failed command left it; refused while another process holds
 * it, and for a training run's folder (one with a checkpoint), which only --resume continues. */
int tl_run_dir_remove_stale(tl_run_dir *r, tl_error *err);
/* Renames r->partial to r->out unless something is at r->out. On failure r->partial is kept whole
 * and the message gives the reason (errno) and how to put the finished folder in place by hand. */
int tl_run_dir_commit(tl_run_dir *r, tl_error *err);
/* Releases the lock; with remove set, and when this process created it, removes r->partial first. */
void tl_run_dir_close(tl_run_dir *r, int remove);

/* Locks the existing folder path exclusively into *fd ("<option> <path>: another tailor process is
 * writing it ..." when held). */
int tl_dir_lock(int *fd, const char *path, const char *option, tl_error *err);
/* Releases a lock of tl_dir_lock (fd -1: nothing to do). */
void tl_dir_unlock(int *fd);

#endif
