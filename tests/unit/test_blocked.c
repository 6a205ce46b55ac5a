/* The blocked layout nChw16c (src/nn/bn_act16.c, the "16" kernels of gap.c and shortcut_a.c, the
 * layouts of conv2d.c, the layout choice of src/models/net.c): every blocked kernel gives the plain
 * kernel's results (proved correct by finite differences and PyTorch parity elsewhere) on the same
 * data reordered, to rounding of the sums; blocked BN is bitwise reproducible across thread counts and
 * its recomputation reproduces its forward; a network keeps the right buffers blocked and trains to
 * the same outputs and gradients as the same network kept plain, also when it recomputes its largest
 * conv outputs in backward instead of keeping them. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "models/model.h"
#include "models/net.h"
#include "nn/nn.h"

static float *vec(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static float *randn(size_t n, tl_rng *rng, float mean, float sd) {
    float *v = vec(n);
    for (size_t i = 0; i < n; i++) v[i] = mean + sd * (float)tl_rng_normal(rng);
    return v;
}

/* A copy of src [N, C, HW] in nChw16c (to_blocked), or of src in nChw16c back in NCHW; C a multiple
 * of 16. */
static float *reorder16(const float *src, int N, int C, int HW, int to_blocked) {
    float *dst = vec((size_t)N * C * HW);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < HW; s++) {
                size_t plain = ((size_t)n * C + c) * HW + s;
                size_t blocked = (((size_t)n * (C / 16) + c / 16) * HW + s) * 16 + c % 16;
                dst[to_blocked ? blocked : plain] = src[to_blocked ? plain : blocked];
            }
    return dst;
}
static float *to16(const float *src, int N, int C, int HW) { return reorder16(src, N, C, HW, 1); }
static float *from16(const float *src, int N, int C, int HW) { return reorder16(src, N, C, HW, 0); }

/* A blocked result, back in NCHW, against the plain one: count of entries off by more than tol. */
static int off16(const float *blocked, const float *plain, int N, int C, int HW, double tol) {
    float *b = from16(blocked, N, C, HW);
    int bad = 0;
    for (size_t i = 0; i < (size_t)N * C * HW; i++)
        bad += !(fabs((double)b[i] - plain[i]) <= tol * fmax(1.0, fabs((double)plain[i])));
    free(b);
    return bad;
}

static void bn_case(int res, int relu, int from_y) {
    const int N = 5, C = 32, HW = 37;   /* HW over one pixel chunk, N not a multiple of the chunks */
    size_t n = (size_t)N * C * HW;
    tl_rng rng;
    tl_rng_seed(&rng, (uint64_t)(17 + res * 2 + relu), 0);
    float *x = randn(n, &rng, 1.5f, 2), *r = randn(n, &rng, 0, 1), *dy = randn(n, &rng, 0, 1);
    float *g = randn(C, &rng, 1, 0.3f), *b = randn(C, &rng, 0, 0.3f);
    float *x16 = to16(x, N, C, HW), *r16 = to16(r, N, C, HW), *dy16 = to16(dy, N, C, HW);
    float rm[2][32] = {{0}}, rv[2][32], m[2][32], s[2][32], rm16[2][32] = {{0}}, rv16[2][32], m16[2][32], s16[2][32];
    for (int c = 0; c < C; c++) rv[0][c] = rv[1][c] = rv16[0][c] = rv16[1][c] = 1;
    float *y = vec(n), *dx = vec(n), *dr = vec(n), dg[32] = {0}, db[32] = {0};
    float *y16[2] = {vec(n), vec(n)}, *dx16[2] = {vec(n), vec(n)}, *dr16[2] = {vec(n), vec(n)};
    float dg16[2][32] = {{0}}, db16[2][32] = {{0}};
    tl_bn_act_forward_train(y, m[0], s[0], rm[0], rv[0], x, res ? r : NULL, g, b, N, C, HW, 1e-5f, 0.1f, relu, 1);
    tl_bn_act_backward(dx, res ? dr : NULL, dg, db, dy, x, from_y ? y : NULL, m[0], s[0], g, b, N, C, HW, relu, 0, 1);
    for (int t = 0; t < 2; t++) {
        tl_bn_act16_forward_train(y16[t], m16[t], s16[t], rm16[t], rv16[t], x16, res ? r16 : NULL, g, b, N, C, HW,
                                  1e-5f, 0.1f, relu, t + 1);
        tl_bn_act16_backward(dx16[t], res ? dr16[t] : NULL, dg16[t], db16[t], dy16, x16, from_y ? y16[t] : NULL,
                             m16[t], s16[t], g, b, N, C, HW, relu, 0, t + 1);
    }
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(m16[0][c], m[0][c], 1e-6); CHECK_CLOSE(s16[0][c], s[0][c], 1e-6);
        CHECK_CLOSE(rm16[0][c], rm[0][c], 1e-6); CHECK_CLOSE(rv16[0][c], rv[0][c], 1e-6);
        CHECK_CLOSE(dg16[0][c], dg[c], 1e-4); CHECK_CLOSE(db16[0][c], db[c], 1e-4);
    }
    CHECK_MSG(off16(y16[0], y, N, C, HW, 1e-5) == 0, "forward");
    CHECK_MSG(off16(dx16[0], dx, N, C, HW, 1e-4) == 0, "dinp");
    if (res) CHECK_MSG(off16(dr16[0], dr, N, C, HW, 1e-6) == 0, "dres");
    CHECK_MSG(memcmp(y16[0], y16[1], n * 4) == 0 && memcmp(dx16[0], dx16[1], n * 4) == 0
              && memcmp(dr16[0], dr16[1], n * 4) == 0 && memcmp(m16[0], m16[1], sizeof m16[0]) == 0
              && memcmp(dg16[0], dg16[1], sizeof dg16[0]) == 0, "1 and 2 threads differ");
    /* the recomputation gives the forward's bits; overwriting over garbage gives accumulating over zeros */
    tl_bn_act16_apply(y16[1], x16, res ? r16 : NULL, m16[0], s16[0], g, b, N, C, HW, relu, 2);
    CHECK_MSG(memcmp(y16[0], y16[1], n * 4) == 0, "recomputed output differs from the forward's");
    for (size_t i = 0; i < n; i++) dx16[1][i] = dr16[1][i] = 1e30f;
    tl_bn_act16_backward(dx16[1], res ? dr16[1] : NULL, NULL, NULL, dy16, x16, from_y ? y16[0] : NULL, m16[0], s16[0],
                         g, b, N, C, HW, relu, 1, 2);
    CHECK(memcmp(dx16[0], dx16[1], n * 4) == 0 && (!res || memcmp(dr16[0], dr16[1], n * 4) == 0));
    /* evaluation mode with the running statistics */
    memset(dx, 0, n * 4); memset(dr, 0, n * 4); memset(dx16[0], 0, n * 4); memset(dr16[0], 0, n * 4);
    tl_bn_act_forward_eval(y, x, res ? r : NULL, g, b, rm[0], rv[0], N, C, HW, 1e-5f, relu, 1);
    tl_bn_act16_forward_eval(y16[0], x16, res ? r16 : NULL, g, b, rm[0], rv[0], N, C, HW, 1e-5f, relu, 2);
    CHECK_MSG(off16(y16[0], y, N, C, HW, 1e-6) == 0, "eval forward");
    tl_bn_act_backward_eval(dx, res ? dr : NULL, dy, x, from_y ? y : NULL, g, b, rm[0], rv[0], N, C, HW, 1e-5f, relu, 0, 1);
    tl_bn_act16_backward_eval(dx16[0], res ? dr16[0] : NULL, dy16, x16, from_y ? y16[0] : NULL, g, b, rm[0], rv[0],
                              N, C, HW, 1e-5f, relu, 0, 2);
    CHECK_MSG(off16(dx16[0], dx, N, C, HW, 1e-6) == 0 && (!res || off16(dr16[0], dr, N, C, HW, 1e-6) == 0), "eval backward");
    free(x); free(r); free(dy); free(g); free(b); free(x16); free(r16); free(dy16); free(y); free(dx); free(dr);
    for (int t = 0; t < 2; t++) { free(y16[t]); free(dx16[t]); free(dr16[t]); }
}

static void test_bn_matches_plain(void) {
    for (int res = 0; res < 2; res++)
        for (int relu = 0; relu < 2; relu++) {
            bn_case(res, relu, 0);
            if (relu) bn_case(res, relu, 1);
        }
}

static void test_gap_shortcut_match_plain(void) {
    const int N = 3, C = 32, OC = 64, H = 7, W = 5, HW = H * W, OH = 4, OW = 3;
    tl_rng rng;
    tl_rng_seed(&rng, 3, 0);
    float *x = randn((size_t)N * C * HW, &rng, 0, 1), *x16 = to16(x, N, C, HW);
    float *gap = vec((size_t)N * C), *gap16 = vec((size_t)N * C), *dx = vec((size_t)N * C * HW), *dx16 = vec((size_t)N * C * HW);
    tl_gap_forward(gap, x, N, C, HW, 1);
    tl_gap16_forward(gap16, x16, N, C, HW, 2);
    for (int i = 0; i < N * C; i++) CHECK_CLOSE(gap16[i], gap[i], 1e-6);
    tl_gap_backward(dx, gap, N, C, HW, 1);
    tl_gap16_backward(dx16, gap, N, C, HW, 2);
    CHECK_MSG(off16(dx16, dx, N, C, HW, 0) == 0, "gap backward");
    size_t no = (size_t)N * OC * OH * OW;
    float *y = vec(no), *y16 = vec(no), *dy = randn(no, &rng, 0, 1), *dy16 = to16(dy, N, OC, OH * OW);
    tl_shortcut_a_forward(y, x, N, C, H, W, OC, 1);
    tl_shortcut_a16_forward(y16, x16, N, C, H, W, OC, 2);
    CHECK_MSG(off16(y16, y, N, OC, OH * OW, 0) == 0, "shortcut forward");
    tl_shortcut_a_backward(dx, dy, N, C, H, W, OC, 1);
    tl_shortcut_a16_backward(dx16, dy16, N, C, H, W, OC, 2);
    CHECK_MSG(off16(dx16, dx, N, C, HW, 0) == 0, "shortcut backward");
    free(x); free(x16); free(gap); free(gap16); free(dx); free(dx16); free(y); free(y16); free(dy); free(dy16);
}

/* Max pooling with padding (the ResNet stem's 3x3, stride 2, pad 1) in nChw16c gives the plain
 * kernel's output, winners and accumulated gradient bit for bit; integer inputs make ties. */
static void test_maxpool_matches_plain(void) {
    const int N = 2, C = 32, H = 7, W = 6, K = 3, S = 2, P = 1, OH = 4, OW = 3, HW = H * W, OHW = OH * OW;
    tl_rng rng;
    tl_rng_seed(&rng, 4, 0);
    float *x = randn((size_t)N * C * HW, &rng, 0, 2);
    for (int i = 0; i < N * C * HW; i++) x[i] = roundf(x[i]);
    float *x16 = to16(x, N, C, HW), *y = vec((size_t)N * C * OHW), *y16 = vec((size_t)N * C * OHW);
    int32_t *am = calloc((size_t)N * C * OHW, 4), *am16 = calloc((size_t)N * C * OHW, 4);
    tl_maxpool2d_forward(y, am, x, N, C, H, W, K, S, P, 1);
    tl_maxpool2d16_forward(y16, am16, x16, N, C, H, W, K, S, P, 2);
    CHECK_MSG(off16(y16, y, N, C, OHW, 0) == 0, "max pooling forward");
    float *dy = randn((size_t)N * C * OHW, &rng, 0, 1), *dy16 = to16(dy, N, C, OHW);
    float *dx = randn((size_t)N * C * HW, &rng, 0, 1), *dx16 = to16(dx, N, C, HW);
    tl_maxpool2d_backward(dx, dy, am, N, C, H, W, K, S, P, 1);
    tl_maxpool2d16_backward(dx16, dy16, am16, N, C, H, W, K, S, P, 2);
    CHECK_MSG(off16(dx16, dx, N, C, HW, 0) == 0, "max pooling backward");
    free(x); free(x16); free(y); free(y16); free(am); free(am16); free(dy); free(dy16); free(dx); free(dx16);
}

/* Every pair of input and output layouts gives the plain plan's output and gradients. */
static void test_conv_layouts(void) {
    const int N = 4, C = 16, H = 9, W = 9, OC = 32, K = 3;
    tl_rng rng;
    tl_rng_seed(&rng, 11, 0);
    size_t ni = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K, no = (size_t)N * OC * 5 * 5;
    float *x = randn(ni, &rng, 0, 1), *w = randn(nw, &rng, 0, 0.1f), *bias = randn(OC, &rng, 0, 0.1f);
    float *dy = randn(no, &rng, 0, 1), *x16 = to16(x, N, C, H * W), *dy16 = to16(dy, N, OC, 25);
    float *ref_y = NULL, *ref_dx = NULL, *ref_dw = NULL;
    for (int lin = 0; lin < 2; lin++)
        for (int lout = 0; lout < 2; lout++) {
            tl_conv2d *p = tl_conv2d_create_layout(N, C, H, W, OC, K, 2, 1, 1, 1, lin, lout, 2);
            CHECK(p != NULL);
            if (!p) continue;
            float *y = vec(no), *dx = vec(ni), *dw = vec(nw), db[32] = {0};
            const float *in = lin ? x16 : x;
            tl_conv2d_forward(p, y, in, w, bias);
            tl_conv2d_backward(p, dx, dw, db, lout ? dy16 : dy, in, w);
            if (lout) { float *t = from16(y, N, OC, 25); free(y); y = t; }
            if (lin) { float *t = from16(dx, N, C, H * W); free(dx); dx = t; }
            if (!ref_y) { ref_y = y; ref_dx = dx; ref_dw = dw; tl_conv2d_free(p); continue; }
            int bad = 0;
            for (size_t i = 0; i < no; i++) bad += !(fabsf(y[i] - ref_y[i]) <= 1e-5f);
            for (size_t i = 0; i < ni; i++) bad += !(fabsf(dx[i] - ref_dx[i]) <= 1e-5f);
            for (size_t i = 0; i < nw; i++) bad += !(fabsf(dw[i] - ref_dw[i]) <= 1e-4f);
            CHECK_MSG(bad == 0, "layouts in %d out %d: %d entries differ", lin, lout, bad);
            free(y); free(dx); free(dw);
            tl_conv2d_free(p);
        }
    CHECK(tl_conv2d_create_layout(N, 3, H, W, OC, K, 1, 1, 1, 0, TL_NCHW16C, TL_NCHW, 1) == NULL);
    free(x); free(w); free(bias); free(dy); free(x16); free(dy16); free(ref_y); free(ref_dx); free(ref_dw);
}

/* A small residual network: conv-BN-ReLU, a block with an option-A shortcut, global pooling. */
typedef struct { tl_net net; size_t np, ns; int b[8]; } small_net;

static int push(small_net *s, tl_op op, tl_chw shape) { return tl_net_push(&s->net, &op, shape); }

static int conv(small_net *s, int in, int oc, int stride) {
    tl_chw i = s->net.shape[in];
    tl_op op = {.kind = TL_OP_CONV, .in = in, .k = 3, .stride = stride, .pad = 1, .w = s->np, .b = TL_NONE};
    s->np += (size_t)oc * i.c * 9;
    return push(s, op, (tl_chw){oc, (i.h - 1) / stride + 1, (i.w - 1) / stride + 1});
}

static int bn(small_net *s, int in, int res) {
    tl_chw i = s->net.shape[in];
    tl_op op = {.kind = TL_OP_BN, .in = in, .in2 = res, .relu = 1, .eps = 1e-5f, .momentum = 0.1f,
                .w = s->np, .b = s->np + (size_t)i.c, .run_mean = s->ns, .run_var = s->ns + (size_t)i.c};
    s->np += 2 * (size_t)i.c;
    s->ns += 2 * (size_t)i.c;
    return push(s, op, i);
}

static void build(small_net *s, int plain_only, int recompute_conv) {
    memset(s, 0, sizeof *s);
    int x = tl_net_input(&s->net, (tl_chw){3, 8, 8});
    s->b[0] = conv(s, x, 16, 1);
    s->b[1] = bn(s, s->b[0], -1);
    s->b[2] = conv(s, s->b[1], 32, 2);
    s->b[3] = bn(s, s->b[2], -1);
    s->b[4] = conv(s, s->b[3], 32, 1);
    s->b[5] = push(s, (tl_op){.kind = TL_OP_SHORTCUT_A, .in = s->b[1]}, (tl_chw){32, 4, 4});
    s->b[6] = bn(s, s->b[4], s->b[5]);
    s->b[7] = push(s, (tl_op){.kind = TL_OP_GAP, .in = s->b[6]}, (tl_chw){32, 1, 1});
    s->net.plain_only = plain_only;
    s->net.recompute_conv = recompute_conv;
}

/* Kept plain (the reference), blocked, and blocked with the full-size conv output recomputed in
 * backward instead of kept: the same features, gradients and running statistics. */
static void test_net_blocked_matches_plain(void) {
    const int N = 6;
    small_net s[3];
    float *grads[3], *state[3];
    for (int k = 0; k < 3; k++) {
        build(&s[k], k == 0, k == 2);
        CHECK(tl_net_alloc(&s[k].net, N, 2) == 0);
    }
    /* blocked: every buffer between the input and the pooled features */
    for (int j = 0; j < 7; j++) CHECK_MSG(s[1].net.blocked[s[1].b[j]] && !s[0].net.blocked[s[0].b[j]], "buffer %d", j);
    CHECK(!s[1].net.blocked[0] && !s[1].net.blocked[s[1].b[7]]);
    /* recomputed: the first conv's output (full size, input kept) and the BN outputs without residual */
    CHECK(s[2].net.rec[s[2].b[0]] && s[2].net.rec[s[2].b[1]] && s[2].net.rec[s[2].b[3]]);
    CHECK(!s[1].net.rec[s[1].b[0]] && !s[2].net.rec[s[2].b[2]] && !s[2].net.rec[s[2].b[4]]);
    CHECK(s[2].net.mem.kept < s[1].net.mem.kept);
    tl_rng rng;
    tl_rng_seed(&rng, 5, 0);
    float *params = randn(s[0].np, &rng, 0, 0.2f), *img = randn((size_t)N * 3 * 64, &rng, 0, 1);
    float *dfeat = randn((size_t)N * 32, &rng, 0, 1);
    for (int k = 0; k < 3; k++) {
        tl_net *net = &s[k].net;
        grads[k] = vec(s[k].np);
        state[k] = vec(s[k].ns);
        memcpy(net->act[0], img, (size_t)N * 3 * 64 * 4);
        CHECK(tl_net_forward(net, params, state[k], 1, NULL, NULL) == 0);
        tl_net_zero_grad(net);
        memcpy(net->grad[s[k].b[7]], dfeat, (size_t)N * 32 * 4);
        CHECK(tl_net_backward(net, params, grads[k], state[k], 1, 1, NULL) == 0);
    }
    for (int k = 1; k < 3; k++) {
        const float *f0 = s[0].net.act[s[0].b[7]], *f = s[k].net.act[s[k].b[7]];
        int bad = 0;
        for (int i = 0; i < N * 32; i++) bad += !(fabsf(f[i] - f0[i]) <= 1e-5f);
        for (int i = 0; i < N * 3 * 64; i++) bad += !(fabsf(s[k].net.grad[0][i] - s[0].net.grad[0][i]) <= 1e-4f);
        for (size_t i = 0; i < s[0].np; i++)
            bad += !(fabsf(grads[k][i] - grads[0][i]) <= 1e-4f * fmaxf(1, fabsf(grads[0][i])));
        for (size_t i = 0; i < s[0].ns; i++) bad += !(fabsf(state[k][i] - state[0][i]) <= 1e-5f);
        CHECK_MSG(bad == 0, "%d values differ from the plain network's (network %d)", bad, k);
    }
    /* recomputing reproduces the kept values bit for bit */
    CHECK(memcmp(grads[1], grads[2], s[1].np * 4) == 0);
    /* evaluation mode (running statistics), input gradient through the frozen net, as M2m does it,
     * on two images in turn: the second forward must not see anything the first backward left */
    float *img2 = randn((size_t)N * 3 * 64, &rng, 0, 1), *feat = vec((size_t)2 * N * 32), *dimg = vec((size_t)2 * N * 3 * 64);
    for (int k = 0; k < 3; k++) {
        tl_net *net = &s[k].net;
        for (int rep = 0; rep < 2; rep++) {
            memcpy(net->act[0], rep ? img2 : img, (size_t)N * 3 * 64 * 4);
            CHECK(tl_net_forward(net, params, state[k], 0, NULL, NULL) == 0);
            tl_net_zero_grad(net);
            memcpy(net->grad[s[k].b[7]], dfeat, (size_t)N * 32 * 4);
            CHECK(tl_net_backward(net, params, NULL, state[k], 0, 1, NULL) == 0);
            float *f = feat + (size_t)rep * N * 32, *d = dimg + (size_t)rep * N * 3 * 64;
            if (k == 0) {   /* the plain network keeps every conv output: the reference */
                memcpy(f, net->act[s[k].b[7]], (size_t)N * 32 * 4);
                memcpy(d, net->grad[0], (size_t)N * 3 * 64 * 4);
                continue;
            }
            int bad = 0;
            for (int i = 0; i < N * 32; i++) bad += !(fabsf(net->act[s[k].b[7]][i] - f[i]) <= 1e-5f);
            for (int i = 0; i < N * 3 * 64; i++) bad += !(fabsf(net->grad[0][i] - d[i]) <= 1e-4f);
            CHECK_MSG(bad == 0, "evaluation mode: %d values differ (network %d, image %d)", bad, k, rep);
        }
    }
    free(img2);
    free(feat); free(dimg);
    for (int k = 0; k < 3; k++) { free(grads[k]); free(state[k]); tl_net_free(&s[k].net); }
    free(params); free(img); free(dfeat);
}

/* The inference plan (net.h, Inference): a model built by tl_model_init_inference gives the
 * training-plan model's logits bit for bit at the same batch size, and the same features bit for bit
 * at any batch size (each row's sums do not depend on the other rows; the linear head's GEMM may
 * pick another kernel for another row count), in a smaller slab with no gradients; backward fails on
 * it. The cnn and resnet32 (blocked buffers, residual BN, option-A shortcuts) on small images. */
static void inference_case(const char *arch) {
    enum { NT = 8, C = 10, ROWS = 20 };
    const int batches[] = {NT, 3, 20};
    tl_model_cfg cfg;
    tl_error err = {{0}};
    tl_model train, inf;
    CHECK(tl_model_cfg_default(&cfg, arch, 3, 16, 16, C, &err) == 0);
    CHECK_MSG(tl_model_init(&train, &cfg, NT, 2, 3, &err) == 0, "%s", err.msg);
    tl_rng rng;
    tl_rng_seed(&rng, 11, 0);
    /* running statistics away from (0, 1), so evaluation-mode BN does some arithmetic */
    for (size_t i = 0; i < train.nstate; i++) train.state[i] = (float)(0.5 + 0.25 * tl_rng_uniform(&rng));
    size_t row = (size_t)3 * 16 * 16, D = (size_t)train.cfg.feat_dim;
    float *img = randn(ROWS * row, &rng, 0, 1), *logits = vec((size_t)ROWS * C), *feat = vec(ROWS * D);
    for (int r0 = 0; r0 < ROWS; r0 += NT) {
        int got = ROWS - r0 < NT ? ROWS - r0 : NT;
        memcpy(tl_model_input(&train), img + r0 * row, (size_t)got * row * sizeof(float));
        CHECK(tl_model_forward(&train, 0, NULL, NULL, &err) == 0);
        memcpy(logits + (size_t)r0 * C, train.logits, (size_t)got * C * sizeof(float));
        memcpy(feat + r0 * D, tl_model_features(&train), got * D * sizeof(float));
    }
    for (int k = 0; k < 3; k++) {
        int N = batches[k];
        CHECK_MSG(tl_model_init_inference(&inf, &cfg, N, 2, &err) == 0, "%s", err.msg);
        memcpy(inf.params, train.params, train.nparams * sizeof(float));
        memcpy(inf.state, train.state, train.nstate * sizeof(float));
        CHECK(inf.net.mem.grads == 0 && inf.grads == NULL);
        if (N == NT) CHECK_MSG(inf.net.mem.slab < train.net.mem.slab, "%s: slab %zu of %zu", arch, inf.net.mem.slab,
                               train.net.mem.slab);
        int bad = 0;
        for (int r0 = 0; r0 < ROWS; r0 += N) {
            int got = ROWS - r0 < N ? ROWS - r0 : N;
            memcpy(tl_model_input(&inf), img + r0 * row, (size_t)got * row * sizeof(float));
            CHECK(tl_model_forward(&inf, 0, NULL, NULL, &err) == 0);
            bad += memcmp(feat + r0 * D, tl_model_features(&inf), got * D * sizeof(float)) != 0;
            if (N == NT) bad += memcmp(logits + (size_t)r0 * C, inf.logits, (size_t)got * C * sizeof(float)) != 0;
        }
        CHECK_MSG(bad == 0, "%s, batch %d: %d batches differ from the training plan's", arch, N, bad);
        CHECK(tl_model_backward(&inf, 0, NULL, 0, &err) != 0 && strstr(err.msg, "inference"));
        tl_model_free(&inf);
    }
    tl_model_free(&train);
    free(img); free(logits); free(feat);
}

static void test_inference_plan(void) {
    inference_case("cnn");
    inference_case("resnet32");
}

int main(void) {
    RUN_TEST(test_bn_matches_plain);
    RUN_TEST(test_gap_shortcut_match_plain);
    RUN_TEST(test_maxpool_matches_plain);
    RUN_TEST(test_conv_layouts);
    RUN_TEST(test_net_blocked_matches_plain);
    RUN_TEST(test_inference_plan);
    TEST_MAIN_END();
}
