/* tl_data_open_input: the rows tailor predict reads (an image or a folder of them, a CSV file with the
 * run's CSV settings, an IDX file), made ready for a run's model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "run/handles.h"
#include "core/error.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* A CSV input: the run's CSV keys (label column, header, row names; csv:... in its config.json),
 * the model's classes for text labels, and no label column when it has exactly the model's features. */
static int load_csv_input(tl_dataset *d, const char *path, const char *label, const tl_opts *run, const char *run_dir,
                          const tl_model *m, char *const *names, tl_error *err) {
    const char *spec = tl_opt(run, "data"), *paths[2];
    char buf[8192], **unused = NULL;
    tl_csv_opts co = {.header = -1};
    int rc = 0;
    if (!strncmp(spec, "csv:", 4)) {
        if ((size_t)snprintf(buf, sizeof buf, "%s", spec + 4) >= sizeof buf) rc = tl_fail(err, "--run %s: its --data is too long", run_dir);
        else if (tl_csv_spec_parse(buf, paths, &co, &unused, err)) rc = tl_fail_prefix(err, "--run %s: --data %s", run_dir, spec);
    }
    co.classes = (const char *const *)names;
    co.nclasses = names ? m->cfg.num_classes : 0;
    co.na = TL_CSV_NA_ERROR;   /* no row may go missing from the output, nor be filled from these rows */
    co.nfeatures = m->cfg.in_c;
    if (*label) co.label = label;
    tl_dataset none = {0};
    if (!rc) rc = tl_csv_load_opts(d, &none, path, NULL, &co, err);
    tl_dataset_free(&none);
    free(unused);
    for (int i = 0; !rc && i < d->n; i++)
        if (d->y[i] >= m->cfg.num_classes)
            rc = tl_fail(err, "--input %s: row %d has label %d, not a class of the model (0..%d)", path, i + 1, d->y[i],
                         m->cfg.num_classes - 1);
    if (rc) tl_dataset_free(d);
    return rc;
}

/* A folder or an image (by content) gives image files; .csv a CSV; anything else an IDX file. */
static int load_input(tl_dataset *d, const char *path, const char *label, const tl_opts *run, const char *run_dir,
                      const tl_model *m, char *const *names, tl_error *err) {
    struct stat st;
    unsigned char head[8] = {0};
    int folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    FILE *f = folder ? NULL : fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (folder || tl_image_sniff(head, n) != TL_IMAGE_NONE) return tl_image_files_load(d, path, NULL, err);
    if (ends_with(path, ".csv")) return load_csv_input(d, path, label, run, run_dir, m, names, err);
    return tl_idx_load(d, path, NULL, err);
}

tl_data *tl_data_open_input(const tl_run *r, const char *path, const char *label, tl_error *err) {
    const tl_model *m = &r->model;
    tl_data *d = calloc(1, sizeof *d);
    if (!d) { tl_fail(err, "out of memory"); return NULL; }
    tl_dataset *in = &d->b.test;
    int rc = load_input(in, path ? path : "", label ? label : "", &r->cfg.o, r->dir ? r->dir : "(the run)", m,
                        r->class_names, err);
    if (!rc) rc = tl_input_for_predict(&d->b.input, in, &r->cfg.o, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w, err);
    if (!rc && !in->images && (in->c != m->cfg.in_c || in->h != m->cfg.in_h || in->w != m->cfg.in_w))
        rc = tl_fail(err, "--input %s: shape %dx%dx%d does not match the model's %dx%dx%d", path, in->c, in->h, in->w,
                     m->cfg.in_c, m->cfg.in_h, m->cfg.in_w);
    if (rc) { tl_data_free(d); return NULL; }
    d->images = in->images != NULL;
    d->input_set = 1;
    return d;
}

const char *tl_data_row_path(const tl_data *d, int split, int i) {
    const tl_dataset *sets[4] = {&d->b.train, &d->b.val, &d->b.test, &d->b.unknown};
    if (split < 0 || split > TL_SPLIT_UNKNOWN) return NULL;
    const tl_dataset *s = sets[split];
    return s->images && i >= 0 && i < s->n ? tl_images_path(s->images, s->file[i]) : NULL;
}

void tl_csv_cell(FILE *f, const char *s) { tl_csv_write_cell(f, s); }
