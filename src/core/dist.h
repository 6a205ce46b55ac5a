/* The collectives of a data-parallel job (MPI). With one rank (no mpirun, or a build without MPI)
 * every call is a no-op that succeeds, so callers need no special case.
 *
 * Determinism: every sum is a ring reduce-scatter followed by a ring all-gather over MPI's
 * point-to-point calls, never MPI_Allreduce, whose order of additions is the implementation's
 * choice. Each element is therefore added in one fixed order for a given number of ranks, and every
 * rank ends with bitwise the same result: the same N and seed give bitwise the same model. */
#ifndef TL_CORE_DIST_H
#define TL_CORE_DIST_H
#include <stddef.h>
#include "tailor.h"

/* In place: buf[i] becomes the sum over ranks of their buf[i], the same bits on every rank. */
int tl_dist_sum_f32(float *buf, size_t n, tl_error *err);
int tl_dist_sum_f64(double *buf, size_t n, tl_error *err);

/* Copies root's bytes into every rank's buf. */
int tl_dist_bcast(void *buf, size_t bytes, int root, tl_error *err);

/* Every rank contributes `bytes` bytes; all receives size * bytes, rank 0's first. */
int tl_dist_allgather(const void *mine, size_t bytes, void *all, tl_error *err);

/* Every rank contributes counts[rank] bytes (counts known to all ranks); all receives them in rank
 * order, rank r's at the sum of counts[0 .. r-1]. */
int tl_dist_allgatherv(const void *mine, const size_t *counts, void *all, tl_error *err);

/* The largest of the ranks' values, on every rank (stop flags, error flags: 0 or 1). */
int tl_dist_max_int(int *v, tl_error *err);

/* Waits until every rank has arrived. */
int tl_dist_barrier(tl_error *err);

/* Whether this process writes files and stdout: rank 0 only (every rank reads what it needs). */
int tl_dist_writes(void);
/* In a child process a rank starts (tailor study's candidates): removes the launcher's variables from
 * the environment, so that a command it executes is a process of its own, not one more rank. */
void tl_dist_leave_job(void);

/* Called by every rank after a step that may fail on some ranks only (rank 0's writes, one rank's
 * rows): rc is this rank's result. Every rank learns whether any failed, so none goes on into a
 * collective the others have left. Returns rc where it failed; -1 with "<what> failed on another
 * rank" where it did not. */
int tl_dist_agree(int rc, const char *what, tl_error *err);

/* Every rank has agreed to end the command (an agreed stop): a failure status that follows is no
 * reason for tl_dist_abort. */
void tl_dist_end_together(void);

/* Seconds this process has spent inside the collectives above, and the bytes it has sent: what
 * the benchmarks report as the cost of the gradient sum and the BN synchronisation. */
double tl_dist_seconds(void);
double tl_dist_bytes_sent(void);

#endif
