#include <stdlib.h>
#include <string.h>
#include "models/net.h"

static int grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need) ncap *= 2;
    void *q = realloc(*p, (size_t)ncap * elem);
    if (!q) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

static int add_buf(tl_net *net, tl_chw s, int alias) {
    int cap = net->cap_bufs;
    if (grow((void **)&net->shape, &cap, net->nbufs + 1, sizeof *net->shape)) return -1;
    cap = net->cap_bufs;
    if (grow((void **)&net->alias, &cap, net->nbufs + 1, sizeof *net->alias)) return -1;
    net->cap_bufs = cap;
    net->shape[net->nbufs] = s;
    net->alias[net->nbufs] = alias < 0 ? net->nbufs : alias;
    return net->nbufs++;
}

int tl_net_input(tl_net *net, tl_chw shape) { return add_buf(net, shape, -1); }

int tl_net_push(tl_net *net, const tl_op *op, tl_chw out_shape, int in_place) {
    if (grow((void **)&net->ops, &net->cap_ops, net->nops + 1, sizeof *net->ops)) return -1;
    int out = add_buf(net, out_shape, in_place ? net->alias[op->in] : -1);
    if (out < 0) return -1;
    net->ops[net->nops] = *op;
    net->ops[net->nops].out = out;
    net->nops++;
    return out;
}

/* Carves every per-batch array out of the arena; called twice (measure, then allocate). */
static void carve(tl_net *net, int N) {
    tl_arena *a = &net->arena;
    for (int b = 0; b < net->nbufs; b++) {
        if (net->alias[b] != b) continue;
        size_t n = (size_t)N * tl_chw_size(net->shape[b]);
        net->act[b] = tl_arena_floats(a, n);
        net->grad[b] = tl_arena_floats(a, n);
    }
    for (int b = 0; b < net->nbufs; b++)
        if (net->alias[b] != b) { net->act[b] = net->act[net->alias[b]]; net->grad[b] = net->grad[net->alias[b]]; }
    for (int i = 0; i < net->nops; i++) {
        tl_op *op = &net->ops[i];
        tl_chw s = net->shape[op->out];
        if (op->kind == TL_OP_BN) {
            op->save_mean = tl_arena_floats(a, (size_t)s.c);
            op->save_invstd = tl_arena_floats(a, (size_t)s.c);
        } else if (op->kind == TL_OP_MAXPOOL) {
            op->argmax = tl_arena_alloc(a, (size_t)N * tl_chw_size(s) * sizeof(int32_t));
        } else if (op->kind == TL_OP_DROPOUT) {
            op->mask = tl_arena_floats(a, (size_t)N * tl_chw_size(s));
        }
    }
}

int tl_net_alloc(tl_net *net, int N, int nthreads) {
    net->N = N;
    net->nthreads = nthreads;
    net->act = calloc((size_t)net->nbufs, sizeof *net->act);
    net->grad = calloc((size_t)net->nbufs, sizeof *net->grad);
    if (!net->act || !net->grad) return -1;
    tl_arena_measure(&net->arena);
    carve(net, N);
    if (tl_arena_init(&net->arena, net->arena.used)) return -1;
    carve(net, N);
    for (int i = 0; i < net->nops; i++) {
        tl_op *op = &net->ops[i];
        if (op->kind != TL_OP_CONV) continue;
        tl_chw in = net->shape[op->in], out = net->shape[op->out];
        op->conv = tl_conv2d_create(N, in.c, in.h, in.w, out.c, op->k, op->stride, op->pad, op->b != TL_NONE, nthreads);
        if (!op->conv) return -1;
    }
    return 0;
}

void tl_net_free(tl_net *net) {
    for (int i = 0; i < net->nops; i++) tl_conv2d_free(net->ops[i].conv);
    free(net->ops);
    free(net->shape);
    free(net->alias);
    free(net->act);
    free(net->grad);
    tl_arena_free(&net->arena);
    memset(net, 0, sizeof *net);
}

static const float *opt(const float *base, size_t off) { return off == TL_NONE ? NULL : base + off; }
static float *optw(float *base, size_t off) { return off == TL_NONE ? NULL : base + off; }

void tl_net_forward(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng) {
    int N = net->N, nt = net->nthreads;
    for (int i = 0; i < net->nops; i++) {
        tl_op *op = &net->ops[i];
        tl_chw is = net->shape[op->in], os = net->shape[op->out];
        const float *x = net->act[op->in];
        float *y = net->act[op->out];
        size_t n = (size_t)N * tl_chw_size(os);
        switch (op->kind) {
        case TL_OP_CONV:
            tl_conv2d_forward(op->conv, y, x, params + op->w, opt(params, op->b));
            break;
        case TL_OP_BN:
            if (train)
                tl_batchnorm_forward_train(y, op->save_mean, op->save_invstd, state + op->run_mean, state + op->run_var,
                                           x, params + op->w, params + op->b, N, is.c, is.h * is.w, op->eps, op->momentum, nt);
            else
                tl_batchnorm_forward_eval(y, x, params + op->w, params + op->b, state + op->run_mean, state + op->run_var,
                                          N, is.c, is.h * is.w, op->eps, nt);
            break;
        case TL_OP_RELU: tl_relu_forward(y, x, n, nt); break;
        case TL_OP_AVGPOOL: tl_avgpool2d_forward(y, x, N, is.c, is.h, is.w, op->k, nt); break;
        case TL_OP_MAXPOOL: tl_maxpool2d_forward(y, op->argmax, x, N, is.c, is.h, is.w, op->k, op->stride, op->pad, nt); break;
        case TL_OP_GAP: tl_gap_forward(y, x, N, is.c, is.h * is.w, nt); break;
        case TL_OP_LINEAR: tl_linear_forward(y, x, params + op->w, opt(params, op->b), N, (int)tl_chw_size(is), os.c, nt); break;
        case TL_OP_ADD: tl_add_forward(y, x, net->act[op->in2], n, nt); break;
        case TL_OP_SHORTCUT_A: tl_shortcut_a_forward(y, x, N, is.c, is.h, is.w, os.c, nt); break;
        case TL_OP_DROPOUT:
            if (train || op->mc) tl_dropout_forward(y, op->mask, x, n, op->p, dropout_rng);
            else memcpy(y, x, n * sizeof *y);
            break;
        }
    }
}

void tl_net_backward(tl_net *net, const float *params, float *grads, const float *state, int train,
                     int need_input_grad) {
    int N = net->N, nt = net->nthreads;
    for (int i = net->nops - 1; i >= 0; i--) {
        tl_op *op = &net->ops[i];
        tl_chw is = net->shape[op->in], os = net->shape[op->out];
        const float *x = net->act[op->in], *y = net->act[op->out], *dy = net->grad[op->out];
        /* The net's input (buffer 0) needs a gradient only when asked for (M2m optimises the image). */
        float *dx = (op->in == 0 && !need_input_grad) ? NULL : net->grad[op->in];
        size_t n = (size_t)N * tl_chw_size(os);
        switch (op->kind) {
        case TL_OP_CONV:
            tl_conv2d_backward(op->conv, dx, optw(grads, op->w), optw(grads, op->b), dy, x, params + op->w);
            break;
        case TL_OP_BN:
            if (train)
                tl_batchnorm_backward(dx, optw(grads, op->w), optw(grads, op->b), dy, x, op->save_mean, op->save_invstd,
                                      params + op->w, N, is.c, is.h * is.w, nt);
            else
                tl_batchnorm_backward_eval(dx, dy, params + op->w, state + op->run_var, N, is.c, is.h * is.w, op->eps, nt);
            break;
        case TL_OP_RELU:
            /* In place: dx and dy are the same buffer, so mask it rather than accumulate. */
            if (dx == dy) {
                for (size_t j = 0; j < n; j++) if (!(y[j] > 0)) dx[j] = 0;
            } else {
                tl_relu_backward(dx, dy, y, n, nt);
            }
            break;
        case TL_OP_AVGPOOL: tl_avgpool2d_backward(dx, dy, N, is.c, is.h, is.w, op->k, nt); break;
        case TL_OP_MAXPOOL: tl_maxpool2d_backward(dx, dy, op->argmax, N, is.c, is.h, is.w, op->k, op->stride, op->pad, nt); break;
        case TL_OP_GAP: tl_gap_backward(dx, dy, N, is.c, is.h * is.w, nt); break;
        case TL_OP_LINEAR:
            tl_linear_backward(dx, optw(grads, op->w), optw(grads, op->b), dy, x, params + op->w, N, (int)tl_chw_size(is), os.c, nt);
            break;
        case TL_OP_ADD: tl_add_backward(dx, net->grad[op->in2], dy, n, nt); break;
        case TL_OP_SHORTCUT_A: tl_shortcut_a_backward(dx, dy, N, is.c, is.h, is.w, os.c, nt); break;
        case TL_OP_DROPOUT:
            if (train || op->mc) tl_dropout_backward(dx, dy, op->mask, n);
            else tl_add_backward(dx, NULL, dy, n, nt);
            break;
        }
    }
}

void tl_net_zero_grad(tl_net *net) {
    for (int b = 0; b < net->nbufs; b++)
        if (net->alias[b] == b) memset(net->grad[b], 0, (size_t)net->N * tl_chw_size(net->shape[b]) * sizeof(float));
}
