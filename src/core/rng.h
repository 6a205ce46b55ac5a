/* Seeded random numbers: xoshiro256** seeded through splitmix64. No global state: every purpose
 * (initialisation, sampling, augmentation, dropout, ...) owns its own tl_rng, derived from the run
 * seed and a purpose tag, so changing one consumer never shifts another's stream. */
#ifndef TL_CORE_RNG_H
#define TL_CORE_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } tl_rng;

void tl_rng_seed(tl_rng *r, uint64_t seed, uint64_t purpose);
uint64_t tl_rng_u64(tl_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double tl_rng_uniform(tl_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method). n > 0. */
uint64_t tl_rng_below(tl_rng *r, uint64_t n);
/* Standard normal (Box-Muller on two uniforms; no cached second value, so the stream is stateless). */
double tl_rng_normal(tl_rng *r);
/* Skips n draws of tl_rng_u64 (n uniforms): a data-parallel rank jumps over the other ranks' rows. */
void tl_rng_discard(tl_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void tl_rng_shuffle(tl_rng *r, int *idx, int n);

/* Purpose tags: one per consumer of randomness. */
enum { TL_RNG_INIT = 1, TL_RNG_SAMPLER, TL_RNG_AUGMENT, TL_RNG_DROPOUT, TL_RNG_DATA, TL_RNG_SYNTH, TL_RNG_HOOK };

#endif
