#include <string.h>
#include "core/error.h"
#include "train/hook.h"

static const tl_hook_ops *const table[] = {&tl_hook_kd, &tl_hook_rkd, &tl_hook_m2m};
#define NHOOKS ((int)(sizeof table / sizeof *table))

const tl_hook_ops *const *tl_hook_table(int *n) {
    *n = NHOOKS;
    return table;
}

int tl_hook_create(tl_hook *k, const char *option, const char *spec_text, const tl_hook_env *env, tl_error *err) {
    memset(k, 0, sizeof *k);
    /* Only the kinds of this option are valid names for it. */
    const tl_hook_ops *mine[NHOOKS];
    int n = 0;
    for (int i = 0; i < NHOOKS; i++) if (!strcmp(table[i]->option, option)) mine[n++] = table[i];
    tl_spec spec;
    int i = tl_spec_parse_ops(&spec, spec_text, option, (const void *const *)mine, n, err);
    if (i < 0) return -1;
    k->ops = mine[i];
    if (k->ops->create(k, &spec, env, err) || tl_spec_check_unused(&spec, err)) {
        tl_hook_destroy(k);
        return -1;
    }
    return 0;
}

void tl_hook_destroy(tl_hook *k) {
    if (k->ops && k->ops->destroy) k->ops->destroy(k);
    memset(k, 0, sizeof *k);
}

void tl_hook_scale_task(tl_model *m, float *dfeat, double w) {
    if (w == 1) return;
    float f = (float)w;
    size_t nl = (size_t)m->N * m->cfg.num_classes, nf = (size_t)m->N * m->cfg.feat_dim;
    for (size_t i = 0; i < nl; i++) m->dlogits[i] *= f;
    for (size_t i = 0; i < nf; i++) dfeat[i] *= f;
    for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= f;
}
