/* tailor predict: logits and probabilities of a run's model for the images or rows of one input, as
 * CSV on stdout: one row per image or row (its path for image files, else its index), the predicted
 * class index, C logits, C probabilities and, when the model has class names, the predicted class's
 * name. Inputs: a PNG or JPEG image or a folder of them (any size: the run's evaluation transform
 * brings them to the model's input), an IDX image file (gzip or raw), or a CSV file read with the
 * run's CSV settings: features only, or with the label column (whose values must be classes of the
 * model; they are not used otherwise). */
#include <stdio.h>
#include <stdlib.h>
#include "commands.h"
#include "tailor.h"

static const tl_option predict_opts[] = {
    {"run", NULL, "finished run folder", 0, 0, 0},
    {"input", NULL, "PNG/JPEG image or a folder of them, IDX image file, or CSV file (features only, or with the run's label column)", 0, 0, 0},
    {"label", "", "CSV: the label column (default: the run's, else the last)", 0, 0, 0},
    {"batch", "256", "batch size", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
};
#define NOPTS ((int)(sizeof predict_opts / sizeof *predict_opts))

int tl_cmd_predict(int argc, char **argv) {
    if (tl_options_help(argc, argv, predict_opts, NOPTS, "predict", "--run DIR --input FILE|FOLDER")) return 0;
    tl_error err = {{0}}, terr = {{0}};
    tl_options *o = tl_options_parse(predict_opts, NOPTS, argc, argv, "predict", &err);
    if (!o) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    tl_run *run = NULL;
    tl_data *in = NULL;
    float *logits = NULL, *probs = NULL;
    int *pred = NULL, status = 1;
    long batch, threads = 1;
    int bad_threads = tl_options_int(o, "threads", 1, 256, &threads, &terr);
    if (!(run = tl_run_open(tl_options_get(o, "run"), bad_threads ? 1 : (int)threads, &err)) ||
        tl_options_int(o, "batch", 1, 65536, &batch, &err))
        goto fail;
    if (bad_threads) { err = terr; goto fail; }
    if (tl_run_set_batch(run, (int)batch, &err) ||
        !(in = tl_data_open_input(run, tl_options_get(o, "input"), tl_options_get(o, "label"), &err)))
        goto fail;
    int C = tl_run_num_classes(run), n = tl_data_rows(in, TL_SPLIT_TEST);
    probs = malloc((size_t)n * C * sizeof *probs + 1);
    pred = malloc((size_t)n * sizeof *pred + 1);
    logits = malloc((size_t)n * C * sizeof *logits + 1);
    if (!probs || !pred || !logits) { snprintf(err.msg, sizeof err.msg, "out of memory"); goto fail; }
    if (tl_run_predict(run, in, TL_SPLIT_TEST, NULL, logits, probs, pred, &err)) goto fail;
    int files = n > 0 && tl_data_row_path(in, TL_SPLIT_TEST, 0) != NULL, names = tl_run_class_name(run, 0) != NULL;
    printf(files ? "path,pred" : "index,pred");
    for (int j = 0; j < C; j++) printf(",logit_%d", j);
    for (int j = 0; j < C; j++) printf(",prob_%d", j);
    if (names) fputs(",pred_name", stdout);   /* last, so the columns before keep their places */
    putchar('\n');
    for (int i = 0; i < n; i++) {
        if (files) tl_csv_cell(stdout, tl_data_row_path(in, TL_SPLIT_TEST, i));
        else printf("%d", i);
        printf(",%d", pred[i]);
        for (int j = 0; j < C; j++) printf(",%.7g", logits[(size_t)i * C + j]);
        for (int j = 0; j < C; j++) printf(",%.7g", probs[(size_t)i * C + j]);
        if (names) { putchar(','); tl_csv_cell(stdout, tl_run_class_name(run, pred[i])); }
        putchar('\n');
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "tailor: %s\n", err.msg);
done:
    free(logits); free(probs); free(pred);
    tl_data_free(in);
    tl_run_free(run);
    tl_options_free(o);
    return status;
}
