/* CSV: one sample per line, comma-separated cells, one of them the label, all others numeric
 * features (h = w = 1, c = #features). Cells are trimmed of blanks and of one pair of surrounding
 * double quotes; quoted commas and multi-line cells are not supported. Blank lines are skipped. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

typedef struct {
    const char *path;
    unsigned char *buf;
    int nrows;
    char **labels;   /* [nrows] label cell text (points into buf) */
    int *lines;      /* [nrows] 1-based line number, for messages */
    char **header;   /* [ncols] or NULL */
} csv_table;

static void table_free(csv_table *t) {
    free(t->buf); free(t->labels); free(t->lines); free(t->header);
    memset(t, 0, sizeof *t);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
    if (e - s >= 2 && s[0] == '"' && e[-1] == '"') { e[-1] = 0; s++; }
    return s;
}

static int is_blank(const char *s) {
    for (; *s; s++) if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* Splits line in place into at most cap cells; returns the count (cap + 1 means "more than cap"). */
static int split(char **cells, int cap, char *line) {
    int n = 0;
    for (char *p = line;;) {
        char *c = strchr(p, ',');
        if (c) *c = 0;
        if (n < cap) cells[n] = trim(p);
        n++;
        if (!c || n > cap) break;
        p = c + 1;
    }
    return n;
}

static int parse_float(float *out, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || fabs(v) > 3.4e38) return -1;
    *out = (float)v;
    return 0;
}

static int parse_int(long *out, const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno) return -1;
    *out = v;
    return 0;
}

/* Resolves the label column on the first line of the train file. *lab = index, *header = whether line 1
 * is a header. */
static int resolve_label(int *lab, int *header, char **cells, int ncols, const char *label_col, const char *path,
                         tl_error *err) {
    long idx;
    *header = 0;
    if (label_col && parse_int(&idx, label_col) != 0) {
        for (int j = 0; j < ncols; j++)
            if (strcmp(cells[j], label_col) == 0) { *lab = j; *header = 1; return 0; }
        return tl_fail(err, "%s: no column named '%s' in the header row (label=%s)", path, label_col, label_col);
    }
    if (label_col) {
        if (idx < 0 || idx >= ncols) return tl_fail(err, "%s: label column %ld is out of range (the file has %d columns)", path, idx, ncols);
        *lab = (int)idx;
    } else {
        *lab = ncols - 1;
    }
    float f;
    for (int j = 0; j < ncols; j++)
        if (j != *lab && parse_float(&f, cells[j]) != 0) *header = 1;
    return 0;
}

/* Parses one file into d's rows (d allocated here with an upper bound of rows; d->n set to the real
 * count). For the train file *lab < 0 on entry: the label column and header are resolved here. */
static int parse_file(csv_table *t, tl_dataset *d, int *ncols, int *lab, int *has_header, const char *path,
                      const char *label_col, const csv_table *train, tl_error *err) {
    memset(t, 0, sizeof *t);
    memset(d, 0, sizeof *d);
    t->path = path;
    int64_t len;
    if (tl_file_read(&t->buf, &len, path, err)) return -1;
    char *text = (char *)t->buf;
    if (memchr(text, 0, (size_t)len)) { tl_fail(err, "%s: binary data (a NUL byte) in a CSV file", path); goto fail; }
    /* Upper bounds on rows: the number of lines, and (once the column count is known) the number of
     * commas over the commas of one row, so the arrays stay within a few times the file size. */
    int64_t nlines = 1, ncommas = 0;
    for (int64_t i = 0; i < len; i++) { nlines += text[i] == '\n'; ncommas += text[i] == ','; }
    if (nlines >= INT_MAX) { tl_fail(err, "%s: too many lines", path); goto fail; }
    char **cells = NULL;
    int rows = 0, line_no = 0, first = 1, cap = 0;
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *line = p;
        p = nl ? nl + 1 : NULL;
        line_no++;
        if (is_blank(line)) continue;
        if (first) {
            /* The first non-blank line fixes the column count. */
            cap = 1;
            for (char *q = line; *q; q++) cap += *q == ',';
            if (*ncols && cap != *ncols) {
                tl_fail(err, "%s:%d: %d columns, but %s has %d", path, line_no, cap, train->path, *ncols);
                goto fail_cells;
            }
            *ncols = cap;
            if (cap < 2) { tl_fail(err, "%s:%d: a CSV needs a label column and at least one feature column", path, line_no); goto fail; }
            if (ncommas / (cap - 1) < nlines) nlines = ncommas / (cap - 1);
            cells = malloc(sizeof(char *) * (size_t)cap);
            t->labels = malloc(sizeof(char *) * (size_t)nlines);
            t->lines = malloc(sizeof(int) * (size_t)nlines);
            if (!cells || !t->labels || !t->lines) { tl_fail(err, "%s: out of memory", path); goto fail_cells; }
        }
        int n = split(cells, cap, line);
        if (n != cap) { tl_fail(err, "%s:%d: %d columns, expected %d", path, line_no, n, cap); goto fail_cells; }
        if (first) {
            first = 0;
            int header = 0;
            if (*lab < 0) {
                if (resolve_label(lab, &header, cells, cap, label_col, path, err)) goto fail_cells;
                *has_header = header;
            } else {
                header = *has_header;
            }
            if (tl_dataset_alloc(d, (int)nlines, cap - 1, 1, 1, 0, path, err)) goto fail_cells;
            if (header) {
                if (train && train->header)
                    for (int j = 0; j < cap; j++)
                        if (strcmp(cells[j], train->header[j]) != 0) {
                            tl_fail(err, "%s:%d: column %d is '%s' but in %s it is '%s'", path, line_no, j, cells[j],
                                    train->path, train->header[j]);
                            goto fail_cells;
                        }
                t->header = cells;
                cells = malloc(sizeof(char *) * (size_t)cap);
                if (!cells) { tl_fail(err, "%s: out of memory", path); goto fail; }
                continue;
            }
        }
        float *x = d->x + (size_t)rows * (cap - 1);
        for (int j = 0, f = 0; j < cap; j++) {
            if (j == *lab) continue;
            if (parse_float(&x[f++], cells[j]) != 0) {
                if (t->header || (train && train->header))
                    tl_fail(err, "%s:%d: column %d ('%s'): '%s' is not a number", path, line_no, j,
                            (t->header ? t->header : train->header)[j], cells[j]);
                else
                    tl_fail(err, "%s:%d: column %d: '%s' is not a number", path, line_no, j, cells[j]);
                goto fail_cells;
            }
        }
        if (!cells[*lab][0]) { tl_fail(err, "%s:%d: empty label", path, line_no); goto fail_cells; }
        t->labels[rows] = cells[*lab];
        t->lines[rows] = line_no;
        rows++;
    }
    free(cells);
    if (first) { tl_fail(err, "%s: empty CSV file", path); goto fail; }
    if (rows == 0) { tl_fail(err, "%s: no data rows after the header", path); goto fail; }
    t->nrows = d->n = rows;
    return 0;
fail_cells:
    free(cells);
fail:
    tl_dataset_free(d);
    table_free(t);
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Numbers the labels of both tables into d->y, and sets num_classes (and names for text labels). */
static int assign_labels(tl_dataset *ds[2], csv_table *ts[2], int nt, tl_error *err) {
    int numeric = 1;
    long v = 0;
    for (int t = 0; t < nt && numeric; t++)
        for (int i = 0; i < ts[t]->nrows && numeric; i++) numeric = parse_int(&v, ts[t]->labels[i]) == 0;
    if (numeric) {
        long maxl = 0;
        for (int t = 0; t < nt; t++)
            for (int i = 0; i < ts[t]->nrows; i++) {
                parse_int(&v, ts[t]->labels[i]);
                if (v < 0 || v >= TL_DATA_MAX_CLASSES)
                    return tl_fail(err, "%s:%d: label %ld is out of range (0..%d)", ts[t]->path, ts[t]->lines[i], v,
                                   TL_DATA_MAX_CLASSES - 1);
                ds[t]->y[i] = (int)v;
                if (v > maxl) maxl = v;
            }
        for (int t = 0; t < nt; t++) ds[t]->num_classes = (int)maxl + 1;
        return 0;
    }
    /* Text labels: distinct values in sorted order become classes 0..K-1. */
    int total = 0;
    for (int t = 0; t < nt; t++) total += ts[t]->nrows;
    char **all = malloc(sizeof(char *) * (size_t)total);
    if (!all) return tl_fail(err, "%s: out of memory", ts[0]->path);
    int m = 0;
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < ts[t]->nrows; i++) all[m++] = ts[t]->labels[i];
    qsort(all, (size_t)total, sizeof *all, cmp_str);
    int k = 0;
    for (int i = 0; i < total; i++)
        if (i == 0 || strcmp(all[i], all[k - 1]) != 0) all[k++] = all[i];
    if (k > TL_DATA_MAX_CLASSES) { free(all); return tl_fail(err, "%s: %d distinct labels, over the limit", ts[0]->path, k); }
    for (int t = 0; t < nt; t++) {
        ds[t]->num_classes = k;
        for (int i = 0; i < ts[t]->nrows; i++) {
            char **hit = bsearch(&ts[t]->labels[i], all, (size_t)k, sizeof *all, cmp_str);
            ds[t]->y[i] = (int)(hit - all);
        }
    }
    int rc = 0;
    ds[0]->class_names = calloc((size_t)k, sizeof(char *));
    if (!ds[0]->class_names) rc = tl_fail(err, "%s: out of memory", ts[0]->path);
    for (int j = 0; !rc && j < k; j++)
        if (!(ds[0]->class_names[j] = strdup(all[j]))) rc = tl_fail(err, "%s: out of memory", ts[0]->path);
    free(all);
    if (!rc && nt > 1) rc = tl_dataset_copy_names(ds[1], ds[0], err);
    return rc;
}

int tl_csv_load(tl_dataset *train, tl_dataset *test, const char *train_path, const char *test_path,
                const char *label_col, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    csv_table tt = {0}, et = {0};
    int ncols = 0, lab = -1, header = 0, rc = -1;
    if (parse_file(&tt, train, &ncols, &lab, &header, train_path, label_col, NULL, err)) goto out;
    if (test_path) {
        if (parse_file(&et, test, &ncols, &lab, &header, test_path, label_col, &tt, err)) goto out;
    } else if (tl_dataset_alloc(test, 0, train->c, 1, 1, 0, train_path, err)) {
        goto out;
    }
    tl_dataset *ds[2] = {train, test};
    csv_table *ts[2] = {&tt, &et};
    if (assign_labels(ds, ts, test_path ? 2 : 1, err)) goto out;
    if (!test_path) {
        test->num_classes = train->num_classes;
        if (tl_dataset_copy_names(test, train, err)) goto out;
    }
    rc = 0;
out:
    if (rc) { tl_dataset_free(train); tl_dataset_free(test); }
    table_free(&tt);
    table_free(&et);
    return rc;
}
