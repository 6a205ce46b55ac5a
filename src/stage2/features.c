/* Features of a data set through a frozen backbone, and the head-only "feature model" that stage 2
 * trains with the ordinary trainer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/trainer.h"
#include "stage2/stage2.h"

int tl_stage2_features(tl_dataset *out, tl_model *m, const tl_dataset *d, const float *mean, const float *std,
                       tl_error *err) {
    memset(out, 0, sizeof *out);
    if (tl_dataset_alloc(out, d->n, m->cfg.feat_dim, 1, 1, d->num_classes, "features", err)) return -1;
    memcpy(out->y, d->y, (size_t)d->n * sizeof *d->y);
    int rc = tl_eval_features(m, d, NULL, 0, mean, std, out->x, err);
    if (rc) tl_dataset_free(out);
    return rc;
}

int tl_stage2_feature_model(tl_model *fm, int D, int C, const char *head, int N, int nthreads, uint64_t seed,
                            tl_error *err) {
    tl_model_cfg cfg;
    if (tl_model_cfg_default(&cfg, "mlp", D, 1, 1, C, err)) return -1;
    cfg.nhidden = 0;
    cfg.feat_dim = D;
    if ((size_t)snprintf(cfg.head, sizeof cfg.head, "%s", head) >= sizeof cfg.head) return tl_fail(err, "head spec too long");
    return tl_model_init(fm, &cfg, N, nthreads, seed, err);
}

int tl_stage2_train_head(tl_model *fm, const tl_dataset *train, const tl_dataset *val, const int64_t *count,
                         const tl_stage2_cfg *cfg, int epochs, tl_error *err) {
    tl_sampler sampler;
    tl_loss loss;
    tl_trainer tr;
    tl_train_cfg tcfg = {.epochs = epochs, .batch = fm->N, .threads = cfg->threads, .seed = cfg->seed,
                         .optim = cfg->optim, .sched = cfg->sched};
    if (tl_sampler_create(&sampler, cfg->sampler, train->y, train->n, train->num_classes, count, epochs, err))
        return -1;
    if (sampler.ops->prepare) {
        tl_sampler_destroy(&sampler);
        return tl_fail(err, "--sampler %s: samplers that change the training set are not available in stage 2", cfg->sampler);
    }
    if (tl_loss_create(&loss, "ce", train->num_classes, count, &fm->head, err)) { tl_sampler_destroy(&sampler); return -1; }
    int rc = tl_trainer_init(&tr, fm, &loss, &sampler, &tcfg, train, err);
    if (!rc) {
        /* Features are used as they are: no per-dimension standardisation. */
        for (int j = 0; j < train->c; j++) { tr.mean[j] = 0; tr.std[j] = 1; }
        rc = tl_trainer_run(&tr, train, val && val->n ? val : NULL, cfg->ckpt_path, cfg->hooks, err);
        if (rc > 0) rc = tl_fail(err, "tailor retrain: stopped");
        tl_trainer_free(&tr);
    }
    tl_loss_destroy(&loss);
    tl_sampler_destroy(&sampler);
    return rc;
}
