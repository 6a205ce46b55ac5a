/* tailor study: run a grid of remedies on the user's data and choose the one that works, on the
 * validation split only (the run layer's tl_study_run: every candidate a child process of this
 * command). Here: the command line and the printing. */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "help.h"
#include "tailor.h"

static const char *usage_text =
    "usage: tailor study --data SPEC --val N --out DIR [--grid quick|standard|full|FILE] [--seeds K] [tailor train options]\n\n"
    "  --grid G          the candidates: quick, standard (default), full, or a file with one candidate a line:\n"
    "                    NAME = train OPTIONS | NAME = retrain PARENT --method M | NAME = eval PARENT --posthoc RULE\n"
    "  --seeds K         seeds per candidate, from --seed on (default 1; the verdict needs K >= 2 for a seed spread)\n"
    "  --metric M        ranking metric on the validation split: balanced_accuracy (default), macro_f1, tail, worst_class,\n"
    "                    accuracy, many, medium, few, head, mid\n"
    "  --constraint C    limits on validation means, e.g. head>=0.9 or head>=0.9,tail>=0.6 (fractions)\n"
    "  --budget MINUTES  successive halving: every stage-1 model trains for a fraction of the epochs, the better half\n"
    "                    (on the validation metric) goes on with twice the epochs, and so on, while the budget lasts\n"
    "  --jobs J          candidates run as J parallel processes, --threads split among them (default 1)\n"
    "  --threads T       threads in all (default 2)\n"
    "  --out DIR         the study folder: runs/, val/, logs/, study.json, leaderboard.md, figures, best\n"
    "  --quiet           no progress lines\n"
    "  --list            print the grid's candidates in the grid file syntax and exit (a start for your own grid)\n"
    "Every other option (--data, --lt, --val, --model, --epochs, --batch, --optim, ...) goes to every candidate's\n"
    "tailor train. A validation split is required: --val N holds out the last N training images of each class.\n"
    "Run the same command again to resume a stopped study. Under mpirun the candidates are shared among the ranks\n"
    "(--jobs and --threads per rank; --out on a file system every host sees).\n";

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* One message into err (the command's own; the library's tl_fail is internal to it). */
static int fail(tl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(tl_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out, tl_error *err) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) return fail(err, "%s: '%s' is not an integer in %ld..%ld", opt, v, lo, hi);
    *out = x;
    return 0;
}

int tl_cmd_study(int argc, char **argv) {
    static const int families[] = {TL_FAMILY_SAMPLER, TL_FAMILY_LOSS, TL_FAMILY_HEAD, TL_FAMILY_STAGE2, TL_FAMILY_POSTHOC};
    const char *dir = NULL, *grid_spec = "standard", *metric_name = "balanced_accuracy", *constraint = "";
    long seeds = 1, jobs = 1, threads = 2, budget = 0, epochs = 15, seed0 = 0, val = 0;
    int quiet = 0, list = 0, has_data = 0, status = 2;
    tl_error err = {{0}};
    char **shared = calloc((size_t)argc + 1, sizeof *shared);
    if (!shared) { fprintf(stderr, "tailor: out of memory\n"); return 1; }
    int nshared = 0;
    const char *data = "";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            tl_cli_methods(stdout, families, sizeof families / sizeof *families);
            free(shared);
            return 0;
        }
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if (!strcmp(a, "--list")) { list = 1; continue; }
        if (!strcmp(name, "--resume") || !strcmp(name, "--config") || !strcmp(name, "--run")) {
            fail(&err, "study: %s is not an option of study (run the same study command again to resume it)", name);
            goto fail;
        }
        static const char *const own[] = {"--grid", "--seeds", "--metric", "--constraint", "--budget", "--jobs",
                                          "--threads", "--out", "--epochs", "--seed"};
        int k = -1;
        for (int m = 0; m < (int)(sizeof own / sizeof *own); m++) if (!strcmp(name, own[m])) k = m;
        if (!strncmp(a, "--", 2) && !eq && i + 1 >= argc && (k >= 0 || strcmp(a, "--quiet"))) {
            /* every option of study and train but --quiet takes a value */
            fail(&err, "study %s: missing value", a);
            goto fail;
        }
        if (k < 0) {
            if (!strcmp(name, "--data")) { has_data = 1; data = eq ? eq + 1 : argv[i + 1]; }
            if (!strcmp(name, "--val") && parse_long("--val", eq ? eq + 1 : argv[i + 1], 0, 1000000, &val, &err)) goto fail;
            shared[nshared++] = argv[i];
            if (!eq && strncmp(a, "--", 2) == 0) shared[nshared++] = argv[++i];
            continue;
        }
        const char *v = eq ? eq + 1 : argv[++i];
        if ((k == 1 && parse_long("--seeds", v, 1, TL_STUDY_MAX_SEEDS, &seeds, &err)) ||
            (k == 4 && parse_long("--budget", v, 1, 1000000, &budget, &err)) ||
            (k == 5 && parse_long("--jobs", v, 1, 256, &jobs, &err)) ||
            (k == 6 && parse_long("--threads", v, 1, 256, &threads, &err)) ||
            (k == 8 && parse_long("--epochs", v, 1, 100000, &epochs, &err)) ||
            (k == 9 && parse_long("--seed", v, 0, 1000000000, &seed0, &err)))
            goto fail;
        if (k == 0) grid_spec = v;
        if (k == 2) metric_name = v;
        if (k == 3) constraint = v;
        if (k == 7) dir = v;
    }
    if (list) status = tl_study_list(grid_spec, stdout, &err) ? 2 : 0;
    else {
        tl_study_settings set = {.dir = dir, .grid = grid_spec, .metric = metric_name, .constraint = constraint,
                                 .data = has_data ? data : NULL, .seeds = seeds, .jobs = jobs, .threads = threads,
                                 .budget = budget, .epochs = epochs, .seed = seed0, .val = val, .quiet = quiet,
                                 .train_args = shared, .ntrain_args = nshared, .command = "/proc/self/exe",
                                 .cancel = &stop_flag};
        /* Ctrl-C stops the study cleanly: the finished runs are kept and the same command resumes it. */
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        status = tl_study_run(&set, stdout, stderr, &err);
    }
    if (status) fprintf(stderr, "tailor: %s\n", err.msg);
    free(shared);
    return status;
fail:
    fprintf(stderr, "tailor: %s\n", err.msg);
    free(shared);
    return 2;
}
