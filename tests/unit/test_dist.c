/* The collectives of src/core/dist.c. Run alone it checks the one-rank no-ops; run under
 * `mpirun -np N` (tests/cli/test_mpi.sh) every rank checks the sums against the fixed-order sum it
 * computes itself, and that every rank ends with the same bits. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/dist.h"
#include "check.h"

/* Rank r's value of element i: different on every rank, not exactly representable sums. */
static double value(int r, size_t i) { return sin(0.37 * (double)i + 1.3 * r) * (1.0 + r) + 1e-3 * (double)i; }

static void test_sums(void) {
    int P = tl_dist_size(), me = tl_dist_rank();
    tl_error err;
    /* Sizes around the number of ranks (empty chunks) and a long one. */
    size_t sizes[] = {0, 1, 2, 3, 5, 7, 1000, 100003};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        size_t n = sizes[t];
        float *f = malloc((n + 1) * sizeof *f);
        double *d = malloc((n + 1) * sizeof *d);
        for (size_t i = 0; i < n; i++) f[i] = (float)value(me, i), d[i] = value(me, i);
        CHECK(tl_dist_sum_f32(f, n, &err) == 0);
        CHECK(tl_dist_sum_f64(d, n, &err) == 0);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            /* The ring's order for element i: starting at the rank that owns its chunk. */
            int c = 0;
            while (c + 1 < P && n * (size_t)(c + 1) / (size_t)P <= i) c++;
            float ef = 0;
            double ed = 0;
            for (int k = 0; k < P; k++) {
                int r = (c + k) % P;
                ef = k ? ef + (float)value(r, i) : (float)value(r, i);
                ed = k ? ed + value(r, i) : value(r, i);
            }
            bad += memcmp(&ef, &f[i], sizeof ef) != 0 || memcmp(&ed, &d[i], sizeof ed) != 0;
        }
        CHECK(bad == 0);
        /* Every rank holds the same bits: rank 0's copy, broadcast, equals mine. */
        double *d0 = malloc((n + 1) * sizeof *d0);
        memcpy(d0, d, n * sizeof *d);
        CHECK(tl_dist_bcast(d0, n * sizeof *d0, 0, &err) == 0);
        CHECK(n == 0 || memcmp(d0, d, n * sizeof *d) == 0);
        free(f); free(d); free(d0);
    }
}

static void test_gather_and_max(void) {
    int P = tl_dist_size(), me = tl_dist_rank();
    tl_error err;
    size_t counts[64];
    size_t total = 0;
    for (int r = 0; r < P; r++) counts[r] = (size_t)(3 * r + 1), total += counts[r];
    unsigned char mine[256], all[4096];
    for (size_t i = 0; i < counts[me]; i++) mine[i] = (unsigned char)(16 * me + i);
    CHECK(tl_dist_allgatherv(mine, counts, all, &err) == 0);
    size_t at = 0;
    int bad = 0;
    for (int r = 0; r < P; r++)
        for (size_t i = 0; i < counts[r]; i++) bad += all[at++] != (unsigned char)(16 * r + i);
    CHECK(bad == 0 && at == total);
    int v = me == P - 1 ? 7 : me;
    CHECK(tl_dist_max_int(&v, &err) == 0);
    CHECK(v == (P == 1 ? 7 : (P - 2 > 7 ? P - 2 : 7)));
    CHECK(tl_dist_barrier(&err) == 0);
}

/* tl_dist_same: passes on equal bytes, fails on every rank naming the first rank that differs. */
static void test_same(void) {
    int P = tl_dist_size(), me = tl_dist_rank();
    tl_error err = {{0}};
    float w[5] = {1, 2, 3, 4, 5};
    CHECK(tl_dist_same(w, sizeof w, "weights", &err) == 0);
    w[4] += (float)me;   /* rank 0 keeps its bytes, every other rank differs */
    int rc = tl_dist_same(w, sizeof w, "weights", &err);
    if (P == 1) CHECK(rc == 0);
    else CHECK_MSG(rc == -1 && strstr(err.msg, "rank 1 of") && strstr(err.msg, "weights"), "%d: %s", rc, err.msg);
}

int main(void) {
    tl_error err;
    if (tl_dist_init(&err) || tl_dist_size() > 64) { fprintf(stderr, "tl_dist_init: %s\n", err.msg); return 1; }
    RUN_TEST(test_sums);
    RUN_TEST(test_gather_and_max);
    RUN_TEST(test_same);
    tl_dist_finalize();
    TEST_MAIN_END();
}
