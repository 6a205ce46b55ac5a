/* A run's evaluation report: report.json (machine-readable, schema in docs/report-schema.md) and
 * report.md (the same numbers as tables), both written atomically; the same table printed to any
 * stream; a side-by-side comparison of two runs; and a reader that turns report.json back into
 * tl_metrics so two finished runs can be compared. */
#ifndef TL_EVAL_REPORT_H
#define TL_EVAL_REPORT_H
#include <stdint.h>
#include <stdio.h>
#include "eval/metrics.h"
#include "eval/openset.h"

#define TL_REPORT_MAX_KV 32

/* Run information stored under "run" in report.json. Strings are borrowed: the caller keeps them
 * alive while the struct is used. */
typedef struct {
    uint64_t seed;                      /* exact in JSON up to 2^53 */
    int threads;
    double train_seconds;               /* NAN when unknown (written as null) */
    double images_per_second;           /* NAN when unknown */
    int nkv;
    const char *key[TL_REPORT_MAX_KV];  /* free-form: "model", "loss", "data", "sampler", ... */
    const char *value[TL_REPORT_MAX_KV];
    const tl_openset_report *open_set;  /* --open runs: the "open_set" object; NULL writes null */
} tl_report_info;

/* seed 0, threads 1, times NAN, no key/value pairs. */
void tl_report_info_init(tl_report_info *info);
/* Adds or replaces key -> value. Returns 0, or -1 when the table is full or the key is one of the
 * fixed fields (seed, threads, train_seconds, images_per_second). */
int tl_report_info_set(tl_report_info *info, const char *key, const char *value, tl_error *err);
/* The value for key, or NULL. */
const char *tl_report_info_get(const tl_report_info *info, const char *key);

/* Writes <dir>/report.json and <dir>/report.md atomically. names[C] (class names) may be NULL.
 * Returns 0, or -1 naming the file that could not be written. */
int tl_report_write(const char *dir, const tl_metrics *m, const char *const *names,
                    const tl_report_info *info, tl_error *err);
/* Writes only the JSON document to path (atomically). */
int tl_report_write_json(const char *path, const tl_metrics *m, const char *const *names,
                         const tl_report_info *info, tl_error *err);
/* Prints the JSON document to f (the text report.json holds). */
void tl_report_print_json(FILE *f, const tl_metrics *m, const char *const *names, const tl_report_info *info);
/* Writes only the Markdown document to path (atomically). */
int tl_report_write_md(const char *path, const tl_metrics *m, const char *const *names,
                       const tl_report_info *info, tl_error *err);

/* Prints the headline metrics, the group accuracies and the per-class table (sorted by training
 * count, descending) as aligned Markdown tables; report.md holds the same text. */
void tl_report_print(FILE *f, const tl_metrics *m, const char *const *names);

/* Prints the open-set metrics (AUROC, AUPR-In/Out, the threshold and what it gives) as a Markdown
 * table, preceded by the held-out classes; report.md holds the same text. */
void tl_report_print_open(FILE *f, const tl_openset_report *o);

/* Prints two runs side by side: headline metrics and per-class recall of a (label_a, e.g. the
 * baseline) and b (label_b, the method) with the difference b − a. names may be NULL. Both runs
 * must have the same number of classes; the per-class rows follow a's training counts.
 * Returns 0, or -1 when the class counts differ. */
int tl_report_print_compare(FILE *f, const tl_metrics *a, const char *label_a,
                            const tl_metrics *b, const char *label_b,
                            const char *const *names, tl_error *err);

/* A report.json read back. The caller owns it and releases it with tl_report_free. */
typedef struct {
    tl_metrics m;                   /* every field, ece included, as written */
    char **names;                   /* [m.C] class names, or NULL when the report has none */
    tl_report_info info;            /* strings point into this object */
    void *storage;                  /* the parsed JSON tree that info's strings point into */
} tl_report;

/* Reads path into r. The confusion matrix and training counts are authoritative: the per-class
 * arrays and group accuracies are recomputed from them and checked against the stored values
 * (relative 1e-9), so a hand-edited or truncated report is an error, not a silent mismatch.
 * Returns 0, or -1 naming path and the offending field. */
int tl_report_read(tl_report *r, const char *path, tl_error *err);
void tl_report_free(tl_report *r);

#endif
