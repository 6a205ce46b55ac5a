/* Samplers: which training examples an epoch visits, and how often (docs/methods.md §2). One table of
 * named kinds (--sampler NAME[:key=value,...]) with the same verbs. An epoch is a list of indices
 * into the training set; the trainer cuts it into batches (dropping the last partial one).
 *
 *   instance                         a fresh permutation each epoch (§2.1, the default)
 *   class[:mode=weighted|aware,per_class=4]
 *                                    class-balanced (§2.2): N_tr weighted draws with replacement, or
 *                                    the class-aware sampler of cRT (per_class items per class visit)
 *   sqrt, power:q=Q                  class mass ∝ n^q, N_tr draws with replacement (§2.3)
 *   progressive                      mass (1-λ)·n + λ·N_tr/C, λ = e/(T-1) (§2.4)
 *   oversample[:target=N]            every class topped up to N (default n_max) with duplicates (§2.5)
 *   undersample[:target=N]           every class cut to min(n, N) (default n_min) each epoch (§2.5)
 *   smote[:k=5,target=N,space=input] synthetic rows on segments to same-class neighbours, made once
 *                                    before training, then instance sampling (§2.6)
 * Every epoch is a function of (epoch, rng) alone, so a resumed run draws what an uninterrupted one
 * would. Classes with no training examples are never drawn. */
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
    /* Documentation, rendered by tl_methods_list (--help, docs/cli.md): the keys with their defaults
     * as NAME:keys takes them (a|b: a choice, the first the default; "" when none), one line of help. */
    const char *keys;
    const char *help;
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

/* The table (src/samplers/sampler.c), in the order --help lists it: *n gets its length. */
const tl_sampler_ops *const *tl_sampler_table(int *n);
extern const tl_sampler_ops tl_sampler_instance, tl_sampler_class, tl_sampler_sqrt, tl_sampler_power,
    tl_sampler_progressive, tl_sampler_oversample, tl_sampler_undersample, tl_sampler_smote;

/* ---- classes.c: per-class instance lists shared by the class-level samplers ---- */
typedef struct {
    int *start, *idx;   /* class c's instances: idx[start[c] .. start[c+1]), ascending */
    double *mass;       /* [C] class masses of the current epoch (need not sum to 1) */
    double *cum;        /* [C] scratch: cumulative masses */
    int *work;          /* [n + 2C] scratch */
    double q;           /* the sampler's keys */
    int mode, per_class, target;
} tl_class_lists;

/* Builds the lists for s (its labels, n, C) into a new s->priv. Returns 0 or -1 (out of memory). */
int tl_class_lists_init(tl_sampler *s, tl_error *err);
void tl_class_lists_destroy(tl_sampler *s);
/* order[0..m) = m draws with replacement: class c with probability mass[c]/Σ mass (cumulative array
 * + binary search; empty classes are skipped), then one of its instances uniformly. This gives each
 * instance of class c the probability mass[c]/(n_c Σ mass) (docs/methods.md §2). */
void tl_sampler_draw(int *order, int m, tl_class_lists *cl, int C, tl_rng *rng);
/* Reads an optional target=N key (N >= 1); *out = def when absent. */
int tl_sampler_target(tl_spec *spec, int def, int *out, tl_error *err);

/* ---- smote.c: the SMOTE core (docs/methods.md §2.6) on any float matrix (pixels, tabular rows or
 * features), reusable by stage 2 on frozen features ----
 * For every class c with 0 < n_c < target[c]: K = min(k, n_c - 1) nearest same-class neighbours by
 * Euclidean distance (ties by index; K = 0 duplicates the sample), then target[c] - n_c rows
 * new = a + u·(b - a), u ~ U(0, 1), a cycling through the class in one shuffled order and b one of
 * a's K neighbours chosen uniformly. round != 0 rounds to the nearest integer and clamps to [lo, hi]
 * (integer pixels). Writes out [m, d], out_y [m] and, when not NULL, anchor [m] and neighbour [m]
 * (row indices into x), m = tl_smote_count(...). Classes are processed in order 0..C-1. */
int64_t tl_smote_count(const int64_t *count, const int64_t *target, int C);
int tl_smote(float *out, int *out_y, int *anchor, int *neighbour, const float *x, const int *y, int n, int d, int C,
             const int64_t *target, int k, int round, float lo, float hi, tl_rng *rng, tl_error *err);

#endif
