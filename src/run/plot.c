/* Figures of a run: its 2-D feature embedding with the class directions (and centres), and its
 * per-class weight norms against the training counts (tailor plot). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/predict.h"
#include "core/error.h"
#include "eval/plot_embedding.h"
#include "train/trainer.h"

/* Features [n, D] (eval mode) of rows idx[0..n) of d. Returns a malloc'ed array or NULL. */
static float *features(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                       tl_error *err) {
    float *out = malloc((size_t)n * m->cfg.feat_dim * sizeof *out);
    if (!out) { tl_fail(err, "out of memory"); return NULL; }
    if (tl_eval_features(m, d, idx, n, mean, std, out, err)) { free(out); return NULL; }
    return out;
}

int tl_run_plot_embedding(tl_run *r, tl_data *set, int which, int max_points, const char *out, tl_error *err) {
    tl_model *m = &r->model;
    const tl_data_bundle *data = &set->b;
    const float *mean = r->mean, *std = r->std;
    const char *dir = r->dir ? r->dir : "(in memory)", *split = which == TL_SPLIT_TRAIN ? "train" : "test";
    long maxp = max_points;
    if (which != TL_SPLIT_TRAIN && which != TL_SPLIT_TEST) return tl_fail(err, "--split: %d is not TL_SPLIT_TRAIN or TL_SPLIT_TEST", which);
    if (maxp < 1) return tl_fail(err, "--max-points: '%d' is not an integer in 1..100000000", max_points);
    if (tl_run_data_input(r, set, err)) return -1;
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

int tl_run_plot_weights(tl_run *r, const tl_data *set, const char *out, tl_error *err) {
    const tl_model *m = &r->model;
    const tl_data_bundle *data = &set->b;
    const tl_tensor_info *w = tl_model_find(m, "head.weight");
    if (!w || w->ndim != 2) return tl_fail(err, "--run %s: head '%s' has no class weight vectors", r->dir ? r->dir : "(in memory)", m->cfg.head);
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

