/* tailor distill: self-distillation over generations (docs/methods.md §10.3). Generation 0 is --teacher
 * when given, else a run of the same recipe without distillation; generation g+1 is trained with
 * generation g as its teacher and the --distill loss. Every generation is an ordinary run folder
 * DIR/gen-G, so a stopped chain continues where it stopped (finished generations are kept, an
 * interrupted one is resumed), and DIR/generations.md tabulates them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "help.h"
#include "tailor.h"

static const char *usage_text =
    "usage: tailor distill --generations G --distill SPEC --out DIR [--teacher RUN] [tailor train options]\n\n"
    "  --generations G  students to train one after another, each taught by the one before (1..100)\n"
    "  --distill SPEC   the distillation of every student (kd[:...] or rkd[:...], see tailor train --help)\n"
    "  --out DIR        folder of the chain: DIR/gen-0 .. DIR/gen-G and DIR/generations.md\n"
    "  --teacher RUN    generation 0 (default: DIR/gen-0, trained with the same options and no distillation)\n"
    "Every other option goes to tailor train unchanged. Run the same command again to continue a chain.\n";

/* Trains generation g into DIR/gen-g (skipped when finished, resumed when interrupted). */
static int train_generation(int g, const char *dir, const char *teacher, int argc, char **argv, int quiet) {
    char out[4200], tpath[4300];
    tl_error err;
    int state = tl_distill_generation(dir, g, out, sizeof out, &err);
    if (state < 0) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (state == 2) return 0;
    if (state == 1) {
        char *args[] = {"--resume", out, "--quiet"};
        return tl_cmd_train(quiet ? 3 : 2, args);
    }
    char **args = malloc((size_t)(argc + 6) * sizeof *args);
    if (!args) { fprintf(stderr, "tailor: out of memory\n"); return 1; }
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (g == 0 && !strcmp(argv[i], "--distill")) { i++; continue; }  /* generation 0 learns alone */
        if (g == 0 && !strncmp(argv[i], "--distill=", 10)) continue;
        args[n++] = argv[i];
    }
    args[n++] = "--out";
    args[n++] = out;
    if (g > 0) {
        snprintf(tpath, sizeof tpath, "%s", teacher);
        args[n++] = "--teacher";
        args[n++] = tpath;
    }
    if (!quiet) printf("== generation %d%s%s\n", g, g ? ", teacher " : "", g ? teacher : "");
    fflush(stdout);
    int rc = tl_cmd_train(n, args);
    free(args);
    return rc;
}

int tl_cmd_distill(int argc, char **argv) {
    const char *dir = NULL, *teacher = NULL;
    long G = -1;
    int quiet = 0, has_distill = 0;
    char **rest = malloc((size_t)(argc + 1) * sizeof *rest);
    if (!rest) { fprintf(stderr, "tailor: out of memory\n"); return 1; }
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        char name[32];
        /* --opt=value as well as --opt value */
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            static const int families[] = {TL_FAMILY_DISTILL};
            fputs(usage_text, stdout);
            tl_cli_methods(stdout, families, 1);
            free(rest);
            return 0;
        }
        int takes = !strcmp(name, "--generations") || !strcmp(name, "--out") || !strcmp(name, "--teacher");
        if (takes && !eq && i + 1 >= argc) { fprintf(stderr, "tailor: distill %s: missing value\n", a); free(rest); return 2; }
        const char *v = takes ? (eq ? eq + 1 : argv[++i]) : NULL;
        if (!strcmp(name, "--generations")) {
            char *end;
            G = strtol(v, &end, 10);
            if (!*v || *end || G < 1 || G > 100) {
                fprintf(stderr, "tailor: distill --generations: '%s' is not an integer in 1..100\n", v);
                free(rest);
                return 2;
            }
        } else if (!strcmp(name, "--out")) dir = v;
        else if (!strcmp(name, "--teacher")) teacher = v;
        else {
            if (!strcmp(a, "--quiet")) quiet = 1;
            if (!strcmp(name, "--distill")) has_distill = 1;
            if (!strcmp(name, "--resume") || !strcmp(name, "--config")) {
                fprintf(stderr, "tailor: distill: %s is not supported here (run the same distill command again to continue)\n", a);
                free(rest);
                return 2;
            }
            rest[nrest++] = argv[i];
        }
    }
    const char *missing = G < 0 ? "--generations" : !dir ? "--out" : !has_distill ? "--distill" : NULL;
    if (missing) { fprintf(stderr, "tailor: distill needs %s\n%s", missing, usage_text); free(rest); return 2; }
    tl_error err = {{0}};
    /* The chain folder is written in place by one distill at a time (each generation also locks its own run). */
    tl_folder *lock = tl_folder_open(dir, "--out", &err);
    if (!lock) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        free(rest);
        return 2;
    }
    char prev[4200];
    if (teacher) snprintf(prev, sizeof prev, "%s", teacher);
    else snprintf(prev, sizeof prev, "%s/gen-0", dir);
    char gen0[4200];
    snprintf(gen0, sizeof gen0, "%s", prev);
    int rc = 0;
    for (int g = teacher ? 1 : 0; g <= G && rc == 0; g++) {
        rc = train_generation(g, dir, prev, nrest, rest, quiet);
        snprintf(prev, sizeof prev, "%s/gen-%d", dir, g);
    }
    free(rest);
    if (!rc && tl_distill_summary(dir, (int)G, gen0, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); rc = 1; }
    if (!rc && !quiet) printf("\ngenerations: %s/generations.md\n", dir);
    tl_folder_unlock(lock);
    return rc;
}
