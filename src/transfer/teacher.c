#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "models/model_io.h"
#include "transfer/teacher.h"

int tl_teacher_open(tl_teacher *t, const char *dir, const tl_model *like, int same_classes, int nthreads,
                    tl_error *err) {
    memset(t, 0, sizeof *t);
    if ((size_t)snprintf(t->path, sizeof t->path, "%s/model.safetensors", dir) >= sizeof t->path)
        return tl_fail(err, "--teacher: path too long");
    if (tl_model_load(&t->model, t->path, like->N, nthreads, &t->mean, &t->std, err))
        return tl_fail_prefix(err, "--teacher");
    const tl_model_cfg *a = &t->model.cfg, *b = &like->cfg;
    if (a->in_c != b->in_c || a->in_h != b->in_h || a->in_w != b->in_w) {
        tl_fail(err, "--teacher %s: its model takes %dx%dx%d inputs, the data set has %dx%dx%d", dir, a->in_c, a->in_h,
                a->in_w, b->in_c, b->in_h, b->in_w);
        tl_teacher_close(t);
        return -1;
    }
    if (same_classes && a->num_classes != b->num_classes) {
        tl_fail(err, "--teacher %s: its model has %d classes, the data set %d", dir, a->num_classes, b->num_classes);
        tl_teacher_close(t);
        return -1;
    }
    return 0;
}

void tl_teacher_close(tl_teacher *t) {
    tl_model_free(&t->model);
    free(t->mean);
    free(t->std);
    memset(t, 0, sizeof *t);
}

int tl_teacher_forward(tl_teacher *t, const float *x, tl_error *err) {
    const float *mean_s = t->student_mean, *std_s = t->student_std;
    tl_model *m = &t->model;
    int c = m->cfg.in_c;
    size_t plane = (size_t)m->cfg.in_h * m->cfg.in_w;
    float *in = tl_model_input(m);
    /* x_t = (x_s·std_s + mean_s − mean_t) / std_t, per channel */
    for (int n = 0; n < m->N; n++)
        for (int ch = 0; ch < c; ch++) {
            float a = std_s[ch] / t->std[ch], b = (mean_s[ch] - t->mean[ch]) / t->std[ch];
            const float *src = x + ((size_t)n * c + ch) * plane;
            float *dst = in + ((size_t)n * c + ch) * plane;
            for (size_t i = 0; i < plane; i++) dst[i] = a * src[i] + b;
        }
    return tl_model_forward(m, 0, NULL, NULL, err) ? tl_fail_prefix(err, "--teacher %s", t->path) : 0;
}

int tl_teacher_for_hook(tl_teacher *t, const tl_spec *spec, const tl_hook_env *env, int same_classes, tl_error *err) {
    if (!env->teacher || !*env->teacher) return tl_fail(err, "%s %s needs --teacher DIR", spec->option, spec->name);
    if (tl_teacher_open(t, env->teacher, env->model, same_classes, env->threads, err)) return -1;
    t->student_mean = env->mean;
    t->student_std = env->std;
    return 0;
}
