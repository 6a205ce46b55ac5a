/* tl_study_run (`tailor study`): run a grid of remedies on the user's data and choose the one that
 * works, on the validation split only. An orchestrator of the other commands: every candidate is a
 * child process of the tailor command (train, retrain, eval --posthoc) writing its own folder under
 * DIR/runs, and every candidate's validation report comes from `tailor eval --split val` into
 * DIR/val. The run-folder rules make a study resumable (finished folders are kept, an interrupted
 * training continues with train --resume). The choice is written to DIR/study.json before any test
 * number is read; the pure logic (grid, ranking, halving, verdict, outputs) lives in src/study.
 *
 * Under mpirun (docs/distributed.md) every rank plans the same jobs and runs its own share of them
 * as children of its own: a candidate's training, stage 2 and reports belong to the rank of its
 * training job, the training jobs dealt round-robin; the children are plain one-process commands.
 * After each batch of jobs the ranks agree on how it went, then each reads every report from the
 * study folder (a file system every host shares) and makes the same choices; rank 0 writes. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "run/bundle.h"
#include "run/train.h"
#include "run/run_dir.h"
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"
#include "core/json.h"
#include "data/file.h"
#include "eval/report.h"
#include "study/grid.h"
#include "study/output.h"
#include "study/rank.h"

/* ------------------------------------------------------------------ jobs: child processes */

enum { JOB_TRAIN, JOB_RETRAIN, JOB_VAL, JOB_POSTHOC_VAL, JOB_POSTHOC_TEST };
static const char *const job_what[] = {"train", "retrain", "validation", "validation", "test"};

typedef struct {
    int type, cand, seed, epochs;
    int dep;                 /* job that must finish first, or -1 */
    char out[4200];          /* the folder it makes */
    char run[4200];          /* --run of retrain / eval */
    int state;               /* 0 pending, 1 running, 2 done */
    int owner;               /* the rank that runs it */
    pid_t pid;
    double t0, seconds;
} job;

typedef struct {
    const char *dir;
    const tl_study_grid *g;
    char **shared;           /* train options given to every candidate (--epochs, --seed, --threads removed) */
    int nshared;
    int full_epochs, threads_per_job, jobs, quiet;
    const char *command;     /* the tailor program each candidate runs */
    const volatile int *cancel;
    FILE *log;               /* the progress lines (NULL: none) */
    double t_start;
    job *job;
    int njobs, capjobs;
    double train_secs_per_epoch[TL_STUDY_MAX_CANDIDATES];   /* measured, for the ETA (0: unknown) */
    double other_secs;       /* mean of the non-training jobs that ran */
    int nother;
    int rank, ranks, ntrain_jobs;
} study;

static int stopped(const study *st) { return st->cancel && *st->cancel; }

static void base_name(char *buf, size_t cap, const study *st, int cand, int seed, int epochs) {
    if (epochs == st->full_epochs) snprintf(buf, cap, "%s-s%d", st->g->c[cand].name, seed);
    else snprintf(buf, cap, "%s-s%d-e%d", st->g->c[cand].name, seed, epochs);
}

/* Adds a job unless the same folder is already asked for; returns its index or -1 (out of memory). */
static int add_job(study *st, int type, int cand, int seed, int epochs, int dep) {
    char base[256], pbase[256];
    base_name(base, sizeof base, st, cand, seed, epochs);
    job j = {.type = type, .cand = cand, .seed = seed, .epochs = epochs, .dep = dep};
    const char *sub = type == JOB_VAL || type == JOB_POSTHOC_VAL ? "val" : "runs";
    snprintf(j.out, sizeof j.out, "%s/%s/%s", st->dir, sub, base);
    int parent = st->g->c[cand].parent;
    if (type == JOB_RETRAIN || type == JOB_POSTHOC_VAL || type == JOB_POSTHOC_TEST) {
        base_name(pbase, sizeof pbase, st, parent, seed, epochs);
        snprintf(j.run, sizeof j.run, "%s/runs/%s", st->dir, pbase);
    } else if (type == JOB_VAL) {
        snprintf(j.run, sizeof j.run, "%s/runs/%s", st->dir, base);
    }
    for (int i = 0; i < st->njobs; i++) if (!strcmp(st->job[i].out, j.out)) return i;
    /* Every job but a training one depends on the training job at its root (run_job). */
    j.owner = dep >= 0 ? st->job[dep].owner : st->ntrain_jobs++ % st->ranks;
    if (st->njobs == st->capjobs) {
        int cap = st->capjobs ? 2 * st->capjobs : 64;
        job *p = realloc(st->job, (size_t)cap * sizeof *p);
        if (!p) return -1;
        st->job = p;
        st->capjobs = cap;
    }
    st->job[st->njobs] = j;
    return st->njobs++;
}

/* The job that makes candidate c's run folder (its own training, or its parent's) at this seed. */
static int run_job(study *st, int cand, int seed, int epochs) {
    const tl_study_candidate *c = &st->g->c[cand];
    if (c->kind == TL_STUDY_TRAIN) return add_job(st, JOB_TRAIN, cand, seed, epochs, -1);
    int t = add_job(st, JOB_TRAIN, c->parent, seed, epochs, -1);
    if (t < 0 || c->kind == TL_STUDY_POSTHOC) return t;
    return add_job(st, JOB_RETRAIN, cand, seed, epochs, t);
}

/* The jobs of candidate c's validation report at one seed. */
static int plan_validation(study *st, int cand, int seed, int epochs) {
    int r = run_job(st, cand, seed, epochs);
    if (r < 0) return -1;
    int type = st->g->c[cand].kind == TL_STUDY_POSTHOC ? JOB_POSTHOC_VAL : JOB_VAL;
    return add_job(st, type, cand, seed, epochs, r) < 0 ? -1 : 0;
}

/* argv of a job's child process; the strings it allocates go to keep[] (freed by the caller). */
static int job_argv(const study *st, const job *j, char **argv, int cap, char **keep, int *nkeep) {
    const tl_study_candidate *c = &st->g->c[j->cand];
    int n = 0;
    char num[3][32];
    snprintf(num[0], sizeof num[0], "%d", j->epochs);
    snprintf(num[1], sizeof num[1], "%d", j->seed);
    snprintf(num[2], sizeof num[2], "%d", st->threads_per_job);
    argv[n++] = "tailor";
    char partial[4300];
    snprintf(partial, sizeof partial, "%s.partial", j->out);
    if (j->type == JOB_TRAIN && tl_path_exists(partial)) {
        /* An interrupted training continues from its checkpoint, to the same result. */
        argv[n++] = "train";
        argv[n++] = "--resume";
        argv[n++] = (char *)j->out;
        argv[n++] = "--quiet";
        argv[n] = NULL;
        return n;
    }
    if (j->type == JOB_TRAIN) {
        argv[n++] = "train";
        for (int i = 0; i < st->nshared; i++) argv[n++] = st->shared[i];
        int k = tl_study_args(c, j->epochs, keep + *nkeep, cap / 2);
        if (k < 0) return -1;
        for (int i = 0; i < k; i++) argv[n++] = keep[*nkeep + i];
        *nkeep += k;
        argv[n++] = "--epochs";
        argv[n++] = keep[(*nkeep)++] = strdup(num[0]);
    } else {
        argv[n++] = j->type == JOB_RETRAIN ? "retrain" : "eval";
        argv[n++] = "--run";
        argv[n++] = (char *)j->run;
        if (j->type != JOB_VAL)
            for (int i = 0; i < c->argc; i++) argv[n++] = c->argv[i];
        if (j->type == JOB_VAL || j->type == JOB_POSTHOC_VAL) { argv[n++] = "--split"; argv[n++] = "val"; }
    }
    if (j->type == JOB_TRAIN || j->type == JOB_RETRAIN) {
        argv[n++] = "--seed";
        argv[n++] = keep[(*nkeep)++] = strdup(num[1]);
    }
    argv[n++] = "--threads";
    argv[n++] = keep[(*nkeep)++] = strdup(num[2]);
    if (j->type == JOB_TRAIN || j->type == JOB_RETRAIN) argv[n++] = "--quiet";
    argv[n++] = "--out";
    argv[n++] = (char *)j->out;
    argv[n] = NULL;
    for (int i = 0; i < *nkeep; i++) if (!keep[i]) return -1;
    return n;
}

static void log_path(char *buf, size_t cap, const study *st, const job *j) {
    const char *slash = strrchr(j->out, '/');
    snprintf(buf, cap, "%s/logs/%s-%s.log", st->dir, slash ? slash + 1 : j->out,
             j->type == JOB_POSTHOC_TEST ? "test" : job_what[j->type]);
}

static int start_job(study *st, job *j, tl_error *err) {
    char partial[4300], log[4400];
    snprintf(partial, sizeof partial, "%s.partial", j->out);
    /* A stage-2 or report folder left by a killed child costs seconds to redo: it goes. */
    if (j->type != JOB_TRAIN && tl_path_exists(partial)) tl_rmdir_files(partial);
    char *argv[512], *keep[300];
    int nkeep = 0;
    int n = job_argv(st, j, argv, 300, keep, &nkeep);
    if (n < 0) { for (int i = 0; i < nkeep; i++) free(keep[i]); return tl_fail(err, "out of memory"); }
    log_path(log, sizeof log, st, j);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (st->ranks > 1) tl_dist_leave_job();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;   /* a mask inherited from the parent (an MPI rank blocks signals) would keep Ctrl-C out */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(st->command, argv);
        _exit(127);
    }
    for (int i = 0; i < nkeep; i++) free(keep[i]);
    if (pid < 0) return tl_fail(err, "cannot start a child process: %s", strerror(errno));
    j->pid = pid;
    j->state = 1;
    j->t0 = tl_clock_seconds();
    return 0;
}

/* The last line of a child's log: its error message. */
static void last_line(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    char line[2048];
    snprintf(buf, cap, "(no message; see its log in the study folder's logs/)");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (strspn(line, " \t\r\n") != strlen(line)) { line[strcspn(line, "\r\n")] = 0; snprintf(buf, cap, "%s", line); }
    fclose(f);
}

/* The estimated seconds of a job that has not run (0 when nothing has been measured yet). */
static double estimate(const study *st, const job *j) {
    if (j->type != JOB_TRAIN) return st->nother ? st->other_secs : 0;
    double per = st->train_secs_per_epoch[j->cand], mean = 0;
    int n = 0;
    for (int c = 0; c < st->g->n; c++) if (st->train_secs_per_epoch[c] > 0) { mean += st->train_secs_per_epoch[c]; n++; }
    if (per <= 0 && n) per = mean / n;
    return per * j->epochs;
}

static void progress(study *st, const job *j, int done, int total) {
    if (j->type == JOB_TRAIN) {
        double per = j->seconds / j->epochs, *m = &st->train_secs_per_epoch[j->cand];
        *m = *m > 0 ? 0.5 * (*m + per) : per;
    } else {
        st->other_secs = (st->other_secs * st->nother + j->seconds) / (st->nother + 1);
        st->nother++;
    }
    if (st->quiet || !st->log) return;
    double left = 0;
    for (int i = 0; i < st->njobs; i++)
        if (st->job[i].state != 2 && st->job[i].owner == st->rank) left += estimate(st, &st->job[i]);
    left /= st->jobs;
    const char *slash = strrchr(j->out, '/');
    fprintf(st->log, "study: [%d/%d] %-40s %-10s %6.0f s   elapsed %.0f min, ETA %.0f min\n", done, total,
            slash ? slash + 1 : j->out, j->type == JOB_POSTHOC_TEST ? "test" : job_what[j->type], j->seconds,
            (tl_clock_seconds() - st->t_start) / 60, left / 60);
}

/* Runs every pending job (dependencies first, at most st->jobs at a time). Returns 0, 1 when one
 * failed (its error named), or 130 when interrupted (the study stays resumable). */
static int run_jobs(study *st, tl_error *err) {
    int total = 0, done = 0, failed = 0, passed_on = 0;
    for (int i = 0; i < st->njobs; i++) {
        job *j = &st->job[i];
        if (j->state == 2) continue;
        if (tl_path_exists(j->out)) { j->state = 2; continue; }   /* finished by an earlier run of the study, or by another rank */
        total += j->owner == st->rank;
    }
    for (;;) {
        int running = 0;
        for (int i = 0; i < st->njobs; i++) running += st->job[i].state == 1;
        if (!failed && !stopped(st))
            for (int i = 0; i < st->njobs && running < st->jobs; i++) {
                job *j = &st->job[i];
                if (j->state != 0 || j->owner != st->rank || (j->dep >= 0 && st->job[j->dep].state != 2)) continue;
                if (start_job(st, j, err)) { failed = 1; break; }
                running++;
            }
        if (!running) break;
        int status;
        pid_t pid;
        /* Polled: a stop must reach the children even when the signal went to another thread of the
         * process (an MPI rank's) and interrupted nothing here. Ctrl-C on the terminal reaches the
         * children too; a signal to the study alone is passed on, once. */
        while ((pid = waitpid(-1, &status, WNOHANG)) == 0) {
            if (stopped(st) && !passed_on) {
                for (int i = 0; i < st->njobs; i++) if (st->job[i].state == 1) kill(st->job[i].pid, SIGINT);
                passed_on = 1;
            }
            nanosleep(&(struct timespec){0, 20000000}, NULL);
        }
        if (pid < 0) {
            if (errno == EINTR) continue;
            return tl_fail(err, "waiting for a child process: %s", strerror(errno));
        }
        for (int i = 0; i < st->njobs; i++) {
            job *j = &st->job[i];
            if (j->state != 1 || j->pid != pid) continue;
            j->seconds = tl_clock_seconds() - j->t0;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && tl_path_exists(j->out)) {
                j->state = 2;
                progress(st, j, ++done, total);
            } else {
                j->state = 0;
                if (!failed && !stopped(st)) {
                    char log[4400], line[2048];
                    log_path(log, sizeof log, st, j);
                    last_line(log, line, sizeof line);
                    const char *msg = strncmp(line, "tailor: ", 8) ? line : line + 8;
                    tl_fail(err, "study: candidate %s (grid line %d), seed %d, %s: %s", st->g->c[j->cand].name,
                            st->g->c[j->cand].line, j->seed, job_what[j->type], msg);
                    failed = 1;
                }
            }
        }
    }
    if (stopped(st)) return 130;
    return failed ? 1 : 0;
}

/* Every rank has run its share of the jobs (run_jobs' result rc): each learns how the others' went. A
 * failure anywhere fails the study on every rank (the failing rank names the candidate), else an
 * interrupt anywhere stops it, resumable (130). A rank learns of another's failure only when its
 * own share has finished. */
static int ranks_agree(int rc, tl_error *err) {
    if (tl_dist_size() == 1) return rc;
    int stop = rc == 130;
    if (tl_dist_max_int(&stop, err)) return 1;
    if (tl_dist_agree(rc != 0 && rc != 130 ? -1 : 0, "study: a candidate", err)) return 1;
    return stop ? 130 : 0;
}

/* ------------------------------------------------------------------ reading results */

/* Seconds of training a run folder took: the sum of its metrics.jsonl epochs (0 when it has none). */
static double run_seconds(const char *run) {
    char path[4300], line[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    FILE *f = fopen(path, "r");
    double s = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        tl_json *j = tl_json_parse(line, strlen(line), path, NULL);
        const tl_json *v = j ? tl_json_get(j, "seconds") : NULL;
        if (v && v->type == TL_JSON_NUMBER) s += v->num;
        tl_json_free(j);
    }
    fclose(f);
    return s;
}

/* The measures of a report folder's report.json. */
static int read_measures(const char *folder, double *out, tl_error *err) {
    char path[4500];
    tl_report r;
    snprintf(path, sizeof path, "%s/report.json", folder);
    if (tl_report_read(&r, path, err)) return -1;
    tl_study_measures(&r.m, out);
    tl_report_free(&r);
    return 0;
}

/* Validation results of every candidate in cands[] at `epochs`, one per seed. */
static int collect(study *st, const int *cands, int n, int epochs, int seed0, int seeds, tl_study_result *res, tl_error *err) {
    for (int i = 0; i < n; i++) {
        tl_study_result *x = &res[i];
        memset(x, 0, sizeof *x);
        x->cand = cands[i];
        x->epochs = epochs;
        const tl_study_candidate *c = &st->g->c[cands[i]];
        for (int s = 0; s < seeds; s++) {
            char base[256], folder[4400], run[4400];
            base_name(base, sizeof base, st, cands[i], seed0 + s, epochs);
            snprintf(folder, sizeof folder, "%s/val/%s", st->dir, base);
            if (read_measures(folder, x->val[s], err)) return -1;
            x->seed[s] = seed0 + s;
            int stage1 = c->kind == TL_STUDY_TRAIN ? cands[i] : c->parent;
            base_name(base, sizeof base, st, stage1, seed0 + s, epochs);
            snprintf(run, sizeof run, "%s/runs/%s", st->dir, base);
            x->seconds[s] = run_seconds(run);
            if (c->kind == TL_STUDY_RETRAIN) {
                base_name(base, sizeof base, st, cands[i], seed0 + s, epochs);
                snprintf(run, sizeof run, "%s/runs/%s", st->dir, base);
                x->seconds[s] += run_seconds(run);
            }
        }
        x->nseeds = seeds;
    }
    return 0;
}

/* ------------------------------------------------------------------ the command */

static int write_text(const char *path, const char *text, tl_error *err) {
    return tl_atomic_write(path, text, strlen(text), err);
}

/* DIR/settings.txt: what the runs depend on. A second run of the study must match it. */
static int check_settings(const char *dir, const char *settings, tl_error *err) {
    char path[4300];
    snprintf(path, sizeof path, "%s/settings.txt", dir);
    if (!tl_path_exists(path)) return write_text(path, settings, err);
    unsigned char *old;
    int64_t len;
    if (tl_file_read(&old, &len, path, err)) return -1;
    int same = !strcmp((const char *)old, settings);
    free(old);
    if (!same)
        return tl_fail(err, "--out %s: holds a study made with other options or another grid (%s); run the same command "
                            "to resume it, or give a new --out", dir, path);
    return 0;
}

/* Under mpirun every rank reads the reports the others' children write: each must see the study
 * folder rank 0 made. Rank 0 writes a token into it and sends it; every rank reads it back. */
static int same_folder(const char *dir, tl_error *err) {
    if (tl_dist_size() == 1) return 0;
    char token[64] = "", seen[64] = "", path[4300];
    snprintf(path, sizeof path, "%s/logs/ranks.token", dir);
    int rc = 0;
    if (tl_dist_writes()) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(token, sizeof token, "%lld.%09ld.%d", (long long)now.tv_sec, now.tv_nsec, (int)getpid());
        rc = write_text(path, token, err);
    }
    if (tl_dist_agree(rc, "writing the study folder", err) || tl_dist_bcast(token, sizeof token, 0, err)) return -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(seen, sizeof seen, f)) seen[0] = 0;
        fclose(f);
    }
    rc = strcmp(seen, token) ? tl_fail(err, "--out %s: rank %d does not see the study folder rank 0 made (%s): under "
                                            "mpirun on several hosts, --out must be on a file system every host shares",
                                       dir, tl_dist_rank(), path)
                             : 0;
    return tl_dist_agree(rc, "the study folder check", err);
}

/* The winner's run folder (relative to DIR) and, for an inference rule, the rule; DIR/best links to it. */
static int link_best(const study *st, const tl_study_result *w, char *rel, size_t cap, char *rule, size_t rcap, tl_error *err) {
    const tl_study_candidate *c = &st->g->c[w->cand];
    char base[256], path[4300];
    base_name(base, sizeof base, st, c->kind == TL_STUDY_POSTHOC ? c->parent : w->cand, w->seed[w->best_seed], w->epochs);
    snprintf(rel, cap, "runs/%s", base);
    rule[0] = 0;
    if (c->kind == TL_STUDY_POSTHOC) snprintf(rule, rcap, "%s", !strcmp(c->argv[0], "--posthoc") ? c->argv[1] : c->argv[0] + 10);
    if (!tl_dist_writes()) return 0;
    snprintf(path, sizeof path, "%s/best", st->dir);
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s/.best-%d", st->dir, (int)getpid());
    unlink(tmp);
    if (symlink(rel, tmp) || rename(tmp, path)) {
        unlink(tmp);
        return tl_fail(err, "%s: cannot link the winning run: %s", path, strerror(errno));
    }
    return 0;
}

/* Ctrl-C: the finished runs stay, so the same command resumes the study. */
static int interrupted(tl_error *err) {
    tl_fail(err, "study: interrupted; run the same command again to resume (finished runs are kept)");
    return 130;
}

int tl_study_list(const char *grid_spec, FILE *out, tl_error *err) {
    static tl_study_grid grid;
    if (tl_study_grid_load(&grid, grid_spec ? grid_spec : "standard", err)) return -1;
    tl_study_grid_write(out, &grid);
    tl_study_grid_free(&grid);
    return 0;
}

int tl_study_run(const tl_study_settings *set, FILE *out, FILE *log, tl_error *err) {
    tl_error local;
    if (!err) err = &local;
    const char *dir = set->dir, *grid_spec = set->grid ? set->grid : "standard";
    const char *metric_name = set->metric ? set->metric : "balanced_accuracy", *constraint = set->constraint ? set->constraint : "";
    long seeds = set->seeds, jobs = set->jobs, threads = set->threads, budget = set->budget, epochs = set->epochs;
    long seed0 = set->seed, val = set->val;
    int quiet = set->quiet, has_data = set->data != NULL, status = 2;
    const char *data = set->data ? set->data : "";
    char **shared = set->train_args;
    int nshared = set->ntrain_args;
    static tl_study_grid grid;
    study st = {0};
    tl_folder *lock = NULL;
    if (!quiet && !log) quiet = 1;
    if (!has_data || !dir) {
        tl_fail(err, "study needs %s (tailor study --help)", !has_data ? "--data SPEC" : "--out DIR");
        goto fail;
    }
    /* A data set's own validation split (folder val/, list VAL.txt) stands in for --val; eval --split val checks it. */
    if (val == 0 && strncmp(data, "folder:", 7) && strncmp(data, "list:", 5)) {
        tl_fail(err, "study: the choice is made on a validation split and --data %s has none: add --val N (the last N "
                      "training images of each class are held out, e.g. --val 100)", data);
        goto fail;
    }
    int metric = tl_study_measure_find(metric_name, "--metric", err);
    tl_study_constraints cons;
    if (metric < 0 || tl_study_constraints_parse(&cons, constraint, err) || tl_study_grid_load(&grid, grid_spec, err)) goto fail;
    /* SLA rotates square images: a built-in grid on feature rows leaves it out (a grid file is taken as written). */
    if (!strncmp(data, "csv:", 4) && tl_study_grid_builtin(grid_spec)) {
        int gone = tl_study_grid_drop(&grid, "--ssl");
        if (gone && !quiet) fprintf(log, "study: --data %s holds feature rows, not images: the %d --ssl sla candidates are left out\n", data, gone);
    }
    if (budget && epochs < 2) { tl_fail(err, "--budget: successive halving needs --epochs of at least 2"); goto fail; }
    /* Every train line must be valid train options on top of the shared ones (names and values present). */
    for (int i = 0; i < grid.n; i++) {
        if (grid.c[i].kind != TL_STUDY_TRAIN) continue;
        char *args[512], *res[256];
        int n = 0, k = tl_study_args(&grid.c[i], (int)epochs, res, 256);
        if (k < 0 || nshared + k + 2 > 512) { tl_fail(err, "out of memory"); goto fail; }
        for (int m = 0; m < nshared; m++) args[n++] = shared[m];
        for (int m = 0; m < k; m++) args[n++] = res[m];
        args[n++] = "--out";
        args[n++] = "-";
        int rc = tl_train_options_check(n, args, err);
        for (int m = 0; m < k; m++) free(res[m]);
        if (rc) { tl_fail_prefix(err, "--grid %s: line %d (%s)", grid_spec, grid.c[i].line, grid.c[i].name); goto fail; }
    }
    int tpj = (int)(threads / jobs) > 0 ? (int)(threads / jobs) : 1;

    /* The study folder: created, or resumed when its settings match. One study writes it at a time. */
    char path[4300], settings[65536];
    size_t len = 0;
    for (int i = 0; i < nshared; i++) len += (size_t)snprintf(settings + len, sizeof settings - len, "%s%s", i ? " " : "", shared[i]);
    len += (size_t)snprintf(settings + len, sizeof settings - len, " --epochs %ld --seed %ld --seeds %ld (threads per run %d)", epochs,
                            seed0, seeds, tpj);
    if (budget) len += (size_t)snprintf(settings + len, sizeof settings - len, " --budget %ld", budget);
    len += (size_t)snprintf(settings + len, sizeof settings - len, "\n");
    char shared_text[8192];
    snprintf(shared_text, sizeof shared_text, "%.*s", (int)strcspn(settings, "\n"), settings);
    for (int i = 0; i < grid.n && len < sizeof settings; i++) {
        char cmd[2048];
        tl_study_command_text(&grid, i, (int)epochs, cmd, sizeof cmd);
        len += (size_t)snprintf(settings + len, sizeof settings - len, "%s = %s\n", grid.c[i].name, cmd);
    }
    int made = 0;
    if (tl_dist_writes()) {   /* under mpirun, rank 0 makes it and the others check they see it */
        made = !(lock = tl_folder_open(dir, "--out", err)) || check_settings(dir, settings, err) ? -1 : 0;
        static const char *const subs[] = {"runs", "val", "logs"};
        for (int i = 0; i < 3 && !made; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
            if (!tl_path_exists(path) && tl_mkdir_new(path, "--out", err)) made = -1;
        }
    }
    if (tl_dist_agree(made, "opening the study folder", err) || same_folder(dir, err)) goto fail;
    st = (study){.dir = dir, .g = &grid, .shared = shared, .nshared = nshared, .full_epochs = (int)epochs,
                 .threads_per_job = tpj, .jobs = (int)jobs, .quiet = quiet, .command = set->command, .cancel = set->cancel,
                 .log = log, .t_start = tl_clock_seconds(), .rank = tl_dist_rank(), .ranks = tl_dist_size()};
    int ntrain = 0, trains[TL_STUDY_MAX_CANDIDATES];
    for (int i = 0; i < grid.n; i++) {
        if (grid.c[i].kind == TL_STUDY_TRAIN) trains[ntrain++] = i;
    }
    static tl_study_result res[TL_STUDY_MAX_CANDIDATES], rung_res[TL_STUDY_MAX_CANDIDATES];
    int order[TL_STUDY_MAX_CANDIDATES];
    const char *names[TL_STUDY_MAX_CANDIDATES];
    for (int i = 0; i < grid.n; i++) names[i] = grid.c[i].name;

    /* Validation: the full grid, or successive halving over the stage-1 models while the budget lasts. */
    int rung_epochs[32], R = budget ? tl_study_rungs(ntrain, (int)epochs, rung_epochs, 32) : 1;
    if (!budget) rung_epochs[0] = (int)epochs;
    int alive[TL_STUDY_MAX_CANDIDATES], nalive = ntrain;
    memcpy(alive, trains, sizeof alive);
    for (int k = 0; k < R; k++) {
        int cands[TL_STUDY_MAX_CANDIDATES], nc = 0;
        for (int i = 0; i < grid.n; i++) {
            int t = grid.c[i].kind == TL_STUDY_TRAIN ? i : grid.c[i].parent, on = 0;
            for (int a = 0; a < nalive; a++) on |= alive[a] == t;
            if (on) cands[nc++] = i;
        }
        double t0 = tl_clock_seconds();
        /* Seed-major: a study stopped early has seen every candidate at the first seed. */
        for (int s = 0; s < seeds; s++)
            for (int i = 0; i < nc; i++)
                if (plan_validation(&st, cands[i], (int)seed0 + s, rung_epochs[k])) { tl_fail(err, "out of memory"); goto fail; }
        if (!quiet && budget)
            fprintf(log, "study: successive halving, rung %d of %d: %d stage-1 models for %d epochs\n", k + 1, R, nalive, rung_epochs[k]);
        int rc = ranks_agree(run_jobs(&st, err), err);
        if (rc == 130) { status = interrupted(err); goto done; }
        if (rc) goto fail;
        if (tl_dist_agree(collect(&st, cands, nc, rung_epochs[k], (int)seed0, (int)seeds, rung_res, err),
                          "reading the validation reports", err))
            goto fail;
        for (int i = 0; i < nc; i++) res[cands[i]] = rung_res[i];   /* each candidate at its deepest rung */
        if (k == R - 1) break;
        /* A stage-1 model's score is its best feasible candidate (itself or what is built on it). */
        tl_study_rank(rung_res, nc, metric, &cons, names, order);
        double score[TL_STUDY_MAX_CANDIDATES];
        for (int a = 0; a < nalive; a++) {
            score[a] = NAN;
            for (int i = 0; i < nc; i++) {
                const tl_study_result *x = &rung_res[i];
                int t = grid.c[x->cand].kind == TL_STUDY_TRAIN ? x->cand : grid.c[x->cand].parent;
                double v = x->val_mean[metric];
                if (t == alive[a] && x->feasible && !isnan(v) && (isnan(score[a]) || v > score[a])) score[a] = v;
            }
        }
        int keep[TL_STUDY_MAX_CANDIDATES], nk = tl_study_halve(score, nalive, keep);
        /* The next rung costs about (its epochs / these epochs) x (survivors / models) of this one. */
        double spent = tl_clock_seconds() - st.t_start, rung = tl_clock_seconds() - t0;
        double next = rung * rung_epochs[k + 1] / rung_epochs[k] * nk / nalive;
        for (int a = 0; a < nk; a++) keep[a] = alive[keep[a]];
        nalive = nk;
        memcpy(alive, keep, (size_t)nk * sizeof *keep);
        int over = spent + next > 60.0 * budget;
        if (tl_dist_bcast(&over, sizeof over, 0, err)) goto fail;   /* rank 0's clock decides for all */
        if (over) {
            if (!quiet) fprintf(log, "study: the next rung (about %.0f min) would exceed --budget %ld min; choosing now\n", next / 60, budget);
            break;
        }
    }
    int nres = 0;
    static tl_study_result final[TL_STUDY_MAX_CANDIDATES];
    for (int i = 0; i < grid.n; i++) if (res[i].nseeds) final[nres++] = res[i];
    tl_study_rank(final, nres, metric, &cons, names, order);
    char verdict[2048], best[4300] = "", rule[512] = "";
    tl_study_verdict(final, order, nres, metric, names, verdict, sizeof verdict);
    int linked = nres && final[order[0]].feasible ? link_best(&st, &final[order[0]], best, sizeof best, rule, sizeof rule, err) : 0;
    if (tl_dist_agree(linked, "linking the winner", err)) goto fail;
    tl_study_summary sum = {&grid, final, order, nres, metric, constraint, shared_text, (int)epochs, verdict, best, rule,
                            tl_clock_seconds() - st.t_start, 0};
    /* The choice, on validation alone, is on disk before any test number is read. */
    snprintf(path, sizeof path, "%s/study.json", dir);
    if (tl_dist_agree(tl_dist_writes() ? tl_study_write_json(path, &sum, err) : 0, "writing study.json", err)) goto fail;

    /* Test reports: the inference rules' are made now; train and retrain wrote theirs. */
    for (int i = 0; i < nres; i++)
        if (grid.c[final[i].cand].kind == TL_STUDY_POSTHOC)
            for (int s = 0; s < final[i].nseeds; s++) {
                int t = run_job(&st, final[i].cand, final[i].seed[s], final[i].epochs);
                if (t < 0 || add_job(&st, JOB_POSTHOC_TEST, final[i].cand, final[i].seed[s], final[i].epochs, t) < 0) {
                    tl_fail(err, "out of memory");
                    goto fail;
                }
            }
    int rc = ranks_agree(run_jobs(&st, err), err);
    if (rc == 130) { status = interrupted(err); goto done; }
    if (rc) goto fail;
    int unread = 0;
    for (int i = 0; i < nres && !unread; i++) {
        tl_study_result *x = &final[i];
        for (int s = 0; s < x->nseeds && !unread; s++) {
            char base[256], folder[4400];
            base_name(base, sizeof base, &st, x->cand, x->seed[s], x->epochs);
            snprintf(folder, sizeof folder, "%s/runs/%s", dir, base);
            unread = read_measures(folder, x->test[s], err);
        }
        x->have_test = 1;
    }
    if (tl_dist_agree(unread, "reading the test reports", err)) goto fail;
    sum.with_test = 1;
    sum.seconds = tl_clock_seconds() - st.t_start;
    int wrote = 0;
    if (tl_dist_writes()) {
        snprintf(path, sizeof path, "%s/leaderboard.md", dir);
        wrote = tl_study_write_leaderboard(path, &sum, err);
        if (!wrote) wrote = tl_study_plots(dir, &sum, err);
        snprintf(path, sizeof path, "%s/study.json", dir);
        if (!wrote) wrote = tl_study_write_json(path, &sum, err);
    }
    if (tl_dist_agree(wrote, "writing the study's results", err)) goto fail;
    fprintf(out, "| rank | candidate | epochs | val %s | test balanced accuracy (not used) |\n|---:|:---|---:|---:|---:|\n", metric_name);
    for (int i = 0; i < nres; i++) {
        const tl_study_result *x = &final[order[i]];
        double tm, ts;
        double v[TL_STUDY_MAX_SEEDS];
        for (int s = 0; s < x->nseeds; s++) v[s] = x->test[s][TL_MEASURE_BAL];
        tl_study_mean_std(v, x->nseeds, &tm, &ts);
        fprintf(out, "| %d | %s%s | %d | %.2f%s | %.2f |\n", i + 1, names[x->cand], x->feasible ? "" : " (fails the constraint)",
               x->epochs, 100 * x->val_mean[metric], x->nseeds > 1 ? "" : "", 100 * tm);
    }
    fprintf(out, "\n%s\n\nleaderboard: %s/leaderboard.md\n", verdict, dir);
    if (*best) fprintf(out, "best: %s/best -> %s%s%s\n", dir, best, *rule ? " with --posthoc " : "", rule);
    status = nres && final[order[0]].feasible ? 0 : 1;
    if (status) tl_fail(err, "study: no candidate meets --constraint %s on the validation split", constraint);
    goto done;
fail:
    if (status != 130) status = strstr(err->msg, "study: candidate") ? 1 : 2;
done:
    /* Children still running (a failure elsewhere) are asked to stop and waited for. */
    for (int i = 0; i < st.njobs; i++)
        if (st.job[i].state == 1) { kill(st.job[i].pid, SIGINT); waitpid(st.job[i].pid, NULL, 0); }
    free(st.job);
    tl_folder_unlock(lock);
    tl_study_grid_free(&grid);
    return status;
}
