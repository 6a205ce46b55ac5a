/* The stage-2 table and the driver shared by its methods: build the output model from the stage-1
 * one (backbone copied, new head), let the method fit the head, describe the result as JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "stage2/stage2.h"

static const tl_stage2_ops *const methods[] = {&tl_stage2_crt, &tl_stage2_ncm, &tl_stage2_tau, &tl_stage2_lws};
#define NMETHODS ((int)(sizeof methods / sizeof *methods))

void tl_stage2_cfg_default(tl_stage2_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->sampler, sizeof cfg->sampler, "class:mode=aware,per_class=4");
    cfg->batch = 512;
    cfg->optim = (tl_optim_cfg){.kind = TL_OPTIM_SGD, .lr = 0.2, .momentum = 0.9, .wd = 5e-4};
    tl_error err;
    tl_schedule_parse(&cfg->sched, "cosine", "--schedule", &err);
    cfg->threads = 1;
}

int tl_stage2_create(tl_stage2 *s, const char *spec_text, const tl_model *src, tl_error *err) {
    memset(s, 0, sizeof *s);
    s->tau = NAN;
    tl_spec spec;
    int k = tl_spec_parse_ops(&spec, spec_text, "--method", (const void *const *)methods, NMETHODS, err);
    if (k < 0) return -1;
    s->ops = methods[k];
    if (s->ops->create(s, &spec, src, err) || tl_spec_check_unused(&spec, err)) return -1;
    snprintf(s->text, sizeof s->text, "%s", spec_text);
    return 0;
}

int tl_stage2_run(tl_stage2 *s, tl_model *out, const tl_model *src, const tl_dataset *train, const tl_dataset *val,
                  const int64_t *count, const tl_stage2_cfg *cfg, int N, tl_error *err) {
    tl_model_cfg mc = src->cfg;
    snprintf(mc.head, sizeof mc.head, "%s", s->head);
    if (tl_model_init(out, &mc, N, cfg->threads, cfg->seed, err)) return -1;
    for (int i = 0; i < out->ntensors; i++) {
        const tl_tensor_info *t = &out->tensors[i], *st = tl_model_find(src, t->name);
        if (t->group != TL_GROUP_BACKBONE) continue;
        memcpy((t->is_state ? out->state : out->params) + t->off, (st->is_state ? src->state : src->params) + st->off,
               t->numel * sizeof(float));
    }
    if (s->ops->fit(s, out, src, train, val, count, cfg, err)) { tl_model_free(out); return -1; }
    return 0;
}

void tl_stage2_write_json(FILE *f, const tl_stage2 *s, const char *from_run, const tl_stage2_cfg *cfg) {
    fprintf(f, "{\"method\": ");
    tl_json_write_string(f, s->text);
    fprintf(f, ", \"from\": ");
    tl_json_write_string(f, from_run);
    fprintf(f, ", \"head\": ");
    tl_json_write_string(f, s->head);
    fprintf(f, ", \"backbone\": \"frozen, evaluation mode (BatchNorm running statistics), features computed once without augmentation\"");
    if (s->epochs) {
        fprintf(f, ", \"epochs\": %d, \"batch\": %d, \"sampler\": ", s->epochs, cfg->batch);
        tl_json_write_string(f, cfg->sampler);
        fprintf(f, ", \"lr\": ");
        tl_json_write_number(f, cfg->optim.lr);
        fprintf(f, ", \"momentum\": ");
        tl_json_write_number(f, cfg->optim.momentum);
        fprintf(f, ", \"weight_decay\": ");
        tl_json_write_number(f, cfg->optim.wd);
        fprintf(f, ", \"seed\": %llu", (unsigned long long)cfg->seed);
    }
    if (!isnan(s->tau)) { fprintf(f, ", \"tau\": "); tl_json_write_number(f, s->tau); }
    if (s->nsweep) {
        fprintf(f, ", \"tau_selected_on\": \"validation balanced accuracy (ties: smaller tau)\", \"sweep\": [");
        for (int i = 0; i < s->nsweep; i++) {
            fprintf(f, "%s{\"tau\": ", i ? ", " : "");
            tl_json_write_number(f, s->sweep[i].value);
            fprintf(f, ", \"val_accuracy\": ");
            tl_json_write_number(f, s->sweep[i].val_accuracy);
            fprintf(f, ", \"val_balanced_accuracy\": ");
            tl_json_write_number(f, s->sweep[i].val_balanced_accuracy);
            fprintf(f, "}");
        }
        fprintf(f, "]");
    }
    fprintf(f, "}");
}

void tl_stage2_write_md(FILE *f, const tl_stage2 *s, const char *from_run, const tl_stage2_cfg *cfg) {
    fprintf(f, "\n## Stage 2\n\nMethod `%s` on the frozen backbone of `%s` (evaluation mode, features computed once, no augmentation); head `%s`.\n",
            s->text, from_run, s->head);
    if (s->epochs)
        fprintf(f, "Trained %d epochs, batch %d, sampler `%s`, SGD lr %g momentum %g weight decay %g, seed %llu.\n", s->epochs,
                cfg->batch, cfg->sampler, cfg->optim.lr, cfg->optim.momentum, cfg->optim.wd, (unsigned long long)cfg->seed);
    if (s->nsweep) {
        fprintf(f, "\ntau chosen on the validation split: %g (highest balanced accuracy, smaller tau on ties)\n\n", s->tau);
        fprintf(f, "| tau | val accuracy | val balanced accuracy |\n|---:|---:|---:|\n");
        for (int i = 0; i < s->nsweep; i++)
            fprintf(f, "| %.1f | %.2f | %.2f |\n", s->sweep[i].value, 100 * s->sweep[i].val_accuracy,
                    100 * s->sweep[i].val_balanced_accuracy);
    }
}
