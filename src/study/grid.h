/* The candidates of `tailor study` (src/study/grid.c): a grid is a list of lines, one candidate each,
 * written in tailor's own command syntax:
 *     NAME = train OPTIONS              a stage-1 model: `tailor train` options on top of the study's
 *     NAME = retrain PARENT OPTIONS     stage 2 on PARENT's frozen backbone: `tailor retrain` options
 *     NAME = eval PARENT --posthoc RULE an inference rule on PARENT's model: `tailor eval --posthoc`
 * PARENT names a train line above. `#` starts a comment; blank lines are skipped. `$DRW` in a train
 * line becomes the DRW epoch of the epochs the run trains (160 of 200, rounded half up, at most
 * epochs − 1; methods.md §0.6). The study owns --data, --lt, --val, --epochs, --seed, --threads,
 * --out, --run, --resume, --config, --split and --quiet: a line that gives one is refused. */
#ifndef TL_STUDY_GRID_H
#define TL_STUDY_GRID_H
#include <stddef.h>
#include <stdio.h>
#include "tailor.h"

enum { TL_STUDY_TRAIN, TL_STUDY_RETRAIN, TL_STUDY_POSTHOC };

#define TL_STUDY_NAME_MAX 48
#define TL_STUDY_MAX_CANDIDATES 256

typedef struct {
    char name[TL_STUDY_NAME_MAX];
    int kind;              /* TL_STUDY_* */
    int parent;            /* retrain, posthoc: index of the train candidate; train: -1 */
    int line;              /* line number in the grid text */
    int argc;
    char **argv;           /* the options after the command (and PARENT), owned */
} tl_study_candidate;

typedef struct {
    int n;
    tl_study_candidate c[TL_STUDY_MAX_CANDIDATES];
} tl_study_grid;

/* Parses grid text; source names it in errors ("--grid FILE: line 3: ..."). Returns 0, or -1 with
 * one message naming the line and the problem (unknown command, unknown or later PARENT, a name used
 * twice or with characters other than a-z A-Z 0-9 . _ + -, an option the study owns, a retrain line
 * without --method or an eval line that is not exactly --posthoc RULE, no candidate at all). The
 * caller owns g afterwards (tl_study_grid_free). */
int tl_study_grid_parse(tl_study_grid *g, const char *text, const char *source, tl_error *err);
/* The text of a built-in grid (quick, standard, full), or NULL. */
const char *tl_study_grid_builtin(const char *name);
/* --grid SPEC: a built-in name or a file. */
int tl_study_grid_load(tl_study_grid *g, const char *spec, tl_error *err);
void tl_study_grid_free(tl_study_grid *g);
/* Removes the train candidates whose options include `option` (e.g. "--ssl") and everything built
 * on them, keeping the order of the rest; returns how many candidates went. */
int tl_study_grid_drop(tl_study_grid *g, const char *option);
/* Writes the grid in the grid file syntax, one candidate a line ($DRW kept). */
void tl_study_grid_write(FILE *f, const tl_study_grid *g);
/* The DRW epoch for a run of `epochs` epochs (>= 2). */
int tl_study_drw_epoch(int epochs);
/* Candidate c's options for a run of `epochs` epochs with $DRW resolved, as new strings in out[]
 * (at most cap; returns the count, or -1 when cap is too small); free each with free(). */
int tl_study_args(const tl_study_candidate *c, int epochs, char **out, int cap);
/* The candidate's command as one line (for the leaderboard), $DRW resolved: "train --loss ce",
 * "retrain --run <ce> --method crt" (<ce>: the parent's run folder). */
void tl_study_command_text(const tl_study_grid *g, int i, int epochs, char *buf, size_t cap);

#endif
