/* tailor: one binary, one subcommand per task. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "tailor.h"

static const struct { const char *name; int (*run)(int, char **); const char *help; } commands[] = {
    {"train", tl_cmd_train, "train a model on a (long-tailed view of a) data set into a run folder"},
    {"eval", tl_cmd_eval, "evaluate a finished run on its test set (or another data set)"},
    {"predict", tl_cmd_predict, "print logits and probabilities of a run's model for an input file"},
    {"data", tl_cmd_data, "show the class counts of a data set and its long-tailed view"},
    {"retrain", tl_cmd_retrain, "stage 2: re-balance a finished run's classifier on its frozen backbone (crt, ncm, tau, lws)"},
    {"distill", tl_cmd_distill, "self-distillation: train generations of students, each taught by the one before"},
    {"study", tl_cmd_study, "find the remedy that works on your data: run a grid of methods, choose on validation"},
    {"compare", tl_cmd_compare, "print two finished runs' reports side by side"},
    {"plot", tl_cmd_plot, "draw a run's 2-D feature embedding or its per-class weight norms"},
};

static void usage(FILE *f) {
    fprintf(f, "tailor %s: long-tailed classification\n\nusage: tailor COMMAND [options]   (tailor COMMAND --help)\n\n", TL_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

/* Every command's printed output (tables, CSV) goes through stdout's buffer; a full disk or /dev/full
 * shows only at the flush, so the exit status must wait for it. Names where stdout points. */
static int close_stdout(int status) {
    int bad = ferror(stdout), saved = 0;
    if (fflush(stdout) != 0) { bad = 1; saved = errno; }
    /* A file's deferred errors (ENOSPC, EIO) show at fsync; pipes and terminals refuse it with EINVAL. */
    if (!bad && fsync(STDOUT_FILENO) != 0 && errno != EINVAL && errno != EROFS && errno != EBADF) { bad = 1; saved = errno; }
    if (!bad || status) return status;   /* a failed command has said what failed */
    char target[512] = "";
    ssize_t n = readlink("/proc/self/fd/1", target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    fprintf(stderr, "tailor: stdout%s%s%s: cannot write the output: %s\n", *target ? " (" : "", target, *target ? ")" : "",
            saved ? strerror(saved) : "write error");
    return 1;
}

/* What the library has to say (e.g. which weights --init loaded, the tau a rule chose) is part of a
 * command's printed output. */
static void print_log(void *user, int level, const char *msg) {
    (void)user;
    (void)level;
    printf("%s\n", msg);
}

static int run(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return close_stdout(argc < 2 ? 2 : 0);
    }
    if (!strcmp(argv[1], "--version")) { printf("tailor %s\n", TL_VERSION); return close_stdout(0); }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return close_stdout(commands[i].run(argc - 2, argv + 2));
    fprintf(stderr, "tailor: unknown command '%s' (valid: train, eval, predict, data, retrain, distill, study, compare, plot)\n", argv[1]);
    return 2;
}

/* Under mpirun every rank's stderr reaches the terminal: each line says which rank wrote it
 * ("tailor (rank 1): ..."), and goes out in one write(2), so mpirun never interleaves two ranks' lines.
 * A cookie stream in front of fd 2; a line longer than the buffer goes out in pieces. */
static char line[4096];
static size_t line_len;

static int flush_line(int rank) {
    char out[sizeof line + 40];
    int np = snprintf(out, 40, "tailor (rank %d): ", rank);
    size_t skip = line_len >= 8 && !memcmp(line, "tailor: ", 8) ? 8 : 0;
    memcpy(out + np, line + skip, line_len - skip);
    size_t n = (size_t)np + line_len - skip;
    line_len = 0;
    return write(STDERR_FILENO, out, n) == (ssize_t)n ? 0 : -1;
}

static ssize_t rank_lines(void *cookie, const char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        line[line_len++] = buf[i];
        if ((buf[i] == '\n' || line_len == sizeof line) && flush_line(*(int *)cookie)) return -1;
    }
    return (ssize_t)n;
}

/* Ranks > 0 of an MPI job print nothing to stdout (rank 0 prints the tables) and tag their errors. */
static void rank_streams(void) {
    static int rank;
    rank = tl_dist_rank();
    if (tl_dist_size() == 1) return;
    FILE *e = fopencookie(&rank, "w", (cookie_io_functions_t){.write = rank_lines});
    if (e) {
        setvbuf(e, NULL, _IOLBF, 1 << 16);
        stderr = e;
    }
    if (rank > 0 && !freopen("/dev/null", "w", stdout)) fprintf(stderr, "tailor: cannot silence stdout: %s\n", strerror(errno));
}

/* Every rank of a job must run the same command: mpirun passes the same one, but a wrapper script
 * or a hand-written app file may not. */
static int same_command(int argc, char **argv, tl_error *err) {
    size_t n = 0;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *all = malloc(n + 1), *p = all;
    if (!all) { snprintf(err->msg, sizeof err->msg, "out of memory"); return -1; }
    for (int i = 0; i < argc; i++) p = stpcpy(p, argv[i]) + 1;
    int rc = tl_dist_same(all, n, "command line", err);
    free(all);
    return rc;
}

/* OpenBLAS reads its settings once, when it is loaded: where they are not what tailor wants, the same
 * command again with them set, before anything has run (MPI is not joined yet); a value the user
 * set is kept. The kernels: those of the CPU where OpenBLAS has fallen back to its generic ones
 * (tailor.h). The thread timeout: OpenBLAS's idle workers call sched_yield for 2^28 cycles (about
 * 0.1 s) after every threaded call, taking the core the OpenMP kernels need next (the Satellite mlp
 * at 2 threads: 0.45-0.62 s of system time in a 1 s run); 2^4 cycles puts them to sleep at once.
 * Should the exec fail, the command goes on, only slower. */
static void choose_blas_settings(char **argv) {
    char core[32];
    int again = 0;
    if (!getenv("OPENBLAS_CORETYPE") && tl_blas_kernel_advice(core, sizeof core))
        again |= setenv("OPENBLAS_CORETYPE", core, 1) == 0;
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) again |= setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
    if (again) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv) {
    choose_blas_settings(argv);
    tl_log_set_callback(print_log, NULL);
    tl_error err;
    if (tl_dist_init(&err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        return 1;
    }
    rank_streams();
    int status = same_command(argc, argv, &err) ? (fprintf(stderr, "tailor: %s\n", err.msg), 2) : run(argc, argv);
    /* A rank that failed may have left the others inside a collective (or they it): end the job. */
    if (status && tl_dist_size() > 1) {
        fflush(stdout);
        fflush(stderr);
        tl_dist_abort(status);
    }
    tl_dist_finalize();
    return status;
}
