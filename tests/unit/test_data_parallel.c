/* The layer-level pieces of data-parallel training, where each rank has a slice of the global batch.
 * Synchronised BatchNorm (nn.h tl_batch_sync): each rank runs the training kernels on its slice with
 * the sync set, and must get what one process gets on the whole batch: its rows of the output and
 * of dx, the same statistics and running statistics, and dgamma/dbeta whose sum over the ranks is the
 * whole batch's. For the three kernel families (plain [N, C, HW], rows HW = 1 over more than one
 * channel block, nChw16c), with and without residual and ReLU. Run alone it checks the sync path
 * with one rank; tests/cli/test_mpi.sh runs it on 2 and 3 ranks. Dropout (models/net.h slice): a
 * slice's masks are its rows of the global batch's, through two dropout layers (no MPI needed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/dist.h"
#include "core/rng.h"
#include "models/net.h"
#include "nn/nn.h"
#include "check.h"

static int dist_sum(double *v, size_t n, void *ctx) { return tl_dist_sum_f64(v, n, ctx); }

static float value(size_t i, double a) { return (float)(sin(a * (double)i + 0.3) * 2.0 + 0.5 * cos(0.01 * (double)i)); }

typedef struct { float *out, *mean, *invstd, *rm, *rv, *dx, *dres, *dg, *db; } bn_result;

static void result_alloc(bn_result *r, size_t n, int C) {
    r->out = calloc(n, sizeof(float)); r->dx = calloc(n, sizeof(float)); r->dres = calloc(n, sizeof(float));
    r->mean = calloc((size_t)C, sizeof(float)); r->invstd = calloc((size_t)C, sizeof(float));
    r->rm = calloc((size_t)C, sizeof(float)); r->rv = malloc((size_t)C * sizeof(float));
    r->dg = calloc((size_t)C, sizeof(float)); r->db = calloc((size_t)C, sizeof(float));
    for (int c = 0; c < C; c++) r->rv[c] = 1;
}

static void result_free(bn_result *r) {
    free(r->out); free(r->dx); free(r->dres); free(r->mean); free(r->invstd); free(r->rm); free(r->rv); free(r->dg);
    free(r->db);
}

/* kind 0: bn_act (plain), 1: bn_act with HW = 1 (bn_act1's rows), 2: bn_act16. */
static void run(int kind, bn_result *r, const float *x, const float *res, const float *dy, const float *gamma,
                const float *beta, int N, int C, int HW, int relu) {
    if (kind == 2) {
        tl_bn_act16_forward_train(r->out, r->mean, r->invstd, r->rm, r->rv, x, res, gamma, beta, N, C, HW, 1e-5f, 0.1f,
                                  relu, 2);
        tl_bn_act16_backward(r->dx, res ? r->dres : NULL, r->dg, r->db, dy, x, res ? r->out : NULL, r->mean, r->invstd,
                             gamma, beta, N, C, HW, relu, 0, 2);
    } else {
        tl_bn_act_forward_train(r->out, r->mean, r->invstd, r->rm, r->rv, x, res, gamma, beta, N, C, HW, 1e-5f, 0.1f,
                                relu, 2);
        tl_bn_act_backward(r->dx, res ? r->dres : NULL, r->dg, r->db, dy, x, res ? r->out : NULL, r->mean, r->invstd,
                           gamma, beta, N, C, HW, relu, 0, 2);
    }
}

static double max_rel(const float *a, const float *b, size_t n) {
    double d = 0, s = 1e-6;
    for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); s = fmax(s, fabs((double)a[i])); }
    return d / s;
}

static void check_kind(int kind, int C, int HW, int with_res, int relu) {
    int P = tl_dist_size(), me = tl_dist_rank(), n = 3, N = P * n;
    size_t row = (size_t)C * HW, all = (size_t)N * row, mine = (size_t)n * row, at = (size_t)me * mine;
    float *x = malloc(all * sizeof *x), *res = malloc(all * sizeof *res), *dy = malloc(all * sizeof *dy);
    float *gamma = malloc((size_t)C * sizeof *gamma), *beta = malloc((size_t)C * sizeof *beta);
    for (size_t i = 0; i < all; i++) { x[i] = value(i, 0.37) * 3 + 1; res[i] = value(i, 0.11); dy[i] = value(i, 0.73); }
    for (int c = 0; c < C; c++) { gamma[c] = 1 + 0.1f * (float)c; beta[c] = 0.05f * (float)c - 0.2f; }
    bn_result whole, part;
    result_alloc(&whole, all, C);
    result_alloc(&part, mine, C);
    run(kind, &whole, x, with_res ? res : NULL, dy, gamma, beta, N, C, HW, relu);
    tl_error err;
    double *scratch = malloc(2 * (size_t)C * sizeof *scratch);
    tl_batch_sync sync = {.ranks = P, .sum = dist_sum, .ctx = &err, .scratch = scratch};
    tl_batch_sync_set(&sync);
    run(kind, &part, x + at, with_res ? res + at : NULL, dy + at, gamma, beta, n, C, HW, relu);
    tl_batch_sync_set(NULL);
    CHECK(!sync.failed);
    CHECK_MSG(max_rel(whole.out + at, part.out, mine) < 1e-5, "kind %d out", kind);
    CHECK_MSG(max_rel(whole.dx + at, part.dx, mine) < 1e-5, "kind %d dx %g", kind, max_rel(whole.dx + at, part.dx, mine));
    if (with_res) CHECK_MSG(max_rel(whole.dres + at, part.dres, mine) < 1e-6, "kind %d dres", kind);
    CHECK_MSG(max_rel(whole.mean, part.mean, (size_t)C) < 1e-5 && max_rel(whole.invstd, part.invstd, (size_t)C) < 1e-5,
              "kind %d statistics", kind);
    CHECK_MSG(max_rel(whole.rm, part.rm, (size_t)C) < 1e-5 && max_rel(whole.rv, part.rv, (size_t)C) < 1e-5,
              "kind %d running statistics", kind);
    /* dgamma, dbeta: this rank's own, the ranks' sum the whole batch's. */
    CHECK(tl_dist_sum_f32(part.dg, (size_t)C, &err) == 0 && tl_dist_sum_f32(part.db, (size_t)C, &err) == 0);
    CHECK_MSG(max_rel(whole.dg, part.dg, (size_t)C) < 1e-5 && max_rel(whole.db, part.db, (size_t)C) < 1e-5,
              "kind %d dgamma/dbeta", kind);
    result_free(&whole);
    result_free(&part);
    free(x); free(res); free(dy); free(gamma); free(beta); free(scratch);
}

static void test_plain(void) {
    check_kind(0, 3, 7, 0, 1);
    check_kind(0, 5, 600, 1, 1);   /* planes longer than the backward's chunk */
}

static void test_rows(void) {
    check_kind(1, 70, 1, 0, 0);    /* two channel blocks */
    check_kind(1, 70, 1, 1, 1);
}

static void test_blocked(void) {
    check_kind(2, 32, 5, 0, 1);
    check_kind(2, 16, 40, 1, 1);
}

/* in -> dropout -> dropout on rows of D values; forward in training from the seed's stream. */
static const float *dropout_net(tl_net *net, const float *x, int N, int slice, int slices) {
    enum { D = 5 };
    memset(net, 0, sizeof *net);
    int in = tl_net_input(net, (tl_chw){D, 1, 1});
    int a = tl_net_push(net, &(tl_op){.kind = TL_OP_DROPOUT, .in = in, .p = 0.5f}, (tl_chw){D, 1, 1});
    int b = tl_net_push(net, &(tl_op){.kind = TL_OP_DROPOUT, .in = a, .p = 0.3f}, (tl_chw){D, 1, 1});
    tl_error err;
    if (a < 0 || b < 0 || tl_net_alloc(net, N, 1)) return NULL;
    net->slice = slice;
    net->slices = slices;
    memcpy(net->act[in], x, (size_t)N * D * sizeof *x);
    tl_rng rng;
    tl_rng_seed(&rng, 11, TL_RNG_DROPOUT);
    return tl_net_forward(net, NULL, NULL, 1, &rng, &err) ? NULL : net->act[b];
}

static void test_dropout_slices(void) {
    enum { B = 6, D = 5, P = 3, n = B / P };
    float x[B * D];
    for (int i = 0; i < B * D; i++) x[i] = 1.0f + (float)i;
    tl_net whole, part;
    const float *all = dropout_net(&whole, x, B, 0, 1);
    CHECK(all != NULL);
    for (int s = 0; all && s < P; s++) {
        const float *mine = dropout_net(&part, x + s * n * D, n, s, P);
        CHECK(mine && memcmp(mine, all + s * n * D, (size_t)n * D * sizeof *mine) == 0);
        tl_net_free(&part);
    }
    tl_net_free(&whole);
}

int main(void) {
    tl_error err;
    if (tl_dist_init(&err)) { fprintf(stderr, "tl_dist_init: %s\n", err.msg); return 1; }
    RUN_TEST(test_plain);
    RUN_TEST(test_rows);
    RUN_TEST(test_blocked);
    RUN_TEST(test_dropout_slices);
    tl_dist_finalize();
    TEST_MAIN_END();
}
