/* tailor data: the class counts of a data set's training view, the imbalance factor, the
 * many/medium/few and head/mid/tail membership, and a histogram. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "tailor.h"

static const tl_option data_opts[] = {
    {"data", NULL, "data set (as for tailor train)", 0, 0, 0},
    {"lt", "none", "long-tailed view: none, exp:IF, step:IF:CLASSES", 0, 0, 0},
    {"val", "0", "balanced validation images held out per class", 0, 0, 0},
};
#define NOPTS ((int)(sizeof data_opts / sizeof *data_opts))

static int by_value(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* The sizes of the data set's image files (all splits): shorter and longer side, colour or gray. */
static void print_image_sizes(const tl_data *d) {
    int n = tl_data_image_files(d), colour = 0, skipped = tl_data_skipped(d);
    int *s = malloc(sizeof *s * (size_t)n), *l = malloc(sizeof *l * (size_t)n);
    if (!s || !l) { free(s); free(l); return; }
    for (int i = 0; i < n; i++) {
        int h, w, c;
        tl_data_image_file_info(d, i, &h, &w, &c);
        s[i] = h < w ? h : w;
        l[i] = h < w ? w : h;
        colour += c == 3;
    }
    qsort(s, (size_t)n, sizeof *s, by_value);
    qsort(l, (size_t)n, sizeof *l, by_value);
    printf("\n%d image files: shorter side min %d / median %d / max %d, longer side min %d / median %d / max %d; "
           "%d colour, %d grayscale", n, s[0], s[n / 2], s[n - 1], l[0], l[n / 2], l[n - 1], colour, n - colour);
    if (skipped) printf("; %d other file%s skipped (not PNG or JPEG)", skipped, skipped == 1 ? "" : "s");
    putchar('\n');
    free(s); free(l);
}

/* counts[k] = rows of class k in split (labels beyond the training classes left out). */
static int split_counts(int *counts, const tl_data *d, int split, tl_error *err) {
    int n = tl_data_rows(d, split), C = tl_data_num_classes(d), *y = malloc(sizeof *y * (size_t)(n + 1));
    if (!y) { snprintf(err->msg, sizeof err->msg, "out of memory"); return -1; }
    int rc = tl_data_labels(d, split, y, err);
    for (int i = 0; !rc && i < n; i++) if (y[i] < C) counts[y[i]]++;
    free(y);
    return rc;
}

int tl_cmd_data(int argc, char **argv) {
    if (tl_options_help(argc, argv, data_opts, NOPTS, "data", "--data SPEC [--lt VIEW] [--val N]")) return 0;
    tl_error err = {{0}};
    tl_options *o = tl_options_parse(data_opts, NOPTS, argc, argv, "data", &err);
    tl_data *d = NULL;
    long val;
    if (!o || tl_options_int(o, "val", 0, 1000000, &val, &err) ||
        !(d = tl_data_open(tl_options_get(o, "data"), tl_options_get(o, "lt"), (int)val, NULL, &err))) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_options_free(o);
        return 2;
    }
    int C = tl_data_num_classes(d), *shot = malloc((size_t)C * sizeof *shot), *part = malloc((size_t)C * sizeof *part);
    int64_t *count = malloc((size_t)C * sizeof *count);
    int *vc = calloc((size_t)C, sizeof *vc), *tc = calloc((size_t)C, sizeof *tc), status = 0;
    if (!shot || !part || !count || !vc || !tc) { snprintf(err.msg, sizeof err.msg, "out of memory"); status = 1; }
    if (!status && (tl_data_class_counts(d, count, &err) || tl_data_class_groups(d, shot, part, &err) ||
                    split_counts(vc, d, TL_SPLIT_VAL, &err) || split_counts(tc, d, TL_SPLIT_TEST, &err)))
        status = 1;
    if (status) fprintf(stderr, "tailor: %s\n", err.msg);
    int64_t nmax = 0, nmin = -1, total = 0;
    for (int c = 0; !status && c < C; c++) {
        total += count[c];
        if (count[c] > nmax) nmax = count[c];
        if (nmin < 0 || count[c] < nmin) nmin = count[c];
    }
    static const char *shots[] = {"many", "medium", "few"}, *parts[] = {"head", "mid", "tail"};
    int ch, h, w;
    tl_data_shape(d, &ch, &h, &w);
    if (!status) {
        printf("data %s, view %s, %d classes, ", tl_options_get(o, "data"), tl_options_get(o, "lt"), C);
        if (h) printf("%d x %d x %d\n\n", ch, h, w);
        else printf("images of many sizes\n\n");
        printf("| class | name | train | val | test | shot | third | histogram |\n|---:|---|---:|---:|---:|---|---|---|\n");
    }
    for (int c = 0; !status && c < C; c++) {
        int bar = nmax ? (int)(40.0 * (double)count[c] / (double)nmax + 0.5) : 0;
        const char *name = tl_data_class_name(d, c);
        printf("| %d | %s | %lld | %d | %d | %s | %s | ", c, name ? name : "", (long long)count[c], vc[c], tc[c],
               shots[shot[c]], parts[part[c]]);
        for (int i = 0; i < bar; i++) fputs("#", stdout);
        puts(" |");
    }
    if (!status) {
        printf("\ntotal %lld training images, imbalance factor %.2f (n_max %lld, n_min %lld), %d validation, %d test\n",
               (long long)total, nmin > 0 ? (double)nmax / (double)nmin : 0.0, (long long)nmax, (long long)nmin,
               tl_data_rows(d, TL_SPLIT_VAL), tl_data_rows(d, TL_SPLIT_TEST));
        if (tl_data_image_files(d)) print_image_sizes(d);
    }
    free(shot); free(part); free(count); free(vc); free(tc);
    tl_data_free(d);
    tl_options_free(o);
    return status;
}
