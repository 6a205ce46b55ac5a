#include <string.h>
#include "core/error.h"
#include "samplers/sampler.h"

static const tl_sampler_ops *const samplers[] = {&tl_sampler_instance,    &tl_sampler_class,      &tl_sampler_sqrt,
                                                 &tl_sampler_power,       &tl_sampler_progressive, &tl_sampler_oversample,
                                                 &tl_sampler_undersample, &tl_sampler_smote};
#define NSAMPLERS ((int)(sizeof samplers / sizeof *samplers))

const tl_sampler_ops *const *tl_sampler_table(int *n) {
    *n = NSAMPLERS;
    return samplers;
}

int tl_sampler_create(tl_sampler *s, const char *spec_text, const int *labels, int n, int C, const int64_t *count,
                      int epochs, tl_error *err) {
    memset(s, 0, sizeof *s);
    tl_spec spec;
    int k = tl_spec_parse_ops(&spec, spec_text, "--sampler", (const void *const *)samplers, NSAMPLERS, err);
    if (k < 0) return -1;
    s->ops = samplers[k];
    s->labels = labels;
    s->n = n;
    s->C = C;
    s->count = count;
    s->epochs = epochs;
    s->capacity = n;
    if (s->ops->create(s, &spec, err) || tl_spec_check_unused(&spec, err)) { tl_sampler_destroy(s); return -1; }
    return 0;
}

void tl_sampler_rebind(tl_sampler *s, const int *labels, int n, const int64_t *count) {
    s->labels = labels;
    s->n = n;
    s->count = count;
    if (s->capacity < n) s->capacity = n;
}

void tl_sampler_destroy(tl_sampler *s) {
    if (s->ops && s->ops->destroy) s->ops->destroy(s);
    memset(s, 0, sizeof *s);
}
