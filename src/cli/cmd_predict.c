/* tailor predict: logits and probabilities of a run's model for the images or rows of one input, as
 * CSV on stdout: one row per image or row (its path for image files, else its index), the predicted
 * class index, C logits, C probabilities and, when the run's report names its classes, the predicted
 * class's name.
 * Inputs: a PNG or JPEG image or a folder of them (any size: the run's evaluation transform brings them
 * to the model's input), an IDX image file (gzip or raw), or a CSV file in the run's training format
 * (its label column is ignored). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/json.h"
#include "data/file.h"
#include "models/model_io.h"
#include "train/trainer.h"

static const tl_optdef predict_opts[] = {
    {"run", NULL, "finished run folder", 0, 0},
    {"input", NULL, "PNG/JPEG image or a folder of them, IDX image file, or CSV file (with the run's label column)", 0, 0},
    {"label", "", "CSV: the label column (default: the run's, else the last)", 0, 0},
    {"batch", "256", "batch size", 0, 0},
    {"threads", "2", "threads", 0, 0},
};
#define NOPTS ((int)(sizeof predict_opts / sizeof *predict_opts))

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* A folder or an image (by content) gives image files; .csv a CSV; anything else an IDX file. */
static int load_input(tl_dataset *d, const char *path, const char *label, tl_error *err) {
    struct stat st;
    unsigned char head[8] = {0};
    FILE *f = stat(path, &st) == 0 && !S_ISDIR(st.st_mode) ? fopen(path, "rb") : NULL;
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if ((stat(path, &st) == 0 && S_ISDIR(st.st_mode)) || tl_image_sniff(head, n) != TL_IMAGE_NONE)
        return tl_image_files_load(d, path, NULL, err);
    if (ends_with(path, ".csv")) {
        tl_dataset none;
        int rc = tl_csv_load(d, &none, path, NULL, *label ? label : NULL, err);
        tl_dataset_free(&none);
        return rc;
    }
    return tl_idx_load(d, path, NULL, err);
}

/* The class names of a run, from its report.json (NULL when it has none). */
static char **run_class_names(const char *dir, int C) {
    char path[4200];
    unsigned char *buf;
    int64_t len;
    tl_error e = {{0}};
    if (tl_path_join(path, sizeof path, dir, "report.json", &e) || tl_file_read(&buf, &len, path, &e)) return NULL;
    tl_json *root = tl_json_parse((const char *)buf, (size_t)len, path, &e);
    free(buf);
    const tl_json *pc = root ? tl_json_get(root, "per_class") : NULL;
    char **names = pc && pc->type == TL_JSON_ARRAY && pc->count == C ? calloc((size_t)C, sizeof *names) : NULL;
    int k = 0;
    for (const tl_json *c = names ? pc->child : NULL; c; c = c->next, k++) {
        const tl_json *nm = tl_json_get(c, "name");
        if (!nm || nm->type != TL_JSON_STRING || !(names[k] = strdup(nm->str))) break;
    }
    if (names && k < C) { for (int i = 0; i < k; i++) free(names[i]); free(names); names = NULL; }
    tl_json_free(root);
    return names;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s) {
    if (!strpbrk(s, ",\"\r\n")) { fputs(s, stdout); return; }
    putchar('"');
    for (; *s; s++) { if (*s == '"') putchar('"'); putchar(*s); }
    putchar('"');
}

int tl_cmd_predict(int argc, char **argv) {
    if (tl_opts_help(argc, argv, predict_opts, NOPTS, "predict", "--run DIR --input FILE")) return 0;
    tl_error err = {{0}};
    tl_opts o;
    tl_model model = {0};
    tl_dataset in = {0};
    tl_opts run = {0};
    tl_input input;
    char **names = NULL;
    float *mean = NULL, *std = NULL, *probs = NULL;
    int *pred = NULL, status = 1;
    long batch, threads;
    char path[4200];
    if (tl_opts_parse(&o, predict_opts, NOPTS, argc, argv, "predict", &err)) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (tl_opt_int(&o, "batch", 1, 65536, &batch, &err) || tl_opt_int(&o, "threads", 1, 256, &threads, &err) ||
        tl_path_join(path, sizeof path, tl_opt(&o, "run"), "model.safetensors", &err) ||
        tl_model_load(&model, path, (int)batch, (int)threads, &mean, &std, &err) ||
        load_input(&in, tl_opt(&o, "input"), tl_opt(&o, "label"), &err) ||
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
    names = run_class_names(tl_opt(&o, "run"), C);
    int files = in.images && tl_images_path(in.images, 0) != NULL;
    printf(files ? "path,pred" : "index,pred");
    for (int j = 0; j < C; j++) printf(",logit_%d", j);
    for (int j = 0; j < C; j++) printf(",prob_%d", j);
    if (names) printf(",class");   /* last, so the columns of runs without names keep their places */
    putchar('\n');
    for (int i = 0; i < in.n; i++) {
        if (files) csv_field(tl_images_path(in.images, in.file[i]));
        else printf("%d", i);
        printf(",%d", pred[i]);
        for (int j = 0; j < C; j++) printf(",%.7g", logits[(size_t)i * C + j]);
        for (int j = 0; j < C; j++) printf(",%.7g", probs[(size_t)i * C + j]);
        if (names) { putchar(','); csv_field(names[pred[i]]); }
        putchar('\n');
    }
    free(logits);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "tailor: %s\n", err.msg);
done:
    if (names) for (int j = 0; j < model.cfg.num_classes; j++) free(names[j]);
    free(names);
    free(mean); free(std); free(probs); free(pred);
    tl_opts_free(&run);
    tl_dataset_free(&in);
    tl_model_free(&model);
    tl_opts_free(&o);
    return status;
}
