#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"
#include "core/json.h"
#include "eval/report.h"

#define REPORT_SCHEMA "tailor-report/1"

static const char *const shot_names[] = {"many", "medium", "few"};
static const char *const part_names[] = {"head", "mid", "tail"};
static const char *const fixed_keys[] = {"seed", "threads", "train_seconds", "images_per_second"};

/* ------------------------------------------------------------------ run information */

void tl_report_info_init(tl_report_info *info) {
    memset(info, 0, sizeof *info);
    info->threads = 1;
    info->train_seconds = info->images_per_second = NAN;
}

const char *tl_report_info_get(const tl_report_info *info, const char *key) {
    for (int i = 0; i < info->nkv; i++)
        if (!strcmp(info->key[i], key)) return info->value[i];
    return NULL;
}

int tl_report_info_set(tl_report_info *info, const char *key, const char *value, tl_error *err) {
    for (size_t i = 0; i < sizeof fixed_keys / sizeof *fixed_keys; i++)
        if (!strcmp(key, fixed_keys[i])) return tl_fail(err, "report: run key \"%s\" is a fixed field", key);
    for (int i = 0; i < info->nkv; i++)
        if (!strcmp(info->key[i], key)) { info->value[i] = value; return 0; }
    if (info->nkv == TL_REPORT_MAX_KV) return tl_fail(err, "report: more than %d run keys", TL_REPORT_MAX_KV);
    info->key[info->nkv] = key;
    info->value[info->nkv++] = value;
    return 0;
}

/* ------------------------------------------------------------------ report.json */

static void json_key(FILE *f, const char *key) {
    tl_json_write_string(f, key);
    fputc(':', f);
}

static void json_field(FILE *f, const char *key, double v) {
    fputs("  ", f);
    json_key(f, key);
    fputc(' ', f);
    tl_json_write_number(f, v);
    fputs(",\n", f);
}

static void int_list(FILE *f, const int *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void name_list(FILE *f, const int *v, int n, const char *const *names) {
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        tl_json_write_string(f, names[v[i]]);
    }
    fputc(']', f);
}

/* "open_set": {...} or null (closed-set runs). */
static void write_open_json(FILE *f, const tl_openset_report *o) {
    fputs("  \"open_set\": ", f);
    if (!o) { fputs("null,\n", f); return; }
    const tl_openset *m = &o->metrics;
    fputs("{\"unknown_classes\": ", f);
    int_list(f, o->unknown_classes, o->nunknown);
    if (o->names) { fputs(", \"unknown_class_names\": ", f); name_list(f, o->unknown_classes, o->nunknown, o->names); }
    fputs(", \"known_classes\": ", f);
    int_list(f, o->known_classes, o->nknown);
    fprintf(f, ", \"known_test_samples\": %lld, \"unknown_test_samples\": %lld", (long long)m->known, (long long)m->unknown);
    const char *keys[] = {"auroc", "aupr_in", "aupr_out", "threshold", "closed_accuracy_at_threshold",
                          "closed_macro_f1_at_threshold", "known_accepted_at_threshold", "unknown_rejected_at_threshold"};
    const double v[] = {m->auroc, m->aupr_in, m->aupr_out, m->threshold, m->accuracy_at_threshold,
                        m->macro_f1_at_threshold, m->known_accepted, m->unknown_rejected};
    for (int i = 0; i < 8; i++) {
        fputs(", ", f);
        json_key(f, keys[i]);
        fputc(' ', f);
        tl_json_write_number(f, v[i]);
    }
    fputs("},\n", f);
}

static void write_json(FILE *f, const tl_metrics *m, const char *const *names, const tl_report_info *info) {
    int C = m->C;
    fputs("{\n  \"schema\": \"" REPORT_SCHEMA "\",\n", f);
    fprintf(f, "  \"classes\": %d,\n  \"test_samples\": %lld,\n", C, (long long)m->n);
    json_field(f, "accuracy", m->accuracy);
    json_field(f, "balanced_accuracy", m->balanced_accuracy);
    json_field(f, "macro_f1", m->macro_f1);
    json_field(f, "micro_f1", m->micro_f1);
    json_field(f, "many", m->many);
    json_field(f, "medium", m->medium);
    json_field(f, "few", m->few);
    json_field(f, "head", m->head);
    json_field(f, "mid", m->mid);
    json_field(f, "tail", m->tail);
    json_field(f, "ece", m->ece);

    fprintf(f, "  \"run\": {\"seed\": %llu, \"threads\": %d, \"train_seconds\": ",
            (unsigned long long)info->seed, info->threads);
    tl_json_write_number(f, info->train_seconds);
    fputs(", \"images_per_second\": ", f);
    tl_json_write_number(f, info->images_per_second);
    for (int i = 0; i < info->nkv; i++) {
        fputs(", ", f);
        json_key(f, info->key[i]);
        fputc(' ', f);
        tl_json_write_string(f, info->value[i]);
    }
    /* Under mpirun: what rank 0 has spent so far in the collectives (gradient sums, BN sync, gathers). */
    if (tl_dist_size() > 1)
        fprintf(f, ", \"dist\": {\"ranks\": %d, \"seconds_in_collectives\": %.6f, \"bytes_sent\": %.0f}", tl_dist_size(),
                tl_dist_seconds(), tl_dist_bytes_sent());
    fputs("},\n", f);
    write_open_json(f, info->open_set);

    fputs("  \"per_class\": [\n", f);
    for (int c = 0; c < C; c++) {
        fprintf(f, "    {\"class\": %d, ", c);
        if (names) { json_key(f, "name"); fputc(' ', f); tl_json_write_string(f, names[c]); fputs(", ", f); }
        fprintf(f, "\"train_count\": %lld, \"test_count\": %lld, \"precision\": ",
                (long long)m->train_count[c], (long long)m->test_count[c]);
        tl_json_write_number(f, m->precision[c]);
        fputs(", \"recall\": ", f);
        tl_json_write_number(f, m->recall[c]);
        fputs(", \"f1\": ", f);
        tl_json_write_number(f, m->f1[c]);
        fprintf(f, ", \"shot\": \"%s\", \"part\": \"%s\"}%s\n", shot_names[m->shot[c]], part_names[m->part[c]],
                c + 1 < C ? "," : "");
    }
    fputs("  ],\n  \"confusion\": [\n", f);
    for (int t = 0; t < C; t++) {
        fputs("    [", f);
        for (int p = 0; p < C; p++) fprintf(f, "%s%lld", p ? ", " : "", (long long)m->confusion[(size_t)t * C + p]);
        fprintf(f, "]%s\n", t + 1 < C ? "," : "");
    }
    fputs("  ]\n}\n", f);
}

void tl_report_print_json(FILE *f, const tl_metrics *m, const char *const *names, const tl_report_info *info) {
    write_json(f, m, names, info);
}

int tl_report_write_json(const char *path, const tl_metrics *m, const char *const *names,
                         const tl_report_info *info, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    write_json(af.f, m, names, info);
    return tl_atomic_commit(&af, err);
}

/* ------------------------------------------------------------------ tables */

#define MAX_COLS 8

/* A table is produced cell by cell (row -1 = header) twice: once to measure the column widths,
 * once to print, so no cell is ever stored. */
typedef void (*cell_fn)(char *buf, size_t cap, const void *ctx, int row, int col);

static void print_table(FILE *f, const void *ctx, int rows, int cols, const char *align, cell_fn cell) {
    int width[MAX_COLS] = {0};
    char buf[256];
    for (int r = -1; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            cell(buf, sizeof buf, ctx, r, c);
            int w = (int)strlen(buf);
            if (w > width[c]) width[c] = w;
        }
    for (int r = -1; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            cell(buf, sizeof buf, ctx, r, c);
            fprintf(f, align[c] == 'l' ? "| %-*s " : "| %*s ", width[c], buf);
        }
        fputs("|\n", f);
        if (r == -1) {
            for (int c = 0; c < cols; c++) {
                fputs(align[c] == 'l' ? "|:" : "|-", f);
                for (int k = 0; k < width[c]; k++) fputc('-', f);
                fputs(align[c] == 'l' ? "-" : ":", f);
            }
            fputs("|\n", f);
        }
    }
}

/* A fraction as a percentage with two decimals, "n/a" when undefined. */
static void pct(char *buf, size_t cap, double v) {
    if (isnan(v)) snprintf(buf, cap, "n/a");
    else snprintf(buf, cap, "%.2f", 100.0 * v);
}

static void signed_pct(char *buf, size_t cap, double v) {
    if (isnan(v)) snprintf(buf, cap, "n/a");
    else snprintf(buf, cap, "%+.2f", 100.0 * v);
}

/* "3 Dress" (or "3"), with Markdown's cell separator escaped. */
static void class_label(char *buf, size_t cap, int c, const char *const *names) {
    int k = snprintf(buf, cap, "%d", c);
    if (!names || k < 0 || (size_t)k + 2 >= cap) return;
    size_t o = (size_t)k;
    buf[o++] = ' ';
    for (const char *s = names[c]; *s && o + 3 < cap; s++) {
        if (*s == '|') buf[o++] = '\\';
        buf[o++] = *s;
    }
    buf[o] = 0;
}

typedef struct { const tl_metrics *m; const char *const *names; } one_ctx;

static const char *const headline_names[] = {"accuracy", "balanced accuracy", "macro F1", "micro F1", "ECE"};

static double headline_value(const tl_metrics *m, int i) {
    switch (i) {
    case 0: return m->accuracy;
    case 1: return m->balanced_accuracy;
    case 2: return m->macro_f1;
    case 3: return m->micro_f1;
    default: return m->ece;
    }
}

static void headline_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const tl_metrics *m = ((const one_ctx *)ctx)->m;
    if (row < 0) snprintf(buf, cap, "%s", col ? "value (%)" : "metric");
    else if (col == 0) snprintf(buf, cap, "%s", headline_names[row]);
    else pct(buf, cap, headline_value(m, row));
}

static const char *const group_names[] = {
    "many (n > 100)", "medium (20..100)", "few (n < 20)", "head (first third)", "mid", "tail (last third)"};

static double group_value(const tl_metrics *m, int g) {
    const double v[6] = {m->many, m->medium, m->few, m->head, m->mid, m->tail};
    return v[g];
}

static int group_size(const tl_metrics *m, int g) {
    int k = 0;
    for (int c = 0; c < m->C; c++) k += g < 3 ? m->shot[c] == g : m->part[c] == g - 3;
    return k;
}

static void group_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const tl_metrics *m = ((const one_ctx *)ctx)->m;
    static const char *const head[] = {"group", "classes", "accuracy (%)"};
    if (row < 0) snprintf(buf, cap, "%s", head[col]);
    else if (col == 0) snprintf(buf, cap, "%s", group_names[row]);
    else if (col == 1) snprintf(buf, cap, "%d", group_size(m, row));
    else pct(buf, cap, group_value(m, row));
}

static void class_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const one_ctx *x = ctx;
    const tl_metrics *m = x->m;
    static const char *const head[] = {"class", "train", "test", "group", "recall (%)", "precision (%)", "F1 (%)"};
    if (row < 0) { snprintf(buf, cap, "%s", head[col]); return; }
    int c = m->order[row];
    switch (col) {
    case 0: class_label(buf, cap, c, x->names); break;
    case 1: snprintf(buf, cap, "%lld", (long long)m->train_count[c]); break;
    case 2: snprintf(buf, cap, "%lld", (long long)m->test_count[c]); break;
    case 3: snprintf(buf, cap, "%s/%s", shot_names[m->shot[c]], part_names[m->part[c]]); break;
    case 4: pct(buf, cap, m->recall[c]); break;
    case 5: pct(buf, cap, m->precision[c]); break;
    default: pct(buf, cap, m->f1[c]); break;
    }
}

void tl_report_print(FILE *f, const tl_metrics *m, const char *const *names) {
    one_ctx x = {m, names};
    fprintf(f, "%lld test samples, %d classes\n\n", (long long)m->n, m->C);
    print_table(f, &x, 5, 2, "lr", headline_cell);
    fputc('\n', f);
    print_table(f, &x, 6, 3, "lrr", group_cell);
    fputc('\n', f);
    print_table(f, &x, m->C, 7, "lrrlrrr", class_cell);
}

static const char *const open_names[] = {
    "AUROC (known positive)", "AUPR-In (known positive)", "AUPR-Out (unknown positive)",
    "accuracy at threshold, K+1 classes", "macro F1 at threshold, K+1 classes",
    "known test samples accepted", "unknown test samples rejected"};

static void open_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const tl_openset *m = ctx;
    const double v[] = {m->auroc, m->aupr_in, m->aupr_out, m->accuracy_at_threshold, m->macro_f1_at_threshold,
                        m->known_accepted, m->unknown_rejected};
    if (row < 0) snprintf(buf, cap, "%s", col ? "value (%)" : "open-set metric");
    else if (col == 0) snprintf(buf, cap, "%s", open_names[row]);
    else pct(buf, cap, v[row]);
}

void tl_report_print_open(FILE *f, const tl_openset_report *o) {
    const tl_openset *m = &o->metrics;
    fputs("held-out (unknown) classes:", f);
    for (int i = 0; i < o->nunknown; i++) {
        fprintf(f, " %d", o->unknown_classes[i]);
        if (o->names) fprintf(f, " (%s)", o->names[o->unknown_classes[i]]);
        fputc(i + 1 < o->nunknown ? ',' : ';', f);
    }
    fprintf(f, " %lld known and %lld unknown test samples; ", (long long)m->known, (long long)m->unknown);
    if (isnan(m->threshold)) fputs("no validation set, so no threshold\n\n", f);
    else fprintf(f, "threshold %.6g on the known-ness score (%.0f%% of known validation samples accepted)\n\n",
                 m->threshold, 100.0 * TL_OPENSET_ACCEPT);
    print_table(f, m, 7, 2, "lr", open_cell);
}

static void write_md(FILE *f, const tl_metrics *m, const char *const *names, const tl_report_info *info) {
    fputs("# Evaluation report\n\n", f);
    fprintf(f, "seed %llu, %d threads", (unsigned long long)info->seed, info->threads);
    if (!isnan(info->train_seconds)) fprintf(f, ", training %.1f s", info->train_seconds);
    if (!isnan(info->images_per_second)) fprintf(f, ", %.0f images/s", info->images_per_second);
    fputs("\n\n", f);
    for (int i = 0; i < info->nkv; i++) fprintf(f, "- %s: `%s`\n", info->key[i], info->value[i]);
    if (info->nkv) fputc('\n', f);
    fputs("Values in percent. Groups: shot groups by training count (docs/methods.md §1.3); head/mid/tail are "
          "thirds of the classes sorted by training count. Group accuracy is the unweighted mean of the "
          "recall of its classes present in the test set (n/a when none).\n\n", f);
    tl_report_print(f, m, names);
    if (info->open_set) {
        fputs("\n## Open set\n\n", f);
        tl_report_print_open(f, info->open_set);
    }
}

int tl_report_write_md(const char *path, const tl_metrics *m, const char *const *names,
                       const tl_report_info *info, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    write_md(af.f, m, names, info);
    return tl_atomic_commit(&af, err);
}

int tl_report_write(const char *dir, const tl_metrics *m, const char *const *names,
                    const tl_report_info *info, tl_error *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/report.json", dir) >= (int)sizeof path)
        return tl_fail(err, "%s: path too long", dir);
    if (tl_report_write_json(path, m, names, info, err)) return -1;
    snprintf(path, sizeof path, "%s/report.md", dir);
    return tl_report_write_md(path, m, names, info, err);
}

/* ------------------------------------------------------------------ side by side */

typedef struct {
    const tl_metrics *a, *b;
    const char *la, *lb;
    const char *const *names;
} two_ctx;

/* Columns 1, 2, 3 of a comparison row: a, b, b − a. */
static void diff_row(char *buf, size_t cap, double va, double vb, int col) {
    if (col == 1) pct(buf, cap, va);
    else if (col == 2) pct(buf, cap, vb);
    else signed_pct(buf, cap, vb - va);
}

static void compare_head_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const two_ctx *x = ctx;
    if (row < 0) {
        const char *h[] = {"metric (%)", x->la, x->lb, "difference"};
        snprintf(buf, cap, "%s", h[col]);
    } else if (col == 0) {
        snprintf(buf, cap, "%s", row < 5 ? headline_names[row] : group_names[row - 5]);
    } else {
        double va = row < 5 ? headline_value(x->a, row) : group_value(x->a, row - 5);
        double vb = row < 5 ? headline_value(x->b, row) : group_value(x->b, row - 5);
        diff_row(buf, cap, va, vb, col);
    }
}

static void compare_class_cell(char *buf, size_t cap, const void *ctx, int row, int col) {
    const two_ctx *x = ctx;
    if (row < 0) {
        const char *h[] = {"class", "train", x->la, x->lb, "difference"};
        snprintf(buf, cap, "%s", h[col]);
        return;
    }
    int c = x->a->order[row];
    if (col == 0) class_label(buf, cap, c, x->names);
    else if (col == 1) snprintf(buf, cap, "%lld", (long long)x->a->train_count[c]);
    else diff_row(buf, cap, x->a->recall[c], x->b->recall[c], col - 1);
}

int tl_report_print_compare(FILE *f, const tl_metrics *a, const char *label_a,
                            const tl_metrics *b, const char *label_b,
                            const char *const *names, tl_error *err) {
    if (a->C != b->C)
        return tl_fail(err, "report: cannot compare %s (%d classes) with %s (%d classes)", label_a, a->C, label_b, b->C);
    two_ctx x = {a, b, label_a, label_b, names};
    print_table(f, &x, 11, 4, "lrrr", compare_head_cell);
    fprintf(f, "\nper-class recall (%%), classes by training count of %s\n\n", label_a);
    print_table(f, &x, a->C, 5, "lrrrr", compare_class_cell);
    return 0;
}

/* ------------------------------------------------------------------ reader */

static char *read_file(size_t *len, const char *path, tl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) { tl_fail(err, "%s: cannot read: %s", path, strerror(errno)); return NULL; }
    char *buf = NULL;
    size_t cap = 0, n = 0, k;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); tl_fail(err, "%s: out of memory", path); return NULL; }
            buf = nb;
        }
        k = fread(buf + n, 1, cap - n, f);
        n += k;
    } while (k > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); tl_fail(err, "%s: read error", path); return NULL; }
    *len = n;
    return buf;
}

/* A number member (null -> NAN). Returns 0, or -1 when missing or of another type. */
static int get_num(double *out, const tl_json *obj, const char *key, const char *what, tl_error *err) {
    const tl_json *v = tl_json_get(obj, key);
    if (!v || (v->type != TL_JSON_NUMBER && v->type != TL_JSON_NULL))
        return tl_fail(err, "%s: \"%s\" missing or not a number", what, key);
    *out = v->type == TL_JSON_NULL ? NAN : v->num;
    return 0;
}

/* A non-negative integer member, checked to be integral and within [0, max]. */
static int get_count(int64_t *out, const tl_json *obj, const char *key, double max, const char *what, tl_error *err) {
    double v = NAN;
    if (get_num(&v, obj, key, what, err)) return -1;
    if (!(v >= 0 && v <= max && v == floor(v)))
        return tl_fail(err, "%s: \"%s\" is not a count", what, key);
    *out = (int64_t)v;
    return 0;
}

/* Stored and recomputed values agree: both undefined, or equal within relative 1e-9. */
static int same(double stored, double computed) {
    if (isnan(stored) || isnan(computed)) return isnan(stored) && isnan(computed);
    return fabs(stored - computed) <= 1e-9 * fmax(1.0, fabs(computed));
}

static int check(double stored, double computed, const char *field, const char *what, tl_error *err) {
    if (same(stored, computed)) return 0;
    return tl_fail(err, "%s: \"%s\" is %.17g but the confusion matrix gives %.17g", what, field, stored, computed);
}

static int read_run(tl_report_info *info, const tl_json *run, const char *what, tl_error *err) {
    tl_report_info_init(info);
    if (!run || run->type != TL_JSON_OBJECT) return tl_fail(err, "%s: \"run\" missing or not an object", what);
    int64_t seed, threads;
    if (get_count(&seed, run, "seed", 9007199254740992.0, what, err) ||
        get_count(&threads, run, "threads", 1e6, what, err) ||
        get_num(&info->train_seconds, run, "train_seconds", what, err) ||
        get_num(&info->images_per_second, run, "images_per_second", what, err)) return -1;
    info->seed = (uint64_t)seed;
    info->threads = (int)threads;
    for (const tl_json *v = run->child; v; v = v->next) {
        int fixed = 0;
        for (size_t i = 0; i < sizeof fixed_keys / sizeof *fixed_keys; i++) fixed |= !strcmp(v->key, fixed_keys[i]);
        if (fixed || (!strcmp(v->key, "dist") && v->type == TL_JSON_OBJECT)) continue;  /* a job's cost, not a setting */
        if (v->type != TL_JSON_STRING) return tl_fail(err, "%s: run key \"%s\" is not a string", what, v->key);
        if (tl_report_info_set(info, v->key, v->str, err)) return tl_fail_prefix(err, "%s", what);
    }
    return 0;
}

static int read_body(tl_report *r, const tl_json *root, const char *what, tl_error *err) {
    const tl_json *schema = tl_json_get(root, "schema");
    if (!schema || schema->type != TL_JSON_STRING || strcmp(schema->str, REPORT_SCHEMA))
        return tl_fail(err, "%s: not a tailor report (\"schema\" is not \"%s\")", what, REPORT_SCHEMA);
    int64_t C, n;
    if (get_count(&C, root, "classes", TL_METRICS_MAX_CLASSES, what, err) ||
        get_count(&n, root, "test_samples", 9007199254740992.0, what, err)) return -1;
    if (tl_metrics_init(&r->m, (int)C, err)) return tl_fail_prefix(err, "%s", what);
    tl_metrics *m = &r->m;

    const tl_json *pc = tl_json_get(root, "per_class"), *cf = tl_json_get(root, "confusion");
    if (!pc || pc->type != TL_JSON_ARRAY || pc->count != C)
        return tl_fail(err, "%s: \"per_class\" is not an array of %d entries", what, (int)C);
    if (!cf || cf->type != TL_JSON_ARRAY || cf->count != C)
        return tl_fail(err, "%s: \"confusion\" is not a %d x %d array", what, (int)C, (int)C);
    int t = 0;
    for (const tl_json *row = cf->child; row; row = row->next, t++) {
        if (row->type != TL_JSON_ARRAY || row->count != C)
            return tl_fail(err, "%s: row %d of \"confusion\" does not have %d entries", what, t, (int)C);
        int p = 0;
        for (const tl_json *v = row->child; v; v = v->next, p++) {
            if (v->type != TL_JSON_NUMBER || !(v->num >= 0 && v->num <= 9007199254740992.0 && v->num == floor(v->num)))
                return tl_fail(err, "%s: confusion[%d][%d] is not a count", what, t, p);
            m->confusion[(size_t)t * C + p] = (int64_t)v->num;
        }
    }
    int c = 0, with_names = pc->child && tl_json_get(pc->child, "name");
    if (with_names && !(r->names = calloc((size_t)C, sizeof *r->names)))
        return tl_fail(err, "%s: out of memory", what);
    for (const tl_json *e = pc->child; e; e = e->next, c++) {
        int64_t k;
        char ew[4200];
        snprintf(ew, sizeof ew, "%s: per_class[%d]", what, c);
        if (e->type != TL_JSON_OBJECT) return tl_fail(err, "%s is not an object", ew);
        if (get_count(&k, e, "class", C - 1, ew, err) || get_count(&m->train_count[c], e, "train_count", 9e15, ew, err))
            return -1;
        if (k != c) return tl_fail(err, "%s: \"class\" is %lld, expected %d", ew, (long long)k, c);
        if (with_names) {
            const tl_json *nm = tl_json_get(e, "name");
            if (!nm || nm->type != TL_JSON_STRING) return tl_fail(err, "%s: \"name\" missing or not a string", ew);
            r->names[c] = nm->str;
        }
    }
    if (tl_metrics_from_confusion(m, err)) return tl_fail_prefix(err, "%s", what);
    if (m->n != n) return tl_fail(err, "%s: \"test_samples\" is %lld but the confusion matrix sums to %lld", what, (long long)n, (long long)m->n);

    /* Every stored number must match what the confusion matrix and training counts give. */
    c = 0;
    for (const tl_json *e = pc->child; e; e = e->next, c++) {
        char ew[4200];
        double P, R, F;
        int64_t tc;
        snprintf(ew, sizeof ew, "%s: per_class[%d]", what, c);
        if (get_count(&tc, e, "test_count", 9e15, ew, err) || get_num(&P, e, "precision", ew, err) ||
            get_num(&R, e, "recall", ew, err) || get_num(&F, e, "f1", ew, err)) return -1;
        if (tc != m->test_count[c]) return tl_fail(err, "%s: \"test_count\" disagrees with the confusion matrix", ew);
        if (check(P, m->precision[c], "precision", ew, err) || check(R, m->recall[c], "recall", ew, err) ||
            check(F, m->f1[c], "f1", ew, err)) return -1;
    }
    static const char *const keys[] = {"accuracy", "balanced_accuracy", "macro_f1", "micro_f1",
                                       "many", "medium", "few", "head", "mid", "tail"};
    const double computed[] = {m->accuracy, m->balanced_accuracy, m->macro_f1, m->micro_f1,
                               m->many, m->medium, m->few, m->head, m->mid, m->tail};
    for (int i = 0; i < 10; i++) {
        double v;
        if (get_num(&v, root, keys[i], what, err) || check(v, computed[i], keys[i], what, err)) return -1;
    }
    if (get_num(&m->ece, root, "ece", what, err)) return -1;
    return read_run(&r->info, tl_json_get(root, "run"), what, err);
}

int tl_report_read(tl_report *r, const char *path, tl_error *err) {
    memset(r, 0, sizeof *r);
    size_t len;
    char *text = read_file(&len, path, err);
    if (!text) return -1;
    tl_json *root = tl_json_parse(text, len, path, err);
    free(text);
    if (!root) return -1;
    r->storage = root;
    if (root->type != TL_JSON_OBJECT) { tl_report_free(r); return tl_fail(err, "%s: not a JSON object", path); }
    if (read_body(r, root, path, err)) { tl_report_free(r); return -1; }
    return 0;
}

void tl_report_free(tl_report *r) {
    tl_metrics_free(&r->m);
    free(r->names);
    tl_json_free(r->storage);
    memset(r, 0, sizeof *r);
}
