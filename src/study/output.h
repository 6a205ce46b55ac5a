/* What `tailor study` hands back (src/study/output.c, plot.c): DIR/study.json (schema
 * "tailor-study/1", docs/cli.md), DIR/leaderboard.md and three figures. study.json is written twice:
 * first with the choice and validation numbers only (test null), before any test number is read;
 * then again with the test numbers beside them. */
#ifndef TL_STUDY_OUTPUT_H
#define TL_STUDY_OUTPUT_H
#include "study/grid.h"
#include "study/rank.h"

typedef struct {
    const tl_study_grid *grid;
    const tl_study_result *r;   /* [n], ranked by tl_study_rank */
    const int *order;           /* [n] best first */
    int n;
    int metric;                 /* TL_MEASURE_* */
    const char *constraint;     /* --constraint text ("" = none) */
    const char *settings;       /* the study's shared options, one line */
    int epochs;                 /* the full run's epochs (a result with fewer was pruned by halving) */
    const char *verdict;
    const char *best_run;       /* the winner's run folder, relative to DIR ("" when there is no winner) */
    const char *best_posthoc;   /* the winner's inference rule to apply to best_run, or "" */
    double seconds;             /* wall time of the study so far */
    int with_test;              /* 0: the choice only; 1: test numbers too */
} tl_study_summary;

/* Writes path atomically. Returns 0, or -1 naming the file. */
int tl_study_write_json(const char *path, const tl_study_summary *s, tl_error *err);
int tl_study_write_leaderboard(const char *path, const tl_study_summary *s, tl_error *err);
/* DIR/val_vs_test.png (validation metric against test balanced accuracy, seed spread as bars),
 * DIR/groups.png (test head/mid/tail per candidate, best first) and DIR/metric_vs_time.png. */
int tl_study_plots(const char *dir, const tl_study_summary *s, tl_error *err);

#endif
