/* Processes of a data-parallel job: MPI when built with it (TL_MPI) and started by mpirun, else one
 * rank. The sums are rings of point-to-point messages in a fixed order (dist.h). */
#include "core/dist.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/clock.h"
#include "core/error.h"
#ifdef TL_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
static double g_seconds = 0, g_bytes = 0;

TL_API int tl_dist_available(void) {
#ifdef TL_MPI
    return 1;
#else
    return 0;
#endif
}

/* mpirun says so in the environment of every process it starts (Open MPI, and PMI/PMIx launchers). */
static int launched_by_mpirun(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

/* Every variable a launcher sets begins so (those launched_by_mpirun reads among them). */
static const char *const launcher_prefixes[] = {"OMPI_", "PMIX_", "PMI_"};

void tl_dist_leave_job(void) {
    extern char **environ;
    for (char **e = environ; *e;) {
        size_t n = strcspn(*e, "="), k = 0;
        while (k < sizeof launcher_prefixes / sizeof *launcher_prefixes &&
               strncmp(*e, launcher_prefixes[k], strlen(launcher_prefixes[k])))
            k++;
        if (k == sizeof launcher_prefixes / sizeof *launcher_prefixes || n >= 256) { e++; continue; }
        char name[256];
        memcpy(name, *e, n);
        name[n] = 0;
        unsetenv(name);
        e = environ;   /* unsetenv moved the entries: start over */
    }
}

TL_API int tl_dist_rank(void) { return g_rank; }
TL_API int tl_dist_size(void) { return g_size; }
double tl_dist_seconds(void) { return g_seconds; }
double tl_dist_bytes_sent(void) { return g_bytes; }
int tl_dist_writes(void) { return g_rank == 0; }

/* Set when every rank has learnt together that the command ends (a failure of tl_dist_agree or
 * tl_dist_same, an agreed stop): the job can end without MPI_Abort. */
static int g_together = 0;
void tl_dist_end_together(void) { g_together = 1; }

int tl_dist_agree(int rc, const char *what, tl_error *err) {
    int failed = rc != 0;
    if (tl_dist_max_int(&failed, err)) return -1;
    g_together |= failed;
    if (failed && rc == 0) return tl_fail(err, "%s failed on another rank (its message is above)", what);
    return rc;
}

TL_API int tl_dist_same(const void *buf, size_t n, const char *what, tl_error *err) {
    if (g_size == 1) return 0;
    uint64_t h = 0xcbf29ce484222325ULL, all[g_size];  /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)buf)[i]) * 0x100000001b3ULL;
    if (tl_dist_allgather(&h, sizeof h, all, err)) return -1;
    for (int r = 1; r < g_size; r++)
        if (all[r] != all[0]) {
            g_together = 1;
            return tl_fail(err, "rank %d of %d does not see the same %s as rank 0", r, g_size, what);
        }
    return 0;
}

#ifndef TL_MPI

TL_API int tl_dist_init(tl_error *err) {
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (launched_by_mpirun() && (!n || atoi(n) != 1))
        return tl_fail(err, "started by mpirun, but this tailor was built without MPI (rebuild with make MPI=1)");
    return 0;
}
TL_API void tl_dist_finalize(void) {}
int tl_dist_sum_f32(float *buf, size_t n, tl_error *err) { return 0; }
int tl_dist_sum_f64(double *buf, size_t n, tl_error *err) { return 0; }
int tl_dist_bcast(void *buf, size_t bytes, int root, tl_error *err) { return 0; }
int tl_dist_allgather(const void *mine, size_t bytes, void *all, tl_error *err) {
    if (all != mine) memmove(all, mine, bytes);
    return 0;
}
int tl_dist_allgatherv(const void *mine, const size_t *counts, void *all, tl_error *err) {
    return tl_dist_allgather(mine, counts[0], all, err);
}
int tl_dist_max_int(int *v, tl_error *err) { return 0; }
int tl_dist_barrier(tl_error *err) { return 0; }
TL_API void tl_dist_abort(int status) {}

#else

static int g_joined = 0;
static MPI_Comm g_comm = MPI_COMM_NULL, g_exit_comm = MPI_COMM_NULL;   /* the exit's own: no collective to cross */
/* The received chunk of a ring step; grown once to the largest chunk, so a training step that sums
 * the same gradients every time allocates nothing after its first. */
static void *g_tmp = NULL;
static size_t g_tmp_cap = 0;

static int mpi_fail(tl_error *err, int code, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", code);
    return tl_fail(err, "MPI %s failed on rank %d of %d: %s (another rank may have died)", what, g_rank, g_size, text);
}

TL_API int tl_dist_init(tl_error *err) {
    if (g_joined || !launched_by_mpirun()) return 0;
    int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return tl_fail(err, "MPI_Init_thread failed (error %d)", rc);
    g_joined = 1;
    MPI_Comm_dup(MPI_COMM_WORLD, &g_comm);
    MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    MPI_Comm_dup(MPI_COMM_WORLD, &g_exit_comm);
    MPI_Comm_set_errhandler(g_exit_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    return 0;
}

TL_API void tl_dist_finalize(void) {
    if (!g_joined) return;
    free(g_tmp);
    g_tmp = NULL;
    g_tmp_cap = 0;
    MPI_Comm_free(&g_comm);
    MPI_Comm_free(&g_exit_comm);
    MPI_Finalize();
    g_joined = 0;
    g_rank = 0;
    g_size = 1;
}

/* How long a failed rank waits for the others to fail too (the same bad option on every rank) before
 * it ends the job: they fail at the same point, so a few seconds on a busy machine. */
#define EXIT_WAIT_SECONDS 5.0

TL_API void tl_dist_abort(int status) {
    if (!g_joined || g_together) return;
    /* A barrier of its own communicator, so it cannot be taken for a collective of g_comm: when every
     * rank arrives, all failed and each ends itself; when one does not, it may wait in a collective. */
    MPI_Request req;
    int done = 0;
    if (MPI_Ibarrier(g_exit_comm, &req) == MPI_SUCCESS)
        for (double t0 = tl_clock_seconds(); !done && tl_clock_seconds() - t0 < EXIT_WAIT_SECONDS;) {
            if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
            if (!done) nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
    if (!done) MPI_Abort(g_comm, status);
}

/* MPI counts are ints: a message longer than 1 GiB goes in pieces. */
#define PIECE ((size_t)1 << 30)

static int sendrecv(const void *send, size_t sbytes, int to, void *recv, size_t rbytes, int from, tl_error *err) {
    size_t done_s = 0, done_r = 0;
    do {   /* at least one message, empty or not: the neighbours' pairing never depends on the sizes */
        size_t s = sbytes - done_s < PIECE ? sbytes - done_s : PIECE, r = rbytes - done_r < PIECE ? rbytes - done_r : PIECE;
        int rc = MPI_Sendrecv((const char *)send + done_s, (int)s, MPI_BYTE, to, 0, (char *)recv + done_r, (int)r,
                              MPI_BYTE, from, 0, g_comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "send/receive");
        done_s += s;
        done_r += r;
        g_bytes += (double)s;
    } while (done_s < sbytes || done_r < rbytes);
    return 0;
}

static void add_f32(void *dst, const void *src, size_t n) {
    float *d = dst;
    const float *s = src;
    for (size_t i = 0; i < n; i++) d[i] += s[i];
}
static void add_f64(void *dst, const void *src, size_t n) {
    double *d = dst;
    const double *s = src;
    for (size_t i = 0; i < n; i++) d[i] += s[i];
}

/* Element offset of chunk c of n elements split among the ranks. */
static size_t chunk_at(size_t n, int c) { return n * (size_t)c / (size_t)g_size; }

/* Ring reduce-scatter then ring all-gather: chunk c is summed as ((x_c + x_c+1) + x_c+2) + ... over
 * ranks starting at rank c, always in that order, then copied to every rank. */
static int ring_sum(void *buf, size_t n, size_t elem, void (*add)(void *, const void *, size_t), tl_error *err) {
    if (g_size == 1 || n == 0) return 0;
    double t0 = tl_clock_seconds();
    size_t biggest = n / (size_t)g_size + 1;
    if (biggest * elem > g_tmp_cap) {
        void *p = realloc(g_tmp, biggest * elem);
        if (!p) return tl_fail(err, "out of memory for the gradient sum (%zu bytes)", biggest * elem);
        g_tmp = p;
        g_tmp_cap = biggest * elem;
    }
    char *b = buf;
    int right = (g_rank + 1) % g_size, left = (g_rank + g_size - 1) % g_size;
    for (int k = 0; k < g_size - 1; k++) {
        int s = (g_rank - k + 2 * g_size) % g_size, q = (g_rank - k - 1 + 2 * g_size) % g_size;
        size_t s0 = chunk_at(n, s), s1 = chunk_at(n, s + 1), q0 = chunk_at(n, q), q1 = chunk_at(n, q + 1);
        if (sendrecv(b + s0 * elem, (s1 - s0) * elem, right, g_tmp, (q1 - q0) * elem, left, err)) return -1;
        add(b + q0 * elem, g_tmp, q1 - q0);
    }
    for (int k = 0; k < g_size - 1; k++) {
        int s = (g_rank + 1 - k + 2 * g_size) % g_size, q = (g_rank - k + 2 * g_size) % g_size;
        size_t s0 = chunk_at(n, s), s1 = chunk_at(n, s + 1), q0 = chunk_at(n, q), q1 = chunk_at(n, q + 1);
        if (sendrecv(b + s0 * elem, (s1 - s0) * elem, right, b + q0 * elem, (q1 - q0) * elem, left, err)) return -1;
    }
    g_seconds += tl_clock_seconds() - t0;
    return 0;
}

int tl_dist_sum_f32(float *buf, size_t n, tl_error *err) { return ring_sum(buf, n, sizeof *buf, add_f32, err); }
int tl_dist_sum_f64(double *buf, size_t n, tl_error *err) { return ring_sum(buf, n, sizeof *buf, add_f64, err); }

int tl_dist_bcast(void *buf, size_t bytes, int root, tl_error *err) {
    if (g_size == 1) return 0;
    double t0 = tl_clock_seconds();
    for (size_t done = 0; done < bytes; done += PIECE) {
        size_t s = bytes - done < PIECE ? bytes - done : PIECE;
        int rc = MPI_Bcast((char *)buf + done, (int)s, MPI_BYTE, root, g_comm);
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "broadcast");
        if (g_rank == root) g_bytes += (double)s;
    }
    g_seconds += tl_clock_seconds() - t0;
    return 0;
}

/* Ring all-gather of blocks of any size: block r at offs[r], counts[r] bytes. */
static int ring_gather(char *all, const size_t *counts, tl_error *err) {
    size_t offs[g_size + 1];
    offs[0] = 0;
    for (int r = 0; r < g_size; r++) offs[r + 1] = offs[r] + counts[r];
    int right = (g_rank + 1) % g_size, left = (g_rank + g_size - 1) % g_size;
    for (int k = 0; k < g_size - 1; k++) {
        int s = (g_rank - k + 2 * g_size) % g_size, q = (g_rank - k - 1 + 2 * g_size) % g_size;
        if (sendrecv(all + offs[s], counts[s], right, all + offs[q], counts[q], left, err)) return -1;
    }
    return 0;
}

int tl_dist_allgatherv(const void *mine, const size_t *counts, void *all, tl_error *err) {
    size_t at = 0;
    for (int r = 0; r < g_rank; r++) at += counts[r];
    if ((const char *)all + at != mine) memmove((char *)all + at, mine, counts[g_rank]);
    if (g_size == 1) return 0;
    double t0 = tl_clock_seconds();
    int rc = ring_gather(all, counts, err);
    g_seconds += tl_clock_seconds() - t0;
    return rc;
}

int tl_dist_allgather(const void *mine, size_t bytes, void *all, tl_error *err) {
    size_t counts[g_size];
    for (int r = 0; r < g_size; r++) counts[r] = bytes;
    return tl_dist_allgatherv(mine, counts, all, err);
}

int tl_dist_max_int(int *v, tl_error *err) {
    if (g_size == 1) return 0;
    double t0 = tl_clock_seconds();
    int in = *v, rc = MPI_Allreduce(&in, v, 1, MPI_INT, MPI_MAX, g_comm);
    g_seconds += tl_clock_seconds() - t0;
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "max");
}

int tl_dist_barrier(tl_error *err) {
    if (g_size == 1) return 0;
    int rc = MPI_Barrier(g_comm);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(err, rc, "barrier");
}

#endif
