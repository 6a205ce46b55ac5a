/* tailor predict: logits and probabilities of a run's model for the images or rows of one file,
 * as CSV on stdout (index, predicted class, C logits, C probabilities). Inputs: an IDX image file
 * (gzip or raw), a PNG or JPEG image, or a CSV file in the run's training format (its label column
 * is ignored). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "models/model_io.h"
#include "train/trainer.h"

static const tl_optdef predict_opts[] = {
    {"run", NULL, "finished run folder", 0, 0},
    {"input", NULL, "IDX image file, PNG/JPEG image, or CSV file (with the run's label column)", 0, 0},
    {"label", "", "CSV: the label column (default: the run's, else the last)", 0, 0},
    {"batch", "256", "batch size", 0, 0},
    {"threads", "2", "threads", 0, 0},
};
#define NOPTS ((int)(sizeof predict_opts / sizeof *predict_opts))

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static int load_input(tl_dataset *d, const char *path, const char *label, tl_error *err) {
    if (ends_with(path, ".png") || ends_with(path, ".jpg") || ends_with(path, ".jpeg")) return tl_image_load(d, path, err);
    if (ends_with(path, ".csv")) {
        tl_dataset none;
        int rc = tl_csv_load(d, &none, path, NULL, *label ? label : NULL, err);
        tl_dataset_free(&none);
        return rc;
    }
    return tl_idx_load(d, path, NULL, err);
}

int tl_cmd_predict(int argc, char **argv) {
    if (tl_opts_help(argc, argv, predict_opts, NOPTS, "predict", "--run DIR --input FILE")) return 0;
    tl_error err = {{0}};
    tl_opts o;
    tl_model model = {0};
    tl_dataset in = {0};
    float *mean = NULL, *std = NULL, *probs = NULL;
    int *pred = NULL, status = 1;
    long batch, threads;
    char path[4200];
    if (tl_opts_parse(&o, predict_opts, NOPTS, argc, argv, "predict", &err)) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (tl_run_check(tl_opt(&o, "run"), &err) || tl_opt_int(&o, "batch", 1, 65536, &batch, &err) || tl_opt_int(&o, "threads", 1, 256, &threads, &err) ||
        tl_path_join(path, sizeof path, tl_opt(&o, "run"), "model.safetensors", &err) ||
        tl_model_load(&model, path, (int)batch, (int)threads, &mean, &std, &err) ||
        load_input(&in, tl_opt(&o, "input"), tl_opt(&o, "label"), &err))
        goto fail;
    if (in.c != model.cfg.in_c || in.h != model.cfg.in_h || in.w != model.cfg.in_w) {
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
    printf("index,pred");
    for (int j = 0; j < C; j++) printf(",logit_%d", j);
    for (int j = 0; j < C; j++) printf(",prob_%d", j);
    putchar('\n');
    for (int i = 0; i < in.n; i++) {
        printf("%d,%d", i, pred[i]);
        for (int j = 0; j < C; j++) printf(",%.7g", logits[(size_t)i * C + j]);
        for (int j = 0; j < C; j++) printf(",%.7g", probs[(size_t)i * C + j]);
        putchar('\n');
    }
    free(logits);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "tailor: %s\n", err.msg);
done:
    free(mean); free(std); free(probs); free(pred);
    tl_dataset_free(&in);
    tl_model_free(&model);
    tl_opts_free(&o);
    return status;
}
