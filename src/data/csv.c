/* CSV: one sample per line, comma-separated cells, one of them the label, all others numeric
 * features (h = w = 1, c = #features), read as pandas.read_csv reads such a file where it can and
 * refused with a message where it cannot: a UTF-8 byte-order mark is skipped; a cell in double
 * quotes may hold commas ("" is a quote); blanks around cells are trimmed; blank lines are skipped;
 * cells spanning lines are not supported. Missing values (pandas' NA strings) are an error unless
 * opts->na says to drop their rows or fill them with the training mean. */
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
    int64_t na_cells; /* missing feature cells (filled with the mean, or their rows dropped) */
    int na_line;     /* first line holding one, 0 if none */
} csv_table;

static void table_free(csv_table *t) {
    free(t->buf); free(t->labels); free(t->lines); free(t->header);
    memset(t, 0, sizeof *t);
}

static int is_blank(const char *s) {
    for (; *s; s++) if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* pandas.read_csv's default missing-value strings. */
static int is_na(const char *s) {
    static const char *const na[] = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                                     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"};
    for (size_t i = 0; i < sizeof na / sizeof *na; i++) if (!strcmp(s, na[i])) return 1;
    return 0;
}

/* Splits line in place into at most cap cells, unquoting quoted ones. Returns the count (cap + 1
 * means "more than cap"), -1 for a quote left open, -2 for text after a closing quote. */
static int split(char **cells, int cap, char *line) {
    int n = 0;
    for (char *p = line;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *cell = p, *next;
        if (*p == '"') {
            char *w = cell;
            for (p++;; p++) {
                if (!*p) return -1;
                if (*p == '"') { if (p[1] != '"') break; p++; }
                *w++ = *p;
            }
            for (p++; *p == ' ' || *p == '\t' || *p == '\r'; p++) {}
            if (*p && *p != ',') return -2;
            next = *p ? p + 1 : NULL;
            *w = 0;
        } else {
            char *c = strchr(p, ',');
            next = c ? c + 1 : NULL;
            char *e = c ? c : p + strlen(p);
            while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
            *e = 0;
        }
        if (n < cap) cells[n] = cell;
        n++;
        if (!next || n > cap) return n;
        p = next;
    }
}

static int parse_double(double *out, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_float(float *out, const char *s) {
    double v;
    if (parse_double(&v, s) || fabs(v) > 3.4e38) return -1;
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
static int resolve_label(int *lab, int *header, char **cells, int ncols, const tl_csv_opts *o, const char *path,
                         int line_no, tl_error *err) {
    long idx;
    const char *label_col = o->label;
    *header = o->header > 0;
    if (o->nfeatures && ncols == o->nfeatures) {   /* features only: no label column */
        *lab = ncols;
        float f;
        for (int j = 0; o->header < 0 && j < ncols; j++)
            if (parse_float(&f, cells[j]) != 0 && !is_na(cells[j])) *header = 1;
        return 0;
    }
    if (label_col && parse_int(&idx, label_col) != 0) {
        for (int j = 0; j < ncols; j++)
            if (strcmp(cells[j], label_col) == 0) {
                if (o->header == 0) return tl_fail(err, "%s: label=%s names a column, but header=0", path, label_col);
                *lab = j; *header = 1; return 0;
            }
        return tl_fail(err, "%s: no column named '%s' in the header row (label=%s)", path, label_col, label_col);
    }
    if (label_col) {
        if (idx < 0 || idx >= ncols) return tl_fail(err, "%s: label column %ld is out of range (the file has %d columns)", path, idx, ncols);
        *lab = (int)idx;
    } else {
        *lab = ncols - 1;
    }
    if (o->header >= 0) return 0;
    float f;
    for (int j = 0; j < ncols; j++)
        if (j != *lab && parse_float(&f, cells[j]) != 0 && !is_na(cells[j])) *header = 1;
    /* A row of column numbers (0,1,2,... or 1,2,3,...) is a header to pandas but data to the rule above. */
    long first = 0, v;
    int seq = ncols >= 3;
    for (int j = 0; seq && j < ncols; j++) {
        seq = parse_int(&v, cells[j]) == 0 && (j ? v == first + j : (v == 0 || v == 1));
        if (!j) first = v;
    }
    if (!*header && seq)
        return tl_fail(err, "%s:%d: the first row (%s,%s,...) looks like a header of column numbers: give header=1 "
                       "(it is a header) or header=0 (it is data)", path, line_no, cells[0], cells[1]);
    return 0;
}

/* The message for a cell that is not a number, naming the column by its header when there is one. */
static int bad_cell(const csv_table *t, const csv_table *train, int line_no, int j, const char *cell, tl_error *err) {
    char *const *h = t->header ? t->header : train && train->header ? train->header : NULL;
    if (h) return tl_fail(err, "%s:%d: column %d ('%s'): '%s' is not a number", t->path, line_no, j, h[j], cell);
    return tl_fail(err, "%s:%d: column %d: '%s' is not a number", t->path, line_no, j, cell);
}

/* Parses one file into d's rows (d allocated here with an upper bound of rows; d->n set to the real
 * count). For the train file *lab < 0 on entry: the label column and header are resolved here.
 * Missing feature cells are left NaN (na=mean fills them later) or drop their row (na=drop). */
static int parse_file(csv_table *t, tl_dataset *d, int *ncols, int *lab, int *has_header, const char *path,
                      const tl_csv_opts *o, const csv_table *train, tl_error *err) {
    memset(t, 0, sizeof *t);
    memset(d, 0, sizeof *d);
    t->path = path;
    int64_t len;
    if (tl_file_read(&t->buf, &len, path, err)) return -1;
    char *text = (char *)t->buf;
    if (memchr(text, 0, (size_t)len)) { tl_fail(err, "%s: binary data (a NUL byte) in a CSV file", path); goto fail; }
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { text += 3; len -= 3; }  /* UTF-8 byte-order mark */
    /* Upper bounds on rows: the number of lines, and (once the column count is known) the number of
     * commas over the commas of one row, so the arrays stay within a few times the file size. */
    int64_t nlines = 1, ncommas = 0;
    for (int64_t i = 0; i < len; i++) { nlines += text[i] == '\n'; ncommas += text[i] == ','; }
    if (nlines >= INT_MAX) { tl_fail(err, "%s: too many lines", path); goto fail; }
    char **cells = NULL;
    int rows = 0, line_no = 0, first = 1, cap = 0, nf = 0, skip = o->skip_rownames;
    char *p = text;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        char *line = p;
        p = nl ? nl + 1 : NULL;
        line_no++;
        if (is_blank(line)) continue;
        if (first) {
            /* The first non-blank line fixes the column count (commas + 1 bounds it; quotes may hold some). */
            int bound = 1;
            for (char *q = line; *q; q++) bound += *q == ',';
            cells = malloc(sizeof(char *) * (size_t)bound);
            if (!cells) { tl_fail(err, "%s: out of memory", path); goto fail; }
            cap = bound;
        }
        int room = first ? cap : cap + skip, n = split(cells, room, line);
        if (n == -1) { tl_fail(err, "%s:%d: a quoted cell is not closed on its line (cells spanning lines are not supported)", path, line_no); goto fail_cells; }
        if (n == -2) { tl_fail(err, "%s:%d: text after a closing quote", path, line_no); goto fail_cells; }
        if (skip && n > 0) {   /* drop cell 0; split stored at most `room` cells */
            memmove(cells, cells + 1, sizeof(char *) * (size_t)((n < room ? n : room) - 1));
            n--;
        }
        if (first) {
            if (skip && n < 1) { tl_fail(err, "%s:%d: rownames=skip leaves no column", path, line_no); goto fail_cells; }
            cap = n;
            if (*ncols && cap != *ncols) {
                tl_fail(err, "%s:%d: %d columns, but %s has %d", path, line_no, cap, train->path, *ncols);
                goto fail_cells;
            }
            *ncols = cap;
            if (cap < 2 && cap != o->nfeatures) { tl_fail(err, "%s:%d: a CSV needs a label column and at least one feature column", path, line_no); goto fail_cells; }
            if (cap > 1 && ncommas / (cap - 1) < nlines) nlines = ncommas / (cap - 1);
            t->labels = malloc(sizeof(char *) * (size_t)nlines);
            t->lines = malloc(sizeof(int) * (size_t)nlines);
            if (!t->labels || !t->lines) { tl_fail(err, "%s: out of memory", path); goto fail_cells; }
        } else if (n != cap) {
            tl_fail(err, "%s:%d: %d columns, expected %d", path, line_no, n, cap);
            goto fail_cells;
        }
        if (first) {
            first = 0;
            int header = 0;
            if (*lab < 0) {
                if (resolve_label(lab, &header, cells, cap, o, path, line_no, err)) goto fail_cells;
                *has_header = header;
            } else {
                header = *has_header;
            }
            nf = *lab < cap ? cap - 1 : cap;
            if (tl_dataset_alloc(d, (int)nlines, nf, 1, 1, 0, path, err)) goto fail_cells;
            if (header) {
                if (train && train->header)
                    for (int j = 0; j < cap; j++)
                        if (strcmp(cells[j], train->header[j]) != 0) {
                            tl_fail(err, "%s:%d: column %d is '%s' but in %s it is '%s'", path, line_no, j, cells[j],
                                    train->path, train->header[j]);
                            goto fail_cells;
                        }
                t->header = cells;
                cells = malloc(sizeof(char *) * (size_t)(cap + skip));
                if (!cells) { tl_fail(err, "%s: out of memory", path); goto fail; }
                continue;
            }
        }
        float *x = d->x + (size_t)rows * nf;
        int missing = 0;
        for (int j = 0, f = 0; j < cap; j++) {
            if (j == *lab) continue;
            if (parse_float(&x[f], cells[j]) != 0) {
                if (!is_na(cells[j])) { bad_cell(t, train, line_no, j, cells[j], err); goto fail_cells; }
                x[f] = NAN;
                missing++;
            }
            f++;
        }
        const char *label = *lab < cap ? cells[*lab] : "0";
        if (is_na(label) && o->na != TL_CSV_NA_DROP) {
            tl_fail(err, "%s:%d: the label is missing ('%s'; give na=drop to drop such rows)", path, line_no, label);
            goto fail_cells;
        }
        if (missing || is_na(label)) {
            if (!t->na_line) t->na_line = line_no;
            t->na_cells += missing;
            if (o->na == TL_CSV_NA_DROP) continue;
        }
        t->labels[rows] = (char *)label;
        t->lines[rows] = line_no;
        rows++;
    }
    free(cells);
    if (first) { tl_fail(err, "%s: empty CSV file", path); goto fail; }
    if (t->na_cells && o->na == TL_CSV_NA_ERROR) {
        tl_fail(err, "%s:%d: missing values (%lld cells, the first on this line): give na=drop (drop those rows) or "
                "na=mean (fill with the training mean)", path, t->na_line, (long long)t->na_cells);
        goto fail;
    }
    if (rows == 0) { tl_fail(err, "%s: no data rows after the header%s", path, t->na_line ? " and na=drop" : ""); goto fail; }
    t->nrows = d->n = rows;
    return 0;
fail_cells:
    free(cells);
fail:
    tl_dataset_free(d);
    table_free(t);
    return -1;
}

/* R's write.csv (and pandas' to_csv) write the row names as an unnamed first column 1..n (0..n-1):
 * read as a feature it would silently carry the row order. */
static int check_rownames(const csv_table *t, const tl_dataset *d, int lab, tl_error *err) {
    if (!t->header || t->header[0][0] || lab == 0 || d->n < 2) return 0;
    float base = d->x[0];
    if (base != 0 && base != 1) return 0;
    for (int i = 0; i < d->n; i++)
        if (d->x[(size_t)i * d->c] != base + (float)i) return 0;
    return tl_fail(err, "%s: the first column is unnamed and holds the row numbers %g..%g (R's write.csv row names): "
                   "give rownames=skip, or write the file with row.names = FALSE", t->path, base, base + d->n - 1);
}

/* na=mean: each missing cell of both files gets its column's mean over the training rows present. */
static int fill_means(tl_dataset *ds[2], int nt, const char *path, tl_error *err) {
    int D = ds[0]->c;
    double *sum = calloc((size_t)D, sizeof *sum), *cnt = calloc((size_t)D, sizeof *cnt);
    if (!sum || !cnt) { free(sum); free(cnt); return tl_fail(err, "%s: out of memory", path); }
    for (int i = 0; i < ds[0]->n; i++)
        for (int j = 0; j < D; j++) {
            float v = ds[0]->x[(size_t)i * D + j];
            if (!isnan(v)) { sum[j] += v; cnt[j]++; }
        }
    int rc = 0;
    for (int j = 0; j < D && !rc; j++)
        if (!cnt[j]) rc = tl_fail(err, "%s: feature %d has no value in any training row, so na=mean has no mean", path, j);
    for (int t = 0; t < nt && !rc; t++)
        for (size_t k = 0; k < (size_t)ds[t]->n * D; k++)
            if (isnan(ds[t]->x[k])) ds[t]->x[k] = (float)(sum[k % D] / cnt[k % D]);
    free(sum);
    free(cnt);
    return rc;
}

/* Label kinds: whole numbers (1 and 1.0 alike, as pandas reads a float column), other numbers, text. */
enum { LABEL_WHOLE, LABEL_FRACTION, LABEL_TEXT };
static int label_kind(const char *s, long *v) {
    double d;
    if (parse_int(v, s) == 0) return LABEL_WHOLE;
    if (parse_double(&d, s) != 0) return LABEL_TEXT;
    if (d != floor(d) || fabs(d) > 1e9) return LABEL_FRACTION;
    *v = (long)d;
    return LABEL_WHOLE;
}

typedef struct { const char *s; int first; } label_ref;
static int cmp_ref(const void *a, const void *b) {
    const label_ref *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->first > y->first) - (x->first < y->first);
}
static int cmp_first(const void *a, const void *b) {
    const label_ref *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* Text labels: the classes are o->classes in order, or the distinct texts in order of first
 * appearance (train, then test). */
static int text_labels(tl_dataset *ds[2], csv_table *ts[2], int nt, const tl_csv_opts *o, tl_error *err) {
    int total = 0;
    for (int t = 0; t < nt; t++) total += ts[t]->nrows;
    int k = o->nclasses;
    label_ref *all = malloc(sizeof *all * (size_t)(k ? k : total));
    if (!all) return tl_fail(err, "%s: out of memory", ts[0]->path);
    if (k) {
        for (int j = 0; j < k; j++) all[j] = (label_ref){o->classes[j], j};
    } else {
        for (int t = 0, m = 0; t < nt; t++)
            for (int i = 0; i < ts[t]->nrows; i++, m++) all[m] = (label_ref){ts[t]->labels[i], m};
        qsort(all, (size_t)total, sizeof *all, cmp_ref);
        for (int i = 0; i < total; i++)
            if (i == 0 || strcmp(all[i].s, all[k - 1].s) != 0) all[k++] = all[i];
        if (k > TL_DATA_MAX_CLASSES) { free(all); return tl_fail(err, "%s: %d distinct labels, over the limit", ts[0]->path, k); }
        qsort(all, (size_t)k, sizeof *all, cmp_first);
        for (int j = 0; j < k; j++) all[j].first = j;   /* now the class id */
    }
    /* A sorted copy to look labels up by text. */
    label_ref *sorted = malloc(sizeof *sorted * (size_t)k);
    if (!sorted) { free(all); return tl_fail(err, "%s: out of memory", ts[0]->path); }
    memcpy(sorted, all, sizeof *sorted * (size_t)k);
    qsort(sorted, (size_t)k, sizeof *sorted, cmp_ref);
    int rc = 0;
    for (int j = 1; j < k && !rc; j++)
        if (!strcmp(sorted[j].s, sorted[j - 1].s)) rc = tl_fail(err, "classes=: '%s' is listed twice", sorted[j].s);
    for (int t = 0; t < nt && !rc; t++) {
        ds[t]->num_classes = k;
        for (int i = 0; i < ts[t]->nrows && !rc; i++) {
            int lo = 0, hi = k - 1, hit = -1;
            while (lo <= hi && hit < 0) {
                int mid = (lo + hi) / 2, c = strcmp(ts[t]->labels[i], sorted[mid].s);
                if (!c) hit = sorted[mid].first;
                else if (c < 0) hi = mid - 1;
                else lo = mid + 1;
            }
            if (hit < 0) rc = tl_fail(err, "%s:%d: label '%s' is not one of the %d classes ('%s', ...)", ts[t]->path,
                                      ts[t]->lines[i], ts[t]->labels[i], k, all[0].s);
            else ds[t]->y[i] = hit;
        }
    }
    free(sorted);
    if (!rc && !(ds[0]->class_names = calloc((size_t)k, sizeof(char *)))) rc = tl_fail(err, "%s: out of memory", ts[0]->path);
    for (int j = 0; !rc && j < k; j++)
        if (!(ds[0]->class_names[j] = strdup(all[j].s))) rc = tl_fail(err, "%s: out of memory", ts[0]->path);
    free(all);
    if (!rc && nt > 1) rc = tl_dataset_copy_names(ds[1], ds[0], err);
    return rc;
}

/* Numbers the labels of both tables into d->y, and sets num_classes (and names for text labels). */
static int assign_labels(tl_dataset *ds[2], csv_table *ts[2], int nt, const tl_csv_opts *o, tl_error *err) {
    int seen[3] = {-1, -1, -1}, seen_t[3] = {0, 0, 0};
    long v = 0;
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < ts[t]->nrows; i++) {
            int kind = label_kind(ts[t]->labels[i], &v);
            if (seen[kind] < 0) { seen[kind] = i; seen_t[kind] = t; }
        }
#define AT(kind) ts[seen_t[kind]]->path, ts[seen_t[kind]]->lines[seen[kind]], ts[seen_t[kind]]->labels[seen[kind]]
    if (seen[LABEL_TEXT] >= 0 && (seen[LABEL_WHOLE] >= 0 || seen[LABEL_FRACTION] >= 0)) {
        int num = seen[LABEL_WHOLE] >= 0 ? LABEL_WHOLE : LABEL_FRACTION;
        return tl_fail(err, "the label column mixes numbers (%s:%d: '%s') and text (%s:%d: '%s'): make every label a "
                       "class number 0..C-1, or every label text", AT(num), AT(LABEL_TEXT));
    }
    if (seen[LABEL_TEXT] >= 0 || o->nclasses) return text_labels(ds, ts, nt, o, err);
    if (seen[LABEL_FRACTION] >= 0)
        return tl_fail(err, "%s:%d: label '%s' is not a whole number (labels are class numbers 0..C-1, or text)", AT(LABEL_FRACTION));
#undef AT
    long maxl = 0;
    for (int t = 0; t < nt; t++)
        for (int i = 0; i < ts[t]->nrows; i++) {
            label_kind(ts[t]->labels[i], &v);
            if (v < 0 || v >= TL_DATA_MAX_CLASSES)
                return tl_fail(err, "%s:%d: label %ld is out of range (0..%d)", ts[t]->path, ts[t]->lines[i], v,
                               TL_DATA_MAX_CLASSES - 1);
            ds[t]->y[i] = (int)v;
            if (v > maxl) maxl = v;
        }
    for (int t = 0; t < nt; t++) ds[t]->num_classes = (int)maxl + 1;
    return 0;
}

int tl_csv_load_opts(tl_dataset *train, tl_dataset *test, const char *train_path, const char *test_path,
                     const tl_csv_opts *o, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    csv_table tt = {0}, et = {0};
    int ncols = 0, lab = -1, header = 0, rc = -1;
    if (parse_file(&tt, train, &ncols, &lab, &header, train_path, o, NULL, err) ||
        (!o->skip_rownames && check_rownames(&tt, train, lab, err)))
        goto out;
    if (test_path) {
        if (parse_file(&et, test, &ncols, &lab, &header, test_path, o, &tt, err)) goto out;
    } else if (tl_dataset_alloc(test, 0, train->c, 1, 1, 0, train_path, err)) {
        goto out;
    }
    tl_dataset *ds[2] = {train, test};
    csv_table *ts[2] = {&tt, &et};
    if (o->na == TL_CSV_NA_MEAN && (tt.na_cells || et.na_cells) && fill_means(ds, test_path ? 2 : 1, train_path, err)) goto out;
    if (lab == ncols) {   /* features only (opts->nfeatures): every label 0, the classes as given */
        train->num_classes = o->nclasses ? o->nclasses : 1;
        if (o->nclasses && !(train->class_names = calloc((size_t)o->nclasses, sizeof(char *)))) { tl_fail(err, "out of memory"); goto out; }
        for (int j = 0; j < o->nclasses; j++)
            if (!(train->class_names[j] = strdup(o->classes[j]))) { tl_fail(err, "out of memory"); goto out; }
        if (test_path) { test->num_classes = train->num_classes; if (tl_dataset_copy_names(test, train, err)) goto out; }
    } else if (assign_labels(ds, ts, test_path ? 2 : 1, o, err)) {
        goto out;
    }
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

int tl_csv_load(tl_dataset *train, tl_dataset *test, const char *train_path, const char *test_path,
                const char *label_col, tl_error *err) {
    tl_csv_opts o = {.label = label_col, .header = -1};
    return tl_csv_load_opts(train, test, train_path, test_path, &o, err);
}

void tl_csv_write_cell(FILE *f, const char *s) {
    size_t n = strlen(s);
    int quote = n && (s[0] == ' ' || s[n - 1] == ' ' || s[0] == '\t' || s[n - 1] == '\t');
    for (const char *c = s; *c && !quote; c++) quote = *c == ',' || *c == '"' || *c == '\n' || *c == '\r';
    if (!quote) { fputs(s, f); return; }
    fputc('"', f);
    for (const char *c = s; *c; c++) { if (*c == '"') fputc('"', f); fputc(*c, f); }
    fputc('"', f);
}
