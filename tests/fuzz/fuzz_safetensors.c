/* Fuzz target: safetensors header and tensor table (src/core/safetensors.c: tl_st_parse), then the
 * model metadata readers a checkpoint goes through (src/models/model_io.c). Every byte of every
 * tensor the parser accepts is read, so ASan catches an offset past the end of the buffer. */
#include "core/safetensors.h"
#include "models/model_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    void *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    tl_st_file f;
    tl_error err;
    if (tl_st_parse(&f, buf, size, "fuzz.safetensors", &err)) return 0;  /* buf is freed either way */
    volatile uint8_t sink = 0;
    for (int i = 0; i < f.n; i++) {
        const tl_st_tensor *t = &f.t[i];
        size_t bytes = (size_t)tl_st_numel(t) * tl_st_elsize(t);
        for (size_t j = 0; j < bytes; j++) sink ^= ((const uint8_t *)t->data)[j];
        if (tl_st_find(&f, t->name) != t) abort();
    }
    (void)sink;
    for (int i = 0; i < f.nmeta; i++)
        if (!tl_st_meta(&f, f.meta[2 * i])) abort();
    tl_model_cfg cfg;
    if (tl_model_cfg_from_file(&cfg, &f, "fuzz.safetensors", &err) == 0) {
        float *mean = malloc(sizeof(float) * (size_t)cfg.in_c), *std = malloc(sizeof(float) * (size_t)cfg.in_c);
        if (!mean || !std) abort();
        tl_model_norm_from_file(mean, std, cfg.in_c, &f, "fuzz.safetensors", &err);
        free(mean);
        free(std);
    }
    tl_st_free(&f);
    return 0;
}
