#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
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

static int add_buf(tl_net *net, tl_chw s) {
    if (grow((void **)&net->shape, &net->cap_bufs, net->nbufs + 1, sizeof *net->shape)) return -1;
    net->shape[net->nbufs] = s;
    return net->nbufs++;
}

int tl_net_input(tl_net *net, tl_chw shape) { return add_buf(net, shape); }

int tl_net_push(tl_net *net, const tl_op *op, tl_chw out_shape) {
    if (grow((void **)&net->ops, &net->cap_ops, net->nops + 1, sizeof *net->ops)) return -1;
    int out = add_buf(net, out_shape);
    if (out < 0) return -1;
    net->ops[net->nops] = *op;
    net->ops[net->nops].out = out;
    net->nops++;
    return out;
}

/* ---- memory plan ---- */

/* Times: 0 the caller writes the input; 1 + i forward of op i; nops + 1 the caller's head;
 * 2·nops + 1 - i backward of op i; 2·nops + 2 the caller reads the input gradient. */
static int t_fwd(int i) { return 1 + i; }
static int t_bwd(const tl_net *net, int i) { return 2 * net->nops + 1 - i; }
static int t_end(const tl_net *net) { return 2 * net->nops + 2; }

/* What backward reads besides gradients: the input's values (conv and linear weight gradients, BN
 * statistics and ReLU mask) and the output's values (the ReLU mask of a BN with a residual). */
static int bwd_reads_in(const tl_op *op) {
    return op->kind == TL_OP_CONV || op->kind == TL_OP_LINEAR || op->kind == TL_OP_BN;
}
static int bwd_reads_out(const tl_op *op) { return op->kind == TL_OP_BN && op->relu && op->in2 >= 0; }
static int has_res(const tl_op *op) { return op->kind == TL_OP_BN && op->in2 >= 0; }

typedef struct {
    int start, end;
    size_t size, off;      /* floats, rounded up to 16 (64 bytes) */
    float **dst;
} tl_req;

static int by_size(const void *a, const void *b) {
    const tl_req *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return (x->start > y->start) - (x->start < y->start);
}
static int by_off(const void *a, const void *b) {
    const tl_req *x = *(tl_req *const *)a, *y = *(tl_req *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Largest first, each at the lowest offset free over its whole interval. Returns the slab size. */
static size_t place(tl_req *r, int n, tl_req **tmp) {
    qsort(r, (size_t)n, sizeof *r, by_size);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int m = 0;
        for (int j = 0; j < i; j++)
            if (r[j].start <= r[i].end && r[i].start <= r[j].end) tmp[m++] = &r[j];
        qsort(tmp, (size_t)m, sizeof *tmp, by_off);
        size_t off = 0;
        for (int j = 0; j < m; j++) {
            if (tmp[j]->off >= off + r[i].size) break;
            if (tmp[j]->off + tmp[j]->size > off) off = tmp[j]->off + tmp[j]->size;
        }
        r[i].off = off;
        if (off + r[i].size > total) total = off + r[i].size;
    }
    return total;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* Builds the interval of every tensor (see net.h) and packs them (net->mem); unless only sizing,
 * allocates the slab and points act/grad/rec into it. */
static int plan(tl_net *net, int sizing) {
    int nb = net->nbufs, nops = net->nops, out = net->ops[nops - 1].out, T = t_end(net), rc = -1;
    int *prod = malloc((size_t)nb * sizeof *prod), *fend = malloc((size_t)nb * sizeof *fend);
    int *bfirst = malloc((size_t)nb * sizeof *bfirst), *blast = malloc((size_t)nb * sizeof *blast);
    tl_req *req = malloc((size_t)3 * nb * sizeof *req);
    tl_req **tmp = malloc((size_t)3 * nb * sizeof *tmp);
    if (!prod || !fend || !bfirst || !blast || !req || !tmp) goto done;
    for (int b = 0; b < nb; b++) {
        prod[b] = -1; fend[b] = 0; bfirst[b] = T + 1; blast[b] = -1;
        net->gstart[b] = T + 1; net->rstart[b] = -1;
    }
    for (int i = 0; i < nops; i++) {
        const tl_op *op = &net->ops[i];
        int tb = t_bwd(net, i);
        prod[op->out] = i;
        fend[op->out] = imax(fend[op->out], t_fwd(i));
        fend[op->in] = imax(fend[op->in], t_fwd(i));
        if (has_res(op)) fend[op->in2] = imax(fend[op->in2], t_fwd(i));
        if (net->inference) continue;   /* no backward: no gradients, nothing kept for it */
        net->gstart[op->in] = imin(net->gstart[op->in], tb);
        if (has_res(op)) net->gstart[op->in2] = imin(net->gstart[op->in2], tb);
        if (bwd_reads_in(op)) { bfirst[op->in] = imin(bfirst[op->in], tb); blast[op->in] = imax(blast[op->in], tb); }
        if (bwd_reads_out(op)) { bfirst[op->out] = imin(bfirst[op->out], tb); blast[op->out] = imax(blast[op->out], tb); }
    }
    /* What backward recomputes instead of keeping (net.h): BN outputs without a residual, and with
     * recompute_conv the conv outputs at least half the size of the largest activation whose input
     * is kept, when first needed: by their own backward readers, or by the recomputation of the BN
     * output they feed. */
    size_t maxsize = 0;
    for (int b = 0; b < nb; b++)
        if (tl_chw_size(net->shape[b]) > maxsize) maxsize = tl_chw_size(net->shape[b]);
    for (int b = 1; b < nb; b++) {
        const tl_op *p = prod[b] >= 0 ? &net->ops[prod[b]] : NULL;
        if (blast[b] < 0 || b == out || !p) continue;
        if ((p->kind == TL_OP_BN && p->in2 < 0)
            || (net->recompute_conv && p->kind == TL_OP_CONV && 2 * tl_chw_size(net->shape[b]) >= maxsize
                && net->rstart[p->in] < 0))
            net->rstart[b] = bfirst[b];
    }
    for (int i = 0; i < nops; i++) {
        const tl_op *op = &net->ops[i];
        if (op->kind == TL_OP_BN && net->rstart[op->out] >= 0 && net->rstart[op->in] >= 0)
            net->rstart[op->in] = imin(net->rstart[op->in], net->rstart[op->out]);
    }
    int n = 0;
    memset(&net->mem, 0, sizeof net->mem);
    for (int b = 0; b < nb; b++) {
        size_t size = ((size_t)net->N * tl_chw_size(net->shape[b]) + 15) / 16 * 16;
        int start = b == 0 ? 0 : t_fwd(prod[b]), end = (b == 0 || b == out) ? T : fend[b];
        int recompute = net->rstart[b] >= 0;
        if (blast[b] >= 0 && !recompute) end = imax(end, blast[b]);
        req[n++] = (tl_req){start, end, size, 0, &net->act[b]};
        int kept = b == 0 || b == out || (blast[b] >= 0 && !recompute);
        *(kept ? &net->mem.kept : &net->mem.transient) += size * sizeof(float);
        if (recompute) {
            req[n++] = (tl_req){net->rstart[b], blast[b], size, 0, &net->rec[b]};
            net->mem.recomputed += size * sizeof(float);
        }
        if (b == out && !net->inference) net->gstart[b] = 0;
        if (net->gstart[b] <= T) {
            req[n++] = (tl_req){net->gstart[b], b == 0 || b == out ? T : t_bwd(net, prod[b]), size, 0, &net->grad[b]};
            net->mem.grads += size * sizeof(float);
        }
    }
    size_t total = place(req, n, tmp);
    net->mem.slab = total * sizeof(float);
    if (sizing) { rc = 0; goto done; }
    if (!(net->slab = aligned_alloc(64, total * sizeof(float)))) goto done;
    memset(net->slab, 0, total * sizeof(float));
    for (int i = 0; i < n; i++) *req[i].dst = net->slab + req[i].off;
    rc = 0;
done:
    free(prod); free(fend); free(bfirst); free(blast); free(req); free(tmp);
    return rc;
}

/* Which buffers are kept blocked (net.h, Layout): candidates by shape, then any buffer an op cannot
 * read or write blocked goes plain, as do the other buffers of a BN or shortcut op with a plain one
 * (those ops take one layout throughout), until nothing changes. */
static void choose_layout(tl_net *net) {
    int out = net->ops[net->nops - 1].out;
    for (int b = 0; b < net->nbufs; b++) {
        tl_chw s = net->shape[b];
        net->blocked[b] = !net->plain_only && b != 0 && b != out && s.c % 16 == 0 && s.c <= TL_BN16_MAX_CHANNELS;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < net->nops; i++) {
            const tl_op *op = &net->ops[i];
            int bufs[3] = {op->in, op->out, has_res(op) ? op->in2 : op->in}, all = 1;
            for (int j = 0; j < 3; j++) all &= net->blocked[bufs[j]];
            for (int j = 0; j < 3; j++) {
                int b = bufs[j], keep;
                switch (op->kind) {
                case TL_OP_CONV: keep = 1; break;
                case TL_OP_BN: case TL_OP_SHORTCUT_A: case TL_OP_MAXPOOL: keep = all; break;
                case TL_OP_GAP: keep = b == op->in; break;
                default: keep = 0;
                }
                if (!keep && net->blocked[b]) { net->blocked[b] = 0; changed = 1; }
            }
        }
    }
}

/* Carves the per-op arrays out of the arena; called twice (measure, then allocate). */
static void carve(tl_net *net, int N) {
    tl_arena *a = &net->arena;
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
    size_t nb = (size_t)net->nbufs;
    net->act = calloc(nb, sizeof *net->act);
    net->grad = calloc(nb, sizeof *net->grad);
    net->rec = calloc(nb, sizeof *net->rec);
    net->gstart = calloc(nb, sizeof *net->gstart);
    net->rstart = calloc(nb, sizeof *net->rstart);
    net->blocked = calloc(nb, sizeof *net->blocked);
    if (!net->act || !net->grad || !net->rec || !net->gstart || !net->rstart || !net->blocked) return -1;
    if (net->nops == 0) {   /* an identity backbone: stage 2 trains a head on precomputed features */
        size_t n = (size_t)N * tl_chw_size(net->shape[0]);
        if (tl_arena_init(&net->arena, 2 * n * sizeof(float) + 128)) return -1;
        net->act[0] = tl_arena_floats(&net->arena, n);
        net->grad[0] = tl_arena_floats(&net->arena, n);
        return 0;
    }
    choose_layout(net);
    /* Recomputing conv outputs costs a conv forward each: only where it makes the slab smaller (for
     * resnet32 it does; for the cnn the peak is elsewhere, among the gradients). */
    if (net->inference) net->recompute_conv = 0;
    if (net->recompute_conv) {
        if (plan(net, 1)) return -1;
        size_t with = net->mem.slab;
        net->recompute_conv = 0;
        if (plan(net, 1)) return -1;
        net->recompute_conv = with < net->mem.slab;
    }
    if (plan(net, 0)) return -1;
    tl_arena_measure(&net->arena);
    carve(net, N);
    net->mem.scratch = net->arena.used;
    if (tl_arena_init(&net->arena, net->arena.used)) return -1;
    carve(net, N);
    for (int i = 0; i < net->nops; i++) {
        tl_op *op = &net->ops[i];
        if (op->kind != TL_OP_CONV) continue;
        tl_chw in = net->shape[op->in], out = net->shape[op->out];
        op->conv = (net->inference ? tl_conv2d_create_forward : tl_conv2d_create_layout)(
            N, in.c, in.h, in.w, out.c, op->k, op->stride, op->pad, op->groups > 1 ? op->groups : 1, op->b != TL_NONE,
            net->blocked[op->in] ? TL_NCHW16C : TL_NCHW, net->blocked[op->out] ? TL_NCHW16C : TL_NCHW, nthreads);
        if (!op->conv) return -1;
        size_t w = tl_conv2d_work_size(op->conv);
        if (w > net->mem.conv_work) net->mem.conv_work = w;
    }
    /* Ops run one at a time, so one work area serves every conv plan. */
    if (net->mem.conv_work) {
        if (!(net->conv_work = aligned_alloc(64, (net->mem.conv_work + 63) / 64 * 64))) return -1;
        for (int i = 0; i < net->nops; i++)
            if (net->ops[i].conv && tl_conv2d_share_work(net->ops[i].conv, net->conv_work)) return -1;
    }
    return 0;
}

void tl_net_free(tl_net *net) {
    for (int i = 0; i < net->nops; i++) tl_conv2d_free(net->ops[i].conv);
    free(net->ops);
    free(net->shape);
    free(net->act);
    free(net->grad);
    free(net->rec);
    free(net->gstart);
    free(net->rstart);
    free(net->blocked);
    free(net->slab);
    free(net->conv_work);
    tl_arena_free(&net->arena);
    memset(net, 0, sizeof *net);
}

/* ---- forward and backward ---- */

static const float *opt(const float *base, size_t off) { return off == TL_NONE ? NULL : base + off; }
/* A parameter's gradient, or NULL when the op has no such parameter or no gradients are wanted. */
static float *optw(float *base, size_t off) { return off == TL_NONE || !base ? NULL : base + off; }

/* Where backward reads buffer b's values: its recomputation, if it has one. */
static const float *values(const tl_net *net, int b) { return net->rec[b] ? net->rec[b] : net->act[b]; }

/* A BN op's output y from its input x, as its forward computed it (train: the saved batch statistics). */
static void bn_output(const tl_net *net, const tl_op *op, float *y, const float *x, const float *params,
                      const float *state, int train) {
    tl_chw s = net->shape[op->in];
    const float *res = op->in2 >= 0 ? net->act[op->in2] : NULL;
    int b16 = net->blocked[op->in];
    if (train && !op->frozen)
        (b16 ? tl_bn_act16_apply : tl_bn_act_apply)(y, x, res, op->save_mean, op->save_invstd, params + op->w,
                                                    params + op->b, net->N, s.c, s.h * s.w, op->relu, net->nthreads);
    else
        (b16 ? tl_bn_act16_forward_eval : tl_bn_act_forward_eval)(y, x, res, params + op->w, params + op->b,
                                                                  state + op->run_mean, state + op->run_var, net->N,
                                                                  s.c, s.h * s.w, op->eps, op->relu, net->nthreads);
}

/* A failed convolution (its oneDNN status) as an error naming the op. */
static int conv_fail(tl_error *err, int op, const char *pass, int status) {
    return tl_fail(err, "backbone op %d (convolution): oneDNN %s failed: %s", op, pass, tl_conv2d_strerror(status));
}

int tl_net_forward(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng, tl_error *err) {
    int N = net->N, nt = net->nthreads, st;
    for (int i = 0; i < net->nops; i++) {
        tl_op *op = &net->ops[i];
        tl_chw is = net->shape[op->in], os = net->shape[op->out];
        const float *x = net->act[op->in];
        float *y = net->act[op->out];
        size_t n = (size_t)N * tl_chw_size(os);
        int b16 = net->blocked[op->in];
        double t0 = net->prof ? omp_get_wtime() : 0;
        switch (op->kind) {
        case TL_OP_CONV:
            if ((st = tl_conv2d_forward(op->conv, y, x, params + op->w, opt(params, op->b))))
                return conv_fail(err, i, "forward", st);
            break;
        case TL_OP_BN:
            if (train && !op->frozen)
                (b16 ? tl_bn_act16_forward_train : tl_bn_act_forward_train)(
                    y, op->save_mean, op->save_invstd, state + op->run_mean, state + op->run_var, x,
                    op->in2 >= 0 ? net->act[op->in2] : NULL, params + op->w, params + op->b, N, is.c, is.h * is.w,
                    op->eps, op->momentum, op->relu, nt);
            else
                bn_output(net, op, y, x, params, state, 0);
            break;
        case TL_OP_AVGPOOL: tl_avgpool2d_forward(y, x, N, is.c, is.h, is.w, op->k, nt); break;
        case TL_OP_MAXPOOL:
            (b16 ? tl_maxpool2d16_forward : tl_maxpool2d_forward)(y, op->argmax, x, N, is.c, is.h, is.w, op->k,
                                                                  op->stride, op->pad, nt);
            break;
        case TL_OP_GAP: (b16 ? tl_gap16_forward : tl_gap_forward)(y, x, N, is.c, is.h * is.w, nt); break;
        case TL_OP_LINEAR: tl_linear_forward(y, x, params + op->w, opt(params, op->b), N, (int)tl_chw_size(is), os.c, nt); break;
        case TL_OP_SHORTCUT_A:
            (b16 ? tl_shortcut_a16_forward : tl_shortcut_a_forward)(y, x, N, is.c, is.h, is.w, os.c, nt);
            break;
        case TL_OP_DROPOUT:
            if (train || op->mc) {
                /* One stream over the global batch, row after row: skip the other slices' rows. */
                int sliced = train && net->slices > 1;
                if (sliced) tl_rng_discard(dropout_rng, (uint64_t)n * (uint64_t)net->slice);
                tl_dropout_forward(y, op->mask, x, n, op->p, dropout_rng);
                if (sliced) tl_rng_discard(dropout_rng, (uint64_t)n * (uint64_t)(net->slices - 1 - net->slice));
            }
            else memcpy(y, x, n * sizeof *y);
            break;
        case TL_OP_NKINDS: break;
        }
        if (net->prof) net->prof[op->kind] += omp_get_wtime() - t0;
        if (net->check_finite && net->first_bad < 0)
            for (size_t j = 0; j < n; j++)
                if (!isfinite(y[j])) { net->first_bad = i; return 0; }
    }
    return 0;
}

int tl_net_first_nonfinite(tl_net *net, const float *params, float *state, int train, tl_rng *dropout_rng) {
    net->check_finite = 1;
    net->first_bad = -1;
    int rc = tl_net_forward(net, params, state, train, dropout_rng, NULL);
    net->check_finite = 0;
    return rc ? -1 : net->first_bad;
}

/* Zeroes the gradients that become live at time t (but those of `setter`'s inputs, which it
 * overwrites), and recomputes the outputs due then (in buffer order: a conv output before the BN
 * output made from it). */
static int enter(tl_net *net, int t, const tl_op *setter, const float *params, const float *state, int train,
                 int need_input_grad, tl_error *err) {
    for (int b = 0; b < net->nbufs; b++) {
        int set = setter && (b == setter->in || b == setter->in2);
        if (net->gstart[b] == t && !set && (b != 0 || need_input_grad))
            memset(net->grad[b], 0, (size_t)net->N * tl_chw_size(net->shape[b]) * sizeof(float));
        if (net->rstart[b] == t) {
            int p = 0;
            while (net->ops[p].out != b) p++;
            const tl_op *op = &net->ops[p];
            int st;
            if (op->kind != TL_OP_CONV)
                bn_output(net, op, net->rec[b], values(net, op->in), params, state, train);
            else if ((st = tl_conv2d_forward(op->conv, net->rec[b], net->act[op->in], params + op->w, opt(params, op->b))))
                return conv_fail(err, p, "forward (recomputed for backward)", st);
        }
    }
    return 0;
}

int tl_net_backward(tl_net *net, const float *params, float *grads, const float *state, int train,
                    int need_input_grad, tl_error *err) {
    int N = net->N, nt = net->nthreads, st;
    if (net->inference) return tl_fail(err, "the backbone was built for inference: it has no gradients");
    for (int i = net->nops - 1; i >= (need_input_grad ? 0 : net->first_trainable); i--) {
        tl_op *op = &net->ops[i];
        double t0 = net->prof ? omp_get_wtime() : 0;
        float *g = op->frozen ? NULL : grads;
        /* A BN op that starts both of its input gradients stores them rather than adding to zeros. */
        int t = t_bwd(net, i);
        int set = op->kind == TL_OP_BN && op->in != 0 && net->gstart[op->in] == t
                  && (op->in2 < 0 || (op->in2 != 0 && net->gstart[op->in2] == t));
        if (enter(net, t, set ? op : NULL, params, state, train, need_input_grad, err)) return -1;
        if (net->prof) { double t1 = omp_get_wtime(); net->prof[2 * TL_OP_NKINDS] += t1 - t0; t0 = t1; }
        tl_chw is = net->shape[op->in], os = net->shape[op->out];
        const float *x = values(net, op->in), *dy = net->grad[op->out];
        /* The net's input (buffer 0) needs a gradient only when asked for (M2m optimises the image). */
        float *dx = (op->in == 0 && !need_input_grad) ? NULL : net->grad[op->in];
        size_t n = (size_t)N * tl_chw_size(os);
        int b16 = net->blocked[op->in];
        switch (op->kind) {
        case TL_OP_CONV:
            if ((st = tl_conv2d_backward(op->conv, dx, optw(g, op->w), optw(g, op->b), dy, x, params + op->w)))
                return conv_fail(err, i, "backward", st);
            break;
        case TL_OP_BN: {
            float *dres = op->in2 >= 0 ? net->grad[op->in2] : NULL;
            const float *y = bwd_reads_out(op) ? net->act[op->out] : NULL;
            if (train && !op->frozen)
                (b16 ? tl_bn_act16_backward : tl_bn_act_backward)(
                    dx, dres, optw(g, op->w), optw(g, op->b), dy, x, y, op->save_mean, op->save_invstd,
                    params + op->w, params + op->b, N, is.c, is.h * is.w, op->relu, set, nt);
            else
                (b16 ? tl_bn_act16_backward_eval : tl_bn_act_backward_eval)(
                    dx, dres, dy, x, y, params + op->w, params + op->b, state + op->run_mean, state + op->run_var, N,
                    is.c, is.h * is.w, op->eps, op->relu, set, nt);
            break;
        }
        case TL_OP_AVGPOOL: tl_avgpool2d_backward(dx, dy, N, is.c, is.h, is.w, op->k, nt); break;
        case TL_OP_MAXPOOL:
            (b16 ? tl_maxpool2d16_backward : tl_maxpool2d_backward)(dx, dy, op->argmax, N, is.c, is.h, is.w, op->k,
                                                                    op->stride, op->pad, nt);
            break;
        case TL_OP_GAP: (b16 ? tl_gap16_backward : tl_gap_backward)(dx, dy, N, is.c, is.h * is.w, nt); break;
        case TL_OP_LINEAR:
            tl_linear_backward(dx, optw(g, op->w), optw(g, op->b), dy, x, params + op->w, N, (int)tl_chw_size(is), os.c, nt);
            break;
        case TL_OP_SHORTCUT_A:
            (b16 ? tl_shortcut_a16_backward : tl_shortcut_a_backward)(dx, dy, N, is.c, is.h, is.w, os.c, nt);
            break;
        case TL_OP_DROPOUT:
            if (train || op->mc) tl_dropout_backward(dx, dy, op->mask, n);
            else tl_add_backward(dx, NULL, dy, n, nt);
            break;
        case TL_OP_NKINDS: break;
        }
        if (net->prof) net->prof[TL_OP_NKINDS + op->kind] += omp_get_wtime() - t0;
    }
    return 0;
}

void tl_net_freeze(tl_net *net, size_t end) {
    net->first_trainable = net->nops;
    for (int i = net->nops - 1; i >= 0; i--) {
        tl_op *op = &net->ops[i];
        int has_params = op->kind == TL_OP_CONV || op->kind == TL_OP_BN || op->kind == TL_OP_LINEAR;
        op->frozen = has_params && op->w < end;
        if (has_params && !op->frozen) net->first_trainable = i;
    }
}

void tl_net_zero_grad(tl_net *net) {
    int out = net->nops ? net->ops[net->nops - 1].out : 0;
    memset(net->grad[out], 0, (size_t)net->N * tl_chw_size(net->shape[out]) * sizeof(float));
}
