/* tailor plot: figures of what a finished run's head learned.
 *   tailor plot embedding --run DIR   the 2-D features (a run trained with --feat-dim 2) of its test
 *                                     (or training) images coloured by class, with the class weight
 *                                     directions and/or centres of its head -> DIR/embedding.png
 *   tailor plot weights --run DIR     the norm of each class's weight vector against the class's
 *                                     training count -> DIR/weight_norms.png */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "run/train.h"
#include "run/bundle.h"
#include "run/run_dir.h"
#include "core/error.h"
#include "train/trainer.h"
#include "eval/plot_embedding.h"
#include "models/model_io.h"

static const tl_optdef plot_opts[] = {
    {"run", NULL, "finished run folder", 0, 0, 0},
    {"out", "", "PNG to write (default RUN/embedding.png or RUN/weight_norms.png)", 0, 0, 0},
    {"split", "test", "embedding: the images to draw, test or train (the long-tailed training view)", 0, 0, 0},
    {"max-points", "6000", "embedding: draw at most this many images (an even subsample)", 0, 0, 0},
    {"batch", "256", "batch size", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
};
#define NOPTS ((int)(sizeof plot_opts / sizeof *plot_opts))

/* Features [n, D] (eval mode) of rows idx[0..n) of d. Returns a malloc'ed array or NULL. */
static float *features(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                       tl_error *err) {
    float *out = malloc((size_t)n * m->cfg.feat_dim * sizeof *out);
    if (!out) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_eval_features(m, d, idx, n, mean, std, out, err)) { free(out); return NULL; }
    return out;
}

static int plot_embedding(const tl_opts *o, tl_model *m, const tl_data_bundle *data, const float *mean,
                          const float *std, const char *out, tl_error *err) {
    const char *dir = tl_opt(o, "run"), *split = tl_opt(o, "split");
    long maxp;
    if (tl_opt_int(o, "max-points", 1, 100000000, &maxp, err)) return -1;
    if (strcmp(split, "test") && strcmp(split, "train")) return tl_fail(err, "--split: '%s' is not test or train", split);
    if (m->cfg.feat_dim != 2)
        return tl_fail(err, "--run %s: its features are %d-dimensional; the embedding plot needs a run trained with --feat-dim 2",
                       dir, m->cfg.feat_dim);
    const tl_dataset *d = !strcmp(split, "train") ? &data->train : data->test.n ? &data->test : &data->val;
    if (d->n == 0) return tl_fail(err, "--run %s: no %s images", dir, split);
    int step = (int)((d->n + maxp - 1) / maxp), n = (d->n + step - 1) / step, C = m->cfg.num_classes;
    int *idx = malloc((size_t)n * sizeof *idx), *y = malloc((size_t)n * sizeof *y);
    float *dirs = NULL, *centres = NULL;
    int *cc = NULL, k = 0, rc = -1;
    if (!idx || !y) { tl_fail(err, "out of memory"); goto done; }
    for (int i = 0; i < n; i++) { idx[i] = i * step; y[i] = d->y[i * step]; }
    float *feat = features(m, d, idx, n, mean, std, err);
    if (!feat) goto done;
    const tl_tensor_info *w = tl_model_find(m, "head.weight"), *c = tl_model_find(m, "head.centres");
    if (w) dirs = m->params + w->off;
    if (c) {   /* affinity's learned centres [C, M, 2], or UniformFace's centre buffer [C, 2] */
        k = (int)(c->numel / 2);
        centres = (c->is_state ? m->state : m->params) + c->off;
        cc = malloc((size_t)k * sizeof *cc);
        if (!cc) { free(feat); tl_fail(err, "out of memory"); goto done; }
        for (int j = 0; j < k; j++) cc[j] = j / (k / C);
    }
    char title[300];
    snprintf(title, sizeof title, "2-D features (%s images), head %s", split, m->cfg.head);
    rc = tl_plot_embedding(out, feat, y, n, C, dirs, centres, cc, k, (const char *const *)d->class_names, title, err);
    free(feat);
done:
    free(idx); free(y); free(cc);
    return rc;
}

static int plot_weights(const tl_opts *o, tl_model *m, const tl_data_bundle *data, const char *out, tl_error *err) {
    const tl_tensor_info *w = tl_model_find(m, "head.weight");
    if (!w || w->ndim != 2) return tl_fail(err, "--run %s: head '%s' has no class weight vectors", tl_opt(o, "run"), m->cfg.head);
    int C = w->shape[0], D = w->shape[1];
    double *norms = malloc((size_t)C * sizeof *norms);
    if (!norms) return tl_fail(err, "out of memory");
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int j = 0; j < D; j++) { double v = m->params[w->off + (size_t)c * D + j]; s += v * v; }
        norms[c] = sqrt(s);
    }
    char title[300];
    snprintf(title, sizeof title, "Class weight norms, head %s", m->cfg.head);
    int rc = tl_plot_weight_norms(out, norms, data->train_count, C, (const char *const *)data->train.class_names, title, err);
    free(norms);
    return rc;
}

int tl_cmd_plot(int argc, char **argv) {
    const char *synopsis = "embedding|weights --run DIR [options]";
    if (argc < 1 || (strcmp(argv[0], "embedding") && strcmp(argv[0], "weights"))) {
        if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
            tl_opts_usage(plot_opts, NOPTS, "plot", synopsis, stdout);
            return 0;
        }
        fprintf(stderr, "tailor: plot: give a figure: embedding or weights (tailor plot --help)\n");
        return 2;
    }
    const char *what = argv[0];
    if (tl_opts_help(argc - 1, argv + 1, plot_opts, NOPTS, "plot", synopsis)) return 0;
    tl_error err = {{0}};
    tl_opts o, run = {0};
    tl_data_bundle data = {0};
    tl_model model = {0};
    float *mean = NULL, *std = NULL;
    char path[4200], out[4200];
    long batch, threads, val;
    int status = 1, run_lock = -1;
    if (tl_opts_parse(&o, plot_opts, NOPTS, argc - 1, argv + 1, "plot", &err)) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    const char *dir = tl_opt(&o, "run");
    if (tl_run_check(dir, &err) || tl_train_settings(&run, dir, &err) ||
        tl_opt_int(&o, "batch", 1, 65536, &batch, &err) || tl_opt_int(&o, "threads", 1, 256, &threads, &err) ||
        tl_opt_int(&run, "val", 0, 1000000, &val, &err) ||
        tl_bundle_load(&data, tl_opt(&run, "data"), tl_opt(&run, "lt"), val, &err) ||
        tl_bundle_input(&data, &run, &err) ||
        tl_path_join(path, sizeof path, dir, "model.safetensors", &err) ||
        tl_model_load(&model, path, (int)batch, (int)threads, &mean, &std, &err))
        goto done;
    if (*tl_opt(&o, "out")) snprintf(out, sizeof out, "%s", tl_opt(&o, "out"));
    else if (tl_path_join(out, sizeof out, dir, strcmp(what, "weights") ? "embedding.png" : "weight_norms.png", &err) ||
             tl_dir_lock(&run_lock, dir, "--run", &err))  /* the figure goes into the run: one writer at a time */
        goto done;
    if (strcmp(what, "weights") ? plot_embedding(&o, &model, &data, mean, std, out, &err)
                                : plot_weights(&o, &model, &data, out, &err))
        goto done;
    printf("%s\n", out);
    status = 0;
done:
    if (status) fprintf(stderr, "tailor: %s\n", err.msg);
    tl_dir_unlock(&run_lock);
    free(mean);
    free(std);
    tl_model_free(&model);
    tl_bundle_free(&data);
    tl_opts_free(&run);
    tl_opts_free(&o);
    return status;
}
