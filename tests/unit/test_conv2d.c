/* tl_conv2d against a direct double-precision convolution: forward values, and backward against
 * central finite differences of L = sum(out · g) through that reference (L is linear in each input,
 * so the differences are exact up to rounding); accumulation into existing gradients, NULL
 * gradients, the forward-to-backward input cache, bitwise reproducibility, and plans sharing one work
 * area. Shapes with g > 1 are grouped convolutions (ResNeXt). */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/rng.h"
#include "nn/nn.h"

typedef struct { int N, C, H, W, OC, K, s, p, bias, g; } cshape;   /* g: groups (0 = 1) */

static const cshape SHAPES[] = {
    {2, 1, 7, 7, 4, 3, 1, 1, 1, 1},  {2, 3, 8, 6, 5, 3, 2, 1, 0, 1},  {3, 3, 9, 9, 8, 1, 1, 0, 1, 1},
    {2, 16, 6, 6, 16, 3, 1, 1, 0, 1}, {2, 4, 7, 5, 3, 3, 2, 0, 1, 1}, {1, 3, 5, 5, 2, 1, 2, 0, 0, 1},
    {2, 32, 5, 5, 17, 3, 2, 1, 1, 1}, {2, 16, 8, 8, 32, 3, 2, 1, 0, 1},
    {2, 8, 6, 6, 8, 3, 1, 1, 0, 4}, {2, 32, 7, 7, 64, 3, 2, 1, 1, 32}, {2, 6, 5, 5, 9, 1, 2, 0, 0, 3},
};
enum { NT = 2 };

static int groups(const cshape *s) { return s->g > 1 ? s->g : 1; }
static int oh(const cshape *s) { return (s->H + 2 * s->p - s->K) / s->s + 1; }
static int ow(const cshape *s) { return (s->W + 2 * s->p - s->K) / s->s + 1; }

/* out = conv2d(x, w, b, groups=g) in double; w [OC, C/g, K, K] */
static void ref_forward(double *out, const double *x, const double *w, const double *b, const cshape *s) {
    int OH = oh(s), OW = ow(s), cg = s->C / groups(s), og = s->OC / groups(s);
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->OC; o++)
            for (int i = 0; i < OH; i++)
                for (int j = 0; j < OW; j++) {
                    double acc = b ? b[o] : 0;
                    for (int c = 0; c < cg; c++)
                        for (int ki = 0; ki < s->K; ki++)
                            for (int kj = 0; kj < s->K; kj++) {
                                int y = i * s->s - s->p + ki, xx = j * s->s - s->p + kj;
                                if (y < 0 || y >= s->H || xx < 0 || xx >= s->W) continue;
                                acc += x[((size_t)(n * s->C + o / og * cg + c) * s->H + y) * s->W + xx]
                                     * w[((o * cg + c) * s->K + ki) * s->K + kj];
                            }
                    out[((size_t)(n * s->OC + o) * OH + i) * OW + j] = acc;
                }
}

typedef struct {
    cshape s;
    size_t ni, nw, no;
    float *x, *w, *b, *g;
    double *xd, *wd, *bd, *gd, *yd;
} problem;

static void fill(float *f, double *d, size_t n, tl_rng *r) {
    for (size_t i = 0; i < n; i++) d[i] = f[i] = (float)(2 * tl_rng_uniform(r) - 1);
}

static problem make(const cshape *s, uint64_t seed) {
    problem P = {.s = *s};
    P.ni = (size_t)s->N * s->C * s->H * s->W;
    P.nw = (size_t)s->OC * (s->C / groups(s)) * s->K * s->K;
    P.no = (size_t)s->N * s->OC * oh(s) * ow(s);
    tl_rng r;
    tl_rng_seed(&r, seed, TL_RNG_SYNTH);
    P.x = malloc(P.ni * 4); P.xd = malloc(P.ni * 8);
    P.w = malloc(P.nw * 4); P.wd = malloc(P.nw * 8);
    P.b = malloc(s->OC * 4); P.bd = malloc(s->OC * 8);
    P.g = malloc(P.no * 4); P.gd = malloc(P.no * 8); P.yd = malloc(P.no * 8);
    fill(P.x, P.xd, P.ni, &r); fill(P.w, P.wd, P.nw, &r); fill(P.b, P.bd, s->OC, &r); fill(P.g, P.gd, P.no, &r);
    return P;
}

static void unmake(problem *P) {
    free(P->x); free(P->xd); free(P->w); free(P->wd); free(P->b); free(P->bd);
    free(P->g); free(P->gd); free(P->yd);
}

/* L = sum(conv(x, w, b) · g) in double */
static double loss(problem *P) {
    ref_forward(P->yd, P->xd, P->wd, P->s.bias ? P->bd : NULL, &P->s);
    double L = 0;
    for (size_t i = 0; i < P->no; i++) L += P->yd[i] * P->gd[i];
    return L;
}

/* central difference of L with respect to v[i] */
static double fd(problem *P, double *v, size_t i) {
    double h = 1e-3, v0 = v[i];
    v[i] = v0 + h; double lp = loss(P);
    v[i] = v0 - h; double lm = loss(P);
    v[i] = v0;
    return (lp - lm) / (2 * h);
}

static tl_conv2d *plan(const cshape *s) {
    return tl_conv2d_create_layout(s->N, s->C, s->H, s->W, s->OC, s->K, s->s, s->p, groups(s), s->bias, TL_NCHW,
                                   TL_NCHW, NT);
}

static void test_forward(void) {
    for (size_t k = 0; k < sizeof SHAPES / sizeof *SHAPES; k++) {
        problem P = make(&SHAPES[k], 10 + k);
        tl_conv2d *p = plan(&P.s);
        CHECK(p != NULL);
        if (!p) { unmake(&P); continue; }
        CHECK(tl_conv2d_out_h(p) == oh(&P.s) && tl_conv2d_out_w(p) == ow(&P.s));
        float *y = malloc(P.no * 4);
        tl_conv2d_forward(p, y, P.x, P.w, P.s.bias ? P.b : NULL);
        loss(&P);
        int bad = 0;
        for (size_t i = 0; i < P.no; i++) bad += !(fabs(y[i] - P.yd[i]) <= 1e-5 * fmax(1, fabs(P.yd[i])));
        CHECK_MSG(bad == 0, "shape %zu: %d of %zu outputs off", k, bad, P.no);
        free(y);
        tl_conv2d_free(p);
        unmake(&P);
    }
}

/* Backward into gradients pre-filled with `pre`, checked against pre + finite differences. */
static void check_backward(size_t k, int with_dinp) {
    problem P = make(&SHAPES[k], 20 + k);
    tl_conv2d *p = plan(&P.s);
    CHECK(p != NULL);
    if (!p) { unmake(&P); return; }
    float pre = 0.25f;
    float *y = malloc(P.no * 4), *dx = malloc(P.ni * 4), *dw = malloc(P.nw * 4), *db = malloc(P.s.OC * 4);
    for (size_t i = 0; i < P.ni; i++) dx[i] = pre;
    for (size_t i = 0; i < P.nw; i++) dw[i] = pre;
    for (int i = 0; i < P.s.OC; i++) db[i] = pre;
    tl_conv2d_forward(p, y, P.x, P.w, P.s.bias ? P.b : NULL);
    tl_conv2d_backward(p, with_dinp ? dx : NULL, dw, P.s.bias ? db : NULL, P.g, P.x, P.w);
    int bad = 0;
    for (size_t i = 0; i < P.ni; i++) {
        double want = with_dinp ? pre + fd(&P, P.xd, i) : pre;
        bad += !(fabs(dx[i] - want) <= 1e-4 * fmax(1, fabs(want)));
    }
    for (size_t i = 0; i < P.nw; i++) {
        double want = pre + fd(&P, P.wd, i);
        bad += !(fabs(dw[i] - want) <= 1e-4 * fmax(1, fabs(want)));
    }
    for (int i = 0; i < P.s.OC; i++) {
        double want = P.s.bias ? pre + fd(&P, P.bd, i) : pre;
        bad += !(fabs(db[i] - want) <= 1e-4 * fmax(1, fabs(want)));
    }
    CHECK_MSG(bad == 0, "shape %zu (dinp %d): %d gradients off", k, with_dinp, bad);
    free(y); free(dx); free(dw); free(db);
    tl_conv2d_free(p);
    unmake(&P);
}

static void test_backward_accumulates(void) {
    for (size_t k = 0; k < sizeof SHAPES / sizeof *SHAPES; k++) check_backward(k, 1);
}

static void test_backward_null_dinp(void) {
    for (size_t k = 0; k < 3; k++) check_backward(k, 0);
}

/* Only dinp (frozen weights), and nothing at all, leave the other buffers alone. */
static void test_backward_null_weights(void) {
    problem P = make(&SHAPES[6], 5);
    tl_conv2d *p = plan(&P.s);
    float *y = malloc(P.no * 4), *dx = calloc(P.ni, 4), *dx2 = calloc(P.ni, 4), *dw = calloc(P.nw, 4);
    float *db = calloc(P.s.OC, 4);
    tl_conv2d_forward(p, y, P.x, P.w, P.b);
    tl_conv2d_backward(p, dx, dw, db, P.g, P.x, P.w);
    tl_conv2d_backward(p, dx2, NULL, NULL, P.g, P.x, P.w);
    CHECK(memcmp(dx, dx2, P.ni * 4) == 0);
    tl_conv2d_backward(p, NULL, NULL, NULL, P.g, P.x, P.w);
    CHECK(memcmp(dx, dx2, P.ni * 4) == 0);
    free(y); free(dx); free(dx2); free(dw); free(db);
    tl_conv2d_free(p);
    unmake(&P);
}

/* Backward with another input than the latest forward's must use that input (the plan caches the
 * forward's reordered input only for the same pointer); and a plan shared by two layers. */
static void test_input_cache(void) {
    const cshape *s = &SHAPES[7];
    problem A = make(s, 31), B = make(s, 32);
    memcpy(B.w, A.w, A.nw * 4); memcpy(B.wd, A.wd, A.nw * 8);
    memcpy(B.g, A.g, A.no * 4); memcpy(B.gd, A.gd, A.no * 8);
    tl_conv2d *p = plan(s);
    float *y = malloc(A.no * 4), *dwa = calloc(A.nw, 4), *dwb = calloc(A.nw, 4), *dwb2 = calloc(A.nw, 4);
    tl_conv2d_forward(p, y, B.x, B.w, NULL);
    tl_conv2d_backward(p, NULL, dwb, NULL, B.g, B.x, B.w);
    tl_conv2d_forward(p, y, A.x, A.w, NULL);    /* layer A forward, then layer B forward, ... */
    tl_conv2d_forward(p, y, B.x, B.w, NULL);
    tl_conv2d_backward(p, NULL, dwb2, NULL, B.g, B.x, B.w);     /* ... B backward, A backward */
    tl_conv2d_backward(p, NULL, dwa, NULL, A.g, A.x, A.w);
    CHECK(memcmp(dwb, dwb2, A.nw * 4) == 0);
    int bad = 0;
    for (size_t i = 0; i < A.nw; i++) {
        double want = fd(&A, A.wd, i);
        bad += !(fabs(dwa[i] - want) <= 1e-4 * fmax(1, fabs(want)));
    }
    CHECK_MSG(bad == 0, "%d weight gradients off", bad);
    free(y); free(dwa); free(dwb); free(dwb2);
    tl_conv2d_free(p);
    unmake(&A); unmake(&B);
}

/* Two fresh plans, and one plan used twice, give bitwise equal outputs and gradients. */
static void run_once(const cshape *s, problem *P, float *y, float *dx, float *dw, float *db, tl_conv2d *p) {
    memset(dx, 0, P->ni * 4); memset(dw, 0, P->nw * 4); memset(db, 0, s->OC * 4);
    tl_conv2d_forward(p, y, P->x, P->w, P->b);
    tl_conv2d_backward(p, dx, dw, db, P->g, P->x, P->w);
}

static void test_deterministic(void) {
    cshape s = {64, 16, 16, 16, 32, 3, 1, 1, 1, 1};
    problem P = make(&s, 7);
    float *y[3], *dx[3], *dw[3], *db[3];
    tl_conv2d *p1 = plan(&s), *p2 = plan(&s);
    for (int r = 0; r < 3; r++) {
        y[r] = malloc(P.no * 4); dx[r] = malloc(P.ni * 4); dw[r] = malloc(P.nw * 4); db[r] = malloc(s.OC * 4);
        run_once(&s, &P, y[r], dx[r], dw[r], db[r], r == 1 ? p2 : p1);
    }
    for (int r = 1; r < 3; r++) {
        CHECK(memcmp(y[0], y[r], P.no * 4) == 0);
        CHECK(memcmp(dx[0], dx[r], P.ni * 4) == 0);
        CHECK(memcmp(dw[0], dw[r], P.nw * 4) == 0);
        CHECK(memcmp(db[0], db[r], s.OC * 4) == 0);
    }
    for (int r = 0; r < 3; r++) { free(y[r]); free(dx[r]); free(dw[r]); free(db[r]); }
    tl_conv2d_free(p1);
    tl_conv2d_free(p2);
    unmake(&P);
}

/* Two plans of different shapes sharing one work area, used interleaved as a network uses them (A
 * forward, B forward, B backward, A backward), give bitwise what each gives with its own area. */
static void test_shared_work(void) {
    const cshape *sa = &SHAPES[3], *sb = &SHAPES[7];
    problem A = make(sa, 41), B = make(sb, 42);
    float *ref[2][4], *got[2][4];
    const cshape *sh[2] = {sa, sb};
    problem *P[2] = {&A, &B};
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < 2; v++) {
            float **o = v ? got[k] : ref[k];
            o[0] = malloc(P[k]->no * 4); o[1] = calloc(P[k]->ni, 4); o[2] = calloc(P[k]->nw, 4); o[3] = calloc(sh[k]->OC, 4);
        }
    for (int k = 0; k < 2; k++) {   /* each alone, with its own work area */
        tl_conv2d *p = plan(sh[k]);
        run_once(sh[k], P[k], ref[k][0], ref[k][1], ref[k][2], ref[k][3], p);
        tl_conv2d_free(p);
    }
    tl_conv2d *pa = plan(sa), *pb = plan(sb);
    size_t wa = tl_conv2d_work_size(pa), wb = tl_conv2d_work_size(pb), w = wa > wb ? wa : wb;
    CHECK(wa > 0 && wb > 0);
    void *work = aligned_alloc(64, (w + 63) / 64 * 64);
    memset(work, 0xff, w);   /* NaN garbage: a buffer read before it is written would show */
    CHECK(tl_conv2d_share_work(pa, work) == 0 && tl_conv2d_share_work(pb, work) == 0);
    tl_conv2d_forward(pa, got[0][0], A.x, A.w, A.b);
    tl_conv2d_forward(pb, got[1][0], B.x, B.w, B.b);
    tl_conv2d_backward(pb, got[1][1], got[1][2], got[1][3], B.g, B.x, B.w);
    tl_conv2d_backward(pa, got[0][1], got[0][2], got[0][3], A.g, A.x, A.w);
    for (int k = 0; k < 2; k++) {
        CHECK(memcmp(ref[k][0], got[k][0], P[k]->no * 4) == 0);
        CHECK(memcmp(ref[k][1], got[k][1], P[k]->ni * 4) == 0);
        CHECK(memcmp(ref[k][2], got[k][2], P[k]->nw * 4) == 0);
        CHECK(memcmp(ref[k][3], got[k][3], sh[k]->OC * 4) == 0);
        for (int v = 0; v < 4; v++) { free(ref[k][v]); free(got[k][v]); }
    }
    tl_conv2d_free(pa);
    tl_conv2d_free(pb);
    free(work);
    unmake(&A); unmake(&B);
}

static void test_bad_shapes(void) {
    CHECK(tl_conv2d_create(2, 3, 2, 2, 4, 5, 1, 1, 0, 1) == NULL);   /* kernel larger than padded input */
    CHECK(tl_conv2d_create(0, 3, 8, 8, 4, 3, 1, 1, 0, 1) == NULL);
    CHECK(tl_conv2d_create(2, 3, 8, 8, 4, 3, 0, 1, 0, 1) == NULL);
    CHECK(tl_conv2d_create_layout(2, 6, 8, 8, 4, 3, 1, 1, 4, 0, TL_NCHW, TL_NCHW, 1) == NULL);   /* groups divide neither */
    tl_conv2d_free(NULL);
}

int main(void) {
    RUN_TEST(test_forward);
    RUN_TEST(test_backward_accumulates);
    RUN_TEST(test_backward_null_dinp);
    RUN_TEST(test_backward_null_weights);
    RUN_TEST(test_input_cache);
    RUN_TEST(test_deterministic);
    RUN_TEST(test_shared_work);
    RUN_TEST(test_bad_shapes);
    TEST_MAIN_END();
}
