/* Samplers: which training examples an epoch visits, and how often (methods.md §2). One table of
 * named kinds (--sampler NAME[:key=value,...]) with the same verbs. An epoch is a list of indices
 * into the training set; the trainer cuts it into batches (dropping the last partial one). */
#ifndef TL_SAMPLERS_SAMPLER_H
#define TL_SAMPLERS_SAMPLER_H
#include <stdint.h>
#include "core/rng.h"
#include "data/dataset.h"
#include "spec/spec.h"
#include "tailor.h"

typedef struct tl_sampler tl_sampler;

typedef struct {
    const char *name;
    /* Reads its keys; sets s->capacity (the longest epoch it can produce) and any s->priv. */
    int (*create)(tl_sampler *s, tl_spec *spec, tl_error *err);
    /* Optional: changes the training set once before training (SMOTE appends synthetic rows).
     * Called before the normalisation statistics are computed. */
    int (*prepare)(tl_sampler *s, tl_dataset *train, uint64_t seed, tl_error *err);
    /* Fills order[0..return) for epoch `epoch` (0-based) of s->epochs, drawing from rng. */
    int (*epoch)(tl_sampler *s, int *order, int epoch, tl_rng *rng);
    void (*destroy)(tl_sampler *s);
} tl_sampler_ops;

struct tl_sampler {
    const tl_sampler_ops *ops;
    const int *labels;          /* [n] (borrowed) */
    int n, C, epochs;
    const int64_t *count;       /* [C] (borrowed) */
    int capacity;               /* order[] size needed by epoch() */
    void *priv;
};

/* Creates the sampler named by spec_text over a training set's labels. Returns 0, or -1 naming
 * --sampler and the valid names or keys. */
int tl_sampler_create(tl_sampler *s, const char *spec_text, const int *labels, int n, int C, const int64_t *count,
                      int epochs, tl_error *err);
/* Re-points the sampler at a training set changed by prepare (labels, n, counts). */
void tl_sampler_rebind(tl_sampler *s, const int *labels, int n, const int64_t *count);
void tl_sampler_destroy(tl_sampler *s);

extern const tl_sampler_ops tl_sampler_instance;

#endif
