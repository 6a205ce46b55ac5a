/* tailor data: the class counts of a data set's training view, the imbalance factor, the
 * many/medium/few and head/mid/tail membership, and a histogram. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/commands.h"
#include "run/bundle.h"
#include "eval/metrics.h"

static const tl_optdef data_opts[] = {
    {"data", NULL, "data set (as for tailor train)", 0, 0, 0},
    {"lt", "none", "long-tailed view: none, exp:IF, step:IF:CLASSES", 0, 0, 0},
    {"val", "0", "balanced validation images held out per class", 0, 0, 0},
};
#define NOPTS ((int)(sizeof data_opts / sizeof *data_opts))

static int by_value(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* The sizes of an image collection's files (all splits): shorter and longer side, colour or gray. */
static void print_image_sizes(const tl_images *im, int skipped) {
    int n = tl_images_count(im), colour = 0, *s = malloc(sizeof *s * (size_t)n), *l = malloc(sizeof *l * (size_t)n);
    if (!s || !l) { free(s); free(l); return; }
    for (int i = 0; i < n; i++) {
        const tl_image_info *f = tl_images_info(im, i);
        s[i] = f->h < f->w ? f->h : f->w;
        l[i] = f->h < f->w ? f->w : f->h;
        colour += f->c == 3;
    }
    qsort(s, (size_t)n, sizeof *s, by_value);
    qsort(l, (size_t)n, sizeof *l, by_value);
    printf("\n%d image files: shorter side min %d / median %d / max %d, longer side min %d / median %d / max %d; "
           "%d colour, %d grayscale", n, s[0], s[n / 2], s[n - 1], l[0], l[n / 2], l[n - 1], colour, n - colour);
    if (skipped) printf("; %d other file%s skipped (not PNG or JPEG)", skipped, skipped == 1 ? "" : "s");
    putchar('\n');
    free(s); free(l);
}

int tl_cmd_data(int argc, char **argv) {
    if (tl_opts_help(argc, argv, data_opts, NOPTS, "data", "--data SPEC [--lt VIEW] [--val N]")) return 0;
    tl_error err = {{0}};
    tl_opts o;
    tl_data_bundle b;
    long val;
    if (tl_opts_parse(&o, data_opts, NOPTS, argc, argv, "data", &err) || tl_opt_int(&o, "val", 0, 1000000, &val, &err) ||
        tl_bundle_load(&b, tl_opt(&o, "data"), tl_opt(&o, "lt"), val, &err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_opts_free(&o);
        return 2;
    }
    int C = b.train.num_classes, *shot = malloc((size_t)C * sizeof *shot), *part = malloc((size_t)C * sizeof *part);
    int *order = malloc((size_t)C * sizeof *order);
    int64_t nmax = 0, nmin = -1, total = 0;
    for (int c = 0; c < C; c++) {
        total += b.train_count[c];
        if (b.train_count[c] > nmax) nmax = b.train_count[c];
        if (nmin < 0 || b.train_count[c] < nmin) nmin = b.train_count[c];
    }
    tl_class_groups(shot, part, order, b.train_count, C);
    static const char *shots[] = {"many", "medium", "few"}, *parts[] = {"head", "mid", "tail"};
    printf("data %s, view %s, %d classes, ", tl_opt(&o, "data"), tl_opt(&o, "lt"), C);
    if (b.train.h) printf("%d x %d x %d\n\n", b.train.c, b.train.h, b.train.w);
    else printf("images of many sizes\n\n");
    printf("| class | name | train | val | test | shot | third | histogram |\n|---:|---|---:|---:|---:|---|---|---|\n");
    int *vc = calloc((size_t)C, sizeof *vc), *tc = calloc((size_t)C, sizeof *tc);
    for (int i = 0; i < b.val.n; i++) vc[b.val.y[i]]++;
    for (int i = 0; i < b.test.n; i++) if (b.test.y[i] < C) tc[b.test.y[i]]++;
    for (int c = 0; c < C; c++) {
        int bar = nmax ? (int)(40.0 * (double)b.train_count[c] / (double)nmax + 0.5) : 0;
        printf("| %d | %s | %lld | %d | %d | %s | %s | ", c, b.train.class_names ? b.train.class_names[c] : "",
               (long long)b.train_count[c], vc[c], tc[c], shots[shot[c]], parts[part[c]]);
        for (int i = 0; i < bar; i++) fputs("#", stdout);
        puts(" |");
    }
    printf("\ntotal %lld training images, imbalance factor %.2f (n_max %lld, n_min %lld), %d validation, %d test\n",
           (long long)total, nmin > 0 ? (double)nmax / (double)nmin : 0.0, (long long)nmax, (long long)nmin, b.val.n, b.test.n);
    if (b.train.images && tl_images_info(b.train.images, 0)) print_image_sizes(b.train.images, b.skipped);
    free(shot); free(part); free(order); free(vc); free(tc);
    tl_bundle_free(&b);
    tl_opts_free(&o);
    return 0;
}
