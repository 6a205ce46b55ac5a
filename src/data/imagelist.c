/* Image lists: "PATH LABEL" per line (ImageNet-LT style), relative to a root folder. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"
#include "data/file.h"

typedef struct {
    unsigned char *buf;  /* the list file, split in place */
    int n;
    char **paths;        /* [n] into buf */
    int *labels, *lines;
} image_list;

static void list_free(image_list *l) {
    free(l->buf); free(l->paths); free(l->labels); free(l->lines);
    memset(l, 0, sizeof *l);
}

static int list_read(image_list *l, const char *path, tl_error *err) {
    memset(l, 0, sizeof *l);
    int64_t len;
    if (tl_file_read(&l->buf, &len, path, err)) return -1;
    char *text = (char *)l->buf;
    int64_t nlines = 1;
    for (int64_t i = 0; i < len; i++) nlines += text[i] == '\n';
    if (nlines >= INT_MAX) { list_free(l); return tl_fail(err, "%s: too many lines", path); }
    l->paths = malloc(sizeof(char *) * (size_t)nlines);
    l->labels = malloc(sizeof(int) * (size_t)nlines);
    l->lines = malloc(sizeof(int) * (size_t)nlines);
    if (!l->paths || !l->labels || !l->lines) { list_free(l); return tl_fail(err, "%s: out of memory", path); }
    int line_no = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n'), *s = p;
        if (nl) *nl = 0;
        p = nl ? nl + 1 : NULL;
        line_no++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
        while (isspace((unsigned char)*s)) s++;
        if (!*s) continue;
        char *sp = e;
        while (sp > s && !isspace((unsigned char)sp[-1])) sp--;
        if (sp == s) { list_free(l); return tl_fail(err, "%s:%d: expected 'PATH LABEL'", path, line_no); }
        char *end;
        errno = 0;
        long v = strtol(sp, &end, 10);
        if (end == sp || *end || errno) {
            tl_fail(err, "%s:%d: label '%s' is not an integer", path, line_no, sp); /* sp points into l->buf */
            list_free(l);
            return -1;
        }
        if (v < 0 || v >= TL_DATA_MAX_CLASSES) {
            list_free(l);
            return tl_fail(err, "%s:%d: label %ld is out of range (0..%d)", path, line_no, v, TL_DATA_MAX_CLASSES - 1);
        }
        char *pe = sp;
        while (pe > s && isspace((unsigned char)pe[-1])) *--pe = 0;
        l->paths[l->n] = s;
        l->labels[l->n] = (int)v;
        l->lines[l->n] = line_no;
        l->n++;
    }
    if (l->n == 0) { list_free(l); return tl_fail(err, "%s: the image list is empty", path); }
    return 0;
}

/* ROOT/PATH, refusing a PATH that would leave ROOT (absolute, or with a ".." component). */
static char *list_path(const char *root, const char *p, const char *list, int line, tl_error *err) {
    if (p[0] == '/') { tl_fail(err, "%s:%d: '%s' is an absolute path; paths are relative to ROOT %s", list, line, p, root); return NULL; }
    for (const char *q = p; *q;) {
        const char *e = strchr(q, '/');
        size_t l = e ? (size_t)(e - q) : strlen(q);
        if (l == 2 && q[0] == '.' && q[1] == '.') {
            tl_fail(err, "%s:%d: '%s' leaves ROOT %s (\"..\")", list, line, p, root);
            return NULL;
        }
        q += l + (e != NULL);
    }
    char *out = malloc(strlen(root) + strlen(p) + 2);
    if (!out) { tl_fail(err, "%s: out of memory", list); return NULL; }
    sprintf(out, "%s/%s", root, p);
    return out;
}

int tl_imagelist_load(tl_dataset *train, tl_dataset *test, tl_dataset *val, const char *root, const char *train_list,
                      const char *test_list, const char *val_list, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(val, 0, sizeof *val);
    image_list l[3] = {{0}};
    const char *names[3] = {train_list, test_list, val_list};
    int nl = val_list ? 3 : 2, n = 0, rc = -1, k = 0;
    for (int s = 0; s < nl; s++) {
        if (list_read(&l[s], names[s], err)) goto out;
        n += l[s].n;
    }
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    int *labels = malloc(sizeof *labels * ((size_t)n + 1)), nsplit[3] = {0, 0, 0};
    if (!paths || !labels) { free(paths); free(labels); tl_fail(err, "out of memory for %d image paths", n); goto out; }
    for (int s = 0, i = 0; s < nl; s++)
        for (int j = 0; j < l[s].n; j++, i++) {
            if (!(paths[i] = list_path(root, l[s].paths[j], names[s], l[s].lines[j], err))) {
                for (int q = 0; q < i; q++) free(paths[q]);
                free(paths); free(labels);
                goto out;
            }
            labels[i] = l[s].labels[j];
            if (labels[i] >= k) k = labels[i] + 1;
            nsplit[s]++;
        }
    tl_dataset *split[3] = {train, test, val};
    rc = tl_images_from_paths(split, nsplit, nl, paths, labels, k, NULL, err);
    free(labels);
out:
    for (int s = 0; s < 3; s++) list_free(&l[s]);
    return rc;
}
