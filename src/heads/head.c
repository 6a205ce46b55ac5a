#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "heads/head.h"
#include "models/model.h"

static const tl_head_ops *const heads[] = {&tl_head_linear, &tl_head_cosine, &tl_head_causal, &tl_head_ncm,
                                                &tl_head_lws};
#define NHEADS ((int)(sizeof heads / sizeof *heads))

int tl_head_create(tl_head *h, const char *spec_text, struct tl_model *m, tl_error *err) {
    memset(h, 0, sizeof *h);
    tl_spec spec;
    const char *names[NHEADS];
    for (int i = 0; i < NHEADS; i++) names[i] = heads[i]->name;
    if (tl_spec_parse(&spec, spec_text, "--head", err)) return -1;
    int k = tl_spec_lookup(&spec, names, sizeof *names, NHEADS, err);
    if (k < 0) return -1;
    h->ops = heads[k];
    h->N = m->N;
    h->D = m->cfg.feat_dim;
    h->C = m->cfg.num_classes;
    h->nthreads = m->net.nthreads;
    h->scale = 1;
    if (h->ops->create(h, &spec, m, err) || tl_spec_check_unused(&spec, err)) { tl_head_destroy(h); return -1; }
    return 0;
}

void tl_head_destroy(tl_head *h) {
    if (h->ops && h->ops->destroy) h->ops->destroy(h);
    memset(h, 0, sizeof *h);
}
