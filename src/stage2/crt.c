/* Classifier re-training (methods.md §8.1): a new linear head with nn.Linear's default init
 * (U(±1/√D) for weight and bias), trained on the frozen features with CE and a class-balanced
 * sampler (default the class-aware sampler, 4 items per class visit). Reference recipe: SGD
 * momentum 0.9, lr 0.2 cosine to 0, weight decay 5e-4, batch 512, 10 epochs of ⌊N_tr/512⌋ steps. */
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "stage2/stage2.h"

static int crt_create(tl_stage2 *s, tl_spec *spec, const tl_model *src, tl_error *err) {
    (void)spec; (void)src; (void)err;
    snprintf(s->head, sizeof s->head, "linear");
    return 0;
}

static int crt_fit(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                   const int64_t *count, const tl_stage2_cfg *cfg, tl_error *err) {
    (void)src;
    tl_model fm;
    int B = cfg->batch < train->n ? cfg->batch : train->n, D = train->c, C = train->num_classes;
    s->epochs = cfg->epochs ? cfg->epochs : s->ops->default_epochs;
    if (tl_stage2_feature_model(&fm, D, C, "linear", B, cfg->threads, cfg->seed, err)) return -1;
    int rc = tl_stage2_train_head(&fm, train, val, count, cfg, s->epochs, err);
    const tl_tensor_info *fw = tl_model_find(&fm, "head.weight"), *fb = tl_model_find(&fm, "head.bias");
    const tl_tensor_info *ow = tl_model_find(out, "head.weight"), *ob = tl_model_find(out, "head.bias");
    if (!rc) {
        memcpy(out->params + ow->off, fm.params + fw->off, fw->numel * sizeof(float));
        memcpy(out->params + ob->off, fm.params + fb->off, fb->numel * sizeof(float));
    }
    tl_model_free(&fm);
    return rc;
}

const tl_stage2_ops tl_stage2_crt = {"crt", crt_create, crt_fit, 10};
