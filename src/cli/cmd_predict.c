/* tailor predict: logits and probabilities of a run's model for the images or rows of one input, as
 * CSV on stdout: one row per image or row (its path for image files, else its index), the predicted
 * class index, C logits, C probabilities and, when the model has class names, the predicted class's
 * name. Inputs: a PNG or JPEG image or a folder of them (any size: the run's evaluation transform
 * brings them to the model's input), an IDX image file (gzip or raw), or a CSV file read with the
 * run's CSV settings: features only, or with the label column (whose values must be classes of the
 * model; they are not used otherwise). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "commands.h"
#include "run/train.h"
#include "run/bundle.h"
#include "core/error.h"
#include "models/model_io.h"
#include "train/trainer.h"

static const tl_optdef predict_opts[] = {
    {"run", NULL, "finished run folder", 0, 0, 0},
    {"input", NULL, "PNG/JPEG image or a folder of them, IDX image file, or CSV file (features only, or with the run's label column)", 0, 0, 0},
    {"label", "", "CSV: the label column (default: the run's, else the last)", 0, 0, 0},
    {"batch", "256", "batch size", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
};
#define NOPTS ((int)(sizeof predict_opts / sizeof *predict_opts))

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* A CSV input: the run's CSV keys (label column, header, row names; csv:... in its config.json),
 * the model's classes for text labels, and no label column when it has exactly the model's features. */
static int load_csv_input(tl_dataset *d, const char *path, const char *label, const char *run_dir,
                          const tl_model *m, char *const *names, tl_error *err) {
    tl_opts run;
    if (tl_train_settings(&run, run_dir, err)) return -1;
    const char *spec = tl_opt(&run, "data"), *paths[2];
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
    tl_opts_free(&run);
    for (int i = 0; !rc && i < d->n; i++)
        if (d->y[i] >= m->cfg.num_classes)
            rc = tl_fail(err, "--input %s: row %d has label %d, not a class of the model (0..%d)", path, i + 1, d->y[i],
                         m->cfg.num_classes - 1);
    if (rc) tl_dataset_free(d);
    return rc;
}

/* A folder or an image (by content) gives image files; .csv a CSV; anything else an IDX file. */
static int load_input(tl_dataset *d, const char *path, const char *label, const char *run_dir, const tl_model *m,
                      char *const *names, tl_error *err) {
    struct stat st;
    unsigned char head[8] = {0};
    int folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    FILE *f = folder ? NULL : fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (folder || tl_image_sniff(head, n) != TL_IMAGE_NONE) return tl_image_files_load(d, path, NULL, err);
    if (ends_with(path, ".csv")) return load_csv_input(d, path, label, run_dir, m, names, err);
    return tl_idx_load(d, path, NULL, err);
}

int tl_cmd_predict(int argc, char **argv) {
    if (tl_opts_help(argc, argv, predict_opts, NOPTS, "predict", "--run DIR --input FILE|FOLDER")) return 0;
    tl_error err = {{0}};
    tl_opts o;
    tl_model model = {0};
    tl_dataset in = {0};
    tl_opts run = {0};
    tl_input input;
    float *mean = NULL, *std = NULL, *probs = NULL;
    char **names = NULL;
    int *pred = NULL, status = 1;
    long batch, threads;
    char path[4200];
    if (tl_opts_parse(&o, predict_opts, NOPTS, argc, argv, "predict", &err)) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (tl_run_check(tl_opt(&o, "run"), &err) || tl_opt_int(&o, "batch", 1, 65536, &batch, &err) || tl_opt_int(&o, "threads", 1, 256, &threads, &err) ||
        tl_path_join(path, sizeof path, tl_opt(&o, "run"), "model.safetensors", &err) ||
        tl_model_load(&model, path, (int)batch, (int)threads, &mean, &std, &err) ||
        tl_model_load_names(&names, path, model.cfg.num_classes, &err) ||
        load_input(&in, tl_opt(&o, "input"), tl_opt(&o, "label"), tl_opt(&o, "run"), &model, names, &err) ||
        (in.images && tl_train_settings(&run, tl_opt(&o, "run"), &err)) ||
        tl_input_for_predict(&input, &in, &run, model.cfg.in_c, model.cfg.in_h, model.cfg.in_w, &err))
        goto fail;
    if (!in.images && (in.c != model.cfg.in_c || in.h != model.cfg.in_h || in.w != model.cfg.in_w)) {
        tl_fail(&err, "--input %s: shape %dx%dx%d does not match the model's %dx%dx%d", tl_opt(&o, "input"), in.c, in.h,
                in.w, model.cfg.in_c, model.cfg.in_h, model.cfg.in_w);
        goto fail;
    }
    int C = model.cfg.num_classes;
    probs = malloc((size_t)in.n * C * sizeof *probs);
    pred = malloc((size_t)in.n * sizeof *pred);
    float *logits = malloc((size_t)in.n * C * sizeof *logits);
    if (!probs || !pred || !logits) { free(logits); tl_fail(&err, "out of memory"); goto fail; }
    if (tl_predict(&model, &in, mean, std, logits, probs, pred, &err)) { free(logits); goto fail; }
    int files = in.images && tl_images_path(in.images, 0) != NULL;
    printf(files ? "path,pred" : "index,pred");
    for (int j = 0; j < C; j++) printf(",logit_%d", j);
    for (int j = 0; j < C; j++) printf(",prob_%d", j);
    if (names) fputs(",pred_name", stdout);   /* last, so the columns before keep their places */
    putchar('\n');
    for (int i = 0; i < in.n; i++) {
        if (files) tl_csv_write_cell(stdout, tl_images_path(in.images, in.file[i]));
        else printf("%d", i);
        printf(",%d", pred[i]);
        for (int j = 0; j < C; j++) printf(",%.7g", logits[(size_t)i * C + j]);
        for (int j = 0; j < C; j++) printf(",%.7g", probs[(size_t)i * C + j]);
        if (names) { putchar(','); tl_csv_write_cell(stdout, names[pred[i]]); }
        putchar('\n');
    }
    free(logits);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "tailor: %s\n", err.msg);
done:
    for (int j = 0; names && j < model.cfg.num_classes; j++) free(names[j]);
    free(names);
    free(mean); free(std); free(probs); free(pred);
    tl_opts_free(&run);
    tl_dataset_free(&in);
    tl_model_free(&model);
    tl_opts_free(&o);
    return status;
}
