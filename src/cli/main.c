/* tailor: one binary, one subcommand per task. */
#include <errno.h>
#include <stdio.h>
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

int main(int argc, char **argv) {
    tl_log_set_callback(print_log, NULL);
    tl_error err;
    if (tl_dist_init(&err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        return 1;
    }
    int status = run(argc, argv);
    tl_dist_finalize();
    return status;
}
