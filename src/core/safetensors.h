/* The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
 * "__metadata__": {"key": "value"}}, then the raw little-endian data. tailor stores F32 tensors,
 * I32 index tensors and I64 counters (BatchNorm's num_batches_tracked). */
#ifndef TL_CORE_SAFETENSORS_H
#define TL_CORE_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "tailor.h"

#define TL_ST_MAX_DIMS 8

typedef struct {
    const char *name;
    const char *dtype;          /* "F32", "I32" or "I64" */
    int ndim;
    int64_t shape[TL_ST_MAX_DIMS];
    const void *data;           /* little-endian elements of tl_st_elsize bytes */
} tl_st_tensor;

/* Writes tensors (and optional "__metadata__" string pairs, meta[2k] = key, meta[2k+1] = value)
 * atomically to path. Returns 0 or -1. */
int tl_st_write(const char *path, const tl_st_tensor *t, int n, const char *const *meta, int nmeta,
                tl_error *err);

/* A loaded file: all tensors in one block. The caller owns it; free with tl_st_free. */
typedef struct {
    int n;
    tl_st_tensor *t;            /* names, dtypes and data point into this object */
    char **meta;                /* 2·nmeta strings */
    int nmeta;
    void *blob;                 /* file bytes */
    void *names;                /* storage of names */
} tl_st_file;

/* Reads and validates a file (sizes against the real file size, offsets contiguous and in range,
 * shapes consistent with byte counts, no duplicate names). Returns 0 or -1 naming path. */
int tl_st_read(tl_st_file *f, const char *path, tl_error *err);
/* Parses a file already in memory (takes ownership of buf, which must come from malloc). */
int tl_st_parse(tl_st_file *f, void *buf, size_t len, const char *what, tl_error *err);
const tl_st_tensor *tl_st_find(const tl_st_file *f, const char *name);
const char *tl_st_meta(const tl_st_file *f, const char *key);
void tl_st_free(tl_st_file *f);
/* Number of elements of a tensor, and the size of one. */
int64_t tl_st_numel(const tl_st_tensor *t);
size_t tl_st_elsize(const tl_st_tensor *t);

#endif
