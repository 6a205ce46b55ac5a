#include <math.h>
#include "core/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tl_rng_seed(tl_rng *r, uint64_t seed, uint64_t purpose) {
    uint64_t x = seed ^ (purpose * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tl_rng_u64(tl_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double tl_rng_uniform(tl_rng *r) { return (double)(tl_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t tl_rng_below(tl_rng *r, uint64_t n) {
    unsigned __int128 m = (unsigned __int128)tl_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;
        while (lo < t) { m = (unsigned __int128)tl_rng_u64(r) * n; lo = (uint64_t)m; }
    }
    return (uint64_t)(m >> 64);
}

double tl_rng_normal(tl_rng *r) {
    double u1 = 1.0 - tl_rng_uniform(r), u2 = tl_rng_uniform(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void tl_rng_discard(tl_rng *r, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) (void)tl_rng_u64(r);
}

void tl_rng_shuffle(tl_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tl_rng_below(r, (uint64_t)i + 1), t = idx[i];
        idx[i] = idx[j]; idx[j] = t;
    }
}
