/* tl_retrain: stage 2 of the public API, on a run and a data set in memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/predict.h"
#include "run/retrain.h"
#include "core/error.h"

/* The options of tailor retrain from name/value pairs (the command's own ones refused). */
static int retrain_opts(tl_opts *o, const char *const *pairs, tl_error *err) {
    if (tl_opts_defaults(o, tl_retrain_optdefs, tl_retrain_noptdefs, err)) return -1;
    for (int i = 0; pairs && pairs[i]; i += 2) {
        int k = tl_opt_find(o, pairs[i]);
        if (!pairs[i + 1]) return tl_fail(err, "tl_retrain: option '%s' has no value", pairs[i]);
        if (k < 0 || tl_retrain_optdefs[k].command_only || !strcmp(pairs[i], "method"))
            return tl_fail(err, "tl_retrain: unknown option '%s' (valid: sampler, epochs, batch, optim, schedule, seed, threads)", pairs[i]);
        if (tl_opt_set(o, pairs[i], pairs[i + 1], err)) return -1;
    }
    return 0;
}

/* The new run: the stage-2 model, r's normalisation, d's counts and names, r's options with the head. */
static int fill(tl_run *n, const tl_run *r, const tl_data *d, const tl_stage2 *s, tl_error *err) {
    int c = r->model.cfg.in_c, C = r->model.cfg.num_classes;
    n->threads = r->threads;
    n->bn_steps = r->bn_steps;
    n->train_seconds = n->images_per_second = NAN;
    n->mean = malloc((size_t)c * sizeof *n->mean);
    n->std = malloc((size_t)c * sizeof *n->std);
    n->train_count = malloc((size_t)C * sizeof *n->train_count);
    if (!n->mean || !n->std || !n->train_count) return tl_fail(err, "out of memory");
    memcpy(n->mean, r->mean, (size_t)c * sizeof *n->mean);
    memcpy(n->std, r->std, (size_t)c * sizeof *n->std);
    memcpy(n->train_count, d->b.train_count, (size_t)C * sizeof *n->train_count);
    if (tl_strings_copy(&n->class_names, r->class_names, C, err) || tl_opts_copy(&n->cfg.o, &r->cfg.o, err)) return -1;
    return tl_opt_set(&n->cfg.o, "head", s->head, err);
}

tl_run *tl_retrain(tl_run *r, tl_data *d, const char *method, const char *const *options, tl_error *err) {
    tl_opts o = {0};
    tl_stage2_cfg cfg;
    tl_stage2 s;
    tl_dataset ftrain = {0}, fval = {0};
    tl_run *n = calloc(1, sizeof *n);
    if (!n) { tl_fail(err, "out of memory"); return NULL; }
    int rc = method ? 0 : tl_fail(err, "--method: no stage-2 method given (crt, ncm, tau, lws)");
    if (!rc) rc = retrain_opts(&o, options, err) || tl_retrain_cfg(&o, &cfg, err) ||
                  tl_stage2_create(&s, method, &r->model, err) || tl_run_data_input(r, d, err);
    if (!rc && d->b.train.num_classes != r->model.cfg.num_classes)
        rc = tl_fail(err, "tl_retrain: the data set has %d classes, the run's model %d", d->b.train.num_classes,
                     r->model.cfg.num_classes);
    if (!rc) rc = tl_stage2_features(&ftrain, &r->model, &d->b.train, r->mean, r->std, err) ||
                  (d->b.val.n && tl_stage2_features(&fval, &r->model, &d->b.val, r->mean, r->std, err));
    if (!rc) rc = tl_stage2_run(&s, &n->model, &r->model, &ftrain, &fval, d->b.train_count, &cfg, 256, err);
    if (!rc) rc = fill(n, r, d, &s, err);
    tl_dataset_free(&ftrain);
    tl_dataset_free(&fval);
    tl_opts_free(&o);
    if (rc) { tl_run_free(n); return NULL; }
    return n;
}
