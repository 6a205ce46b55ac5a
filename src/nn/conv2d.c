/* Conv2d: torch.nn.Conv2d(C, OC, K, stride, pad, bias, groups), square kernel, on oneDNN.
 *
 * PyTorch's CPU convolution is oneDNN (Debian's torch links the same libdnnl 2.6), so the plan
 * builds the same three primitives once per shape: forward (training), backward data and backward
 * weights (+bias), each with the layouts oneDNN prefers (format_tag_any: nChw16c activations and
 * 16x16-blocked weights on AVX-512). Forcing plain NCHW instead selects oneDNN's im2col+GEMM path,
 * measured 1.5-2.8x slower on every ResNet-32 / CNN shape with C >= 3 (batch 128, one thread); only
 * the 1-channel input layer ran its forward slightly faster (3.5 vs 4.1 ms), too little for a second
 * path.
 *
 * The caller's activations are plain NCHW or already blocked (nChw16c, tl_conv2d_create_layout: a
 * network that keeps them blocked between convolutions skips the reorders and the blocked copies
 * below). The plan owns the blocked buffers, the reorders between them and the caller's tensors
 * (activations in their layout, OIHW weights), so a step allocates nothing. Buffers that live only
 * within one call (the scratchpad of the three primitives, the blocked output of forward, the
 * blocked dout and dinp of backward) sit in one work area, which a network shares between all its
 * plans (they never run at once): that is most of the memory of a conv plan. The blocked copy of a
 * plain input, which backward weights reuses (below), and the small blocked weights are the plan's
 * own. Reorders cost 30-50% of a small conv, so the plan does each at most once per step:
 * - dout is reordered once and read by both backward passes when they want the same layout;
 * - backward weights reads the blocked copy of inp made by the latest forward when it is called
 *   with that same inp pointer (the input must not change between a layer's forward and its
 *   backward, as autograd requires too); any other pointer is reordered afresh.
 *
 * Gradients accumulate (+=): oneDNN's backward passes overwrite (backward data accepts no sum
 * post-op in 2.6), so they write plan-owned buffers that are then added into the caller's tensors
 * in the same pass that converts the layout: dinp by add_nchw16c below when backward data chose
 * nChw16c for a plain dinp (AVX-512 machines; oneDNN's reorder with a sum post-op took 1.4-2.7x
 * longer, 1.38 vs 0.94 ms for 128x16x32x32 on one core), by a plain add when dinp is in the layout
 * backward data chose, otherwise by that reorder; dw (small) by the reorder; db by a short loop.
 *
 * Threads: Debian's oneDNN uses the OpenMP runtime, which sizes its work split and teams from
 * omp_get_max_threads() of the calling thread, both when a primitive is created and when it runs;
 * every oneDNN call is therefore bracketed by omp_set_num_threads(nthreads) and a restore of the
 * previous value. oneDNN's reductions (backward weights over the batch) use a fixed split for a
 * fixed thread count, so results are bitwise reproducible (tests/unit/test_conv2d.c checks).
 * A plan is not safe to use from two threads at once.
 *
 * Every oneDNN status is checked: creation returns NULL, forward and backward the first failing
 * call's status, which the network turns into an error naming the op (tests/unit/test_fault.c makes
 * each call fail in turn). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include "nn/nn.h"

/* Runs a oneDNN call and jumps to `done` with its status in `st` when it fails. */
#define TL_DNNL(call) do { if ((st = (call)) != dnnl_success) goto done; } while (0)

/* One tensor as one primitive sees it: the caller's plain memory, the memory the primitive reads or
 * writes (the same object when the layouts agree, or another port's buffer) and the reorder. */
typedef struct {
    dnnl_memory_t user;         /* plain layout; data handle set on each call */
    dnnl_memory_t mem;          /* primitive layout */
    dnnl_primitive_t reorder;   /* user -> mem for inputs, mem -> user (+= for gradients); or NULL */
    int shared;                 /* mem belongs to another port (which also does the reorder) */
    size_t work_off;            /* transient mem: its offset in the work area; TL_NOT_WORK otherwise */
} tl_conv_port;

#define TL_NOT_WORK ((size_t)-1)

enum { TL_PORT_IN, TL_PORT_OUT, TL_PORT_ACC };

struct tl_conv2d {
    int OH, OW, OC, has_bias, nthreads;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_t fwd, bwd_data, bwd_w;
    dnnl_memory_t fwd_scratch, bwd_data_scratch, bwd_w_scratch, bias, dbias;
    size_t work_size;           /* bytes of the work area: scratchpad + the transient blocked tensors */
    void *own_work;             /* the plan's own work area, until tl_conv2d_share_work replaces it */
    float *db_buf;              /* [OC] bias gradient of the latest backward */
    tl_conv_port f_src, f_w, f_dst;         /* forward */
    tl_conv_port d_ddst, d_w, d_dsrc;       /* backward data */
    tl_conv_port w_src, w_ddst, w_dw;       /* backward weights */
    const float *fwd_inp;       /* inp whose blocked copy f_src.mem holds */
    int N, C, HW;
    int dsrc_add;               /* how d_dsrc.mem is added into dinp: one of the DSRC_ values */
};

static void port_free(tl_conv_port *p) {
    if (p->reorder) dnnl_primitive_destroy(p->reorder);
    if (p->mem && p->mem != p->user && !p->shared) dnnl_memory_destroy(p->mem);
    if (p->user) dnnl_memory_destroy(p->user);
}

/* A memory object for desc: allocated when work is NULL, else a handle-less object placed at the
 * end of the work area (*work grows by its size, rounded to 64 bytes; *off receives its offset). */
static int work_mem(dnnl_memory_t *m, size_t *off, const dnnl_memory_desc_t *desc, dnnl_engine_t eng, size_t *work) {
    if (!work) return dnnl_memory_create(m, desc, eng, DNNL_MEMORY_ALLOCATE) == dnnl_success ? 0 : -1;
    *off = *work;
    *work += (dnnl_memory_desc_get_size(desc) + 63) / 64 * 64;
    return dnnl_memory_create(m, desc, eng, DNNL_MEMORY_NONE) == dnnl_success ? 0 : -1;
}

/* Connects the plain descriptor `plain` to the primitive's `want`. IN: a reorder plain -> want when
 * they differ, or none if `share` already reorders the same tensor into that layout. OUT: a reorder
 * want -> plain when they differ. ACC: always a plan-owned buffer and a reorder want -> plain with a
 * sum post-op (plain += buffer). A buffer of the port's own goes into the work area when work is not
 * NULL (work_mem). Returns 0 or -1. */
static int port_init(tl_conv_port *p, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                     const dnnl_memory_desc_t *want, int kind, const tl_conv_port *share, size_t *work) {
    p->work_off = TL_NOT_WORK;
    if (dnnl_memory_create(&p->user, plain, eng, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    if (kind != TL_PORT_ACC && dnnl_memory_desc_equal(plain, want)) { p->mem = p->user; return 0; }
    if (share && share->reorder) {
        const dnnl_memory_desc_t *smd;
        if (dnnl_memory_get_memory_desc(share->mem, &smd) != dnnl_success) return -1;
        if (dnnl_memory_desc_equal(smd, want)) {
            p->mem = share->mem;
            p->shared = 1;
            return 0;
        }
    }
    if (work_mem(&p->mem, &p->work_off, want, eng, work)) return -1;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    int rc = -1;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    if (kind == TL_PORT_ACC && (dnnl_post_ops_create(&po) != dnnl_success || dnnl_post_ops_append_sum(po, 1.0f)
                                || dnnl_primitive_attr_set_post_ops(attr, po))) goto done;
    if (kind == TL_PORT_IN ? dnnl_reorder_primitive_desc_create(&rpd, plain, eng, want, eng, attr)
                           : dnnl_reorder_primitive_desc_create(&rpd, want, eng, plain, eng, attr)) goto done;
    rc = dnnl_primitive_create(&p->reorder, rpd) == dnnl_success ? 0 : -1;
done:
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

/* Points the port at the caller's tensor and runs its reorder, if any. Returns the oneDNN status. */
static dnnl_status_t port_run(tl_conv2d *p, tl_conv_port *port, const void *data, int kind) {
    dnnl_status_t st = dnnl_memory_set_data_handle(port->user, (void *)data);
    if (st != dnnl_success || !port->reorder) return st;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, kind == TL_PORT_IN ? port->user : port->mem},
                            {DNNL_ARG_TO, kind == TL_PORT_IN ? port->mem : port->user}};
    return dnnl_primitive_execute(port->reorder, p->strm, 2, a);
}

enum { DSRC_REORDER, DSRC_NCHW16C, DSRC_SAME };

/* dst[N,C,HW] += src[N,ceil(C/16),HW,16] (nChw16c, padded channels ignored): a 16x16 tile
 * transpose per step, one writer per element. */
static void add_nchw16c(float *restrict dst, const float *restrict src, int N, int C, int HW, int nthreads) {
    int CB = (C + 15) / 16;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int nb = 0; nb < N * CB; nb++) {
        int n = nb / CB, cb = nb % CB, cn = C - cb * 16 < 16 ? C - cb * 16 : 16;
        const float *s = src + (size_t)nb * HW * 16;
        float *d = dst + ((size_t)n * C + cb * 16) * HW;
        for (int h0 = 0; h0 < HW; h0 += 16) {
            int hn = HW - h0 < 16 ? HW - h0 : 16;
            if (cn == 16 && hn == 16) {
                float t[16][16];
                for (int h = 0; h < 16; h++)
                    for (int c = 0; c < 16; c++) t[c][h] = s[(h0 + h) * 16 + c];
                for (int c = 0; c < 16; c++)
                    for (int h = 0; h < 16; h++) d[(size_t)c * HW + h0 + h] += t[c][h];
            } else {
                for (int c = 0; c < cn; c++)
                    for (int h = 0; h < hn; h++) d[(size_t)c * HW + h0 + h] += s[(h0 + h) * 16 + c];
            }
        }
    }
}

/* dst[i] += src[i]: both in the same layout (C a multiple of 16 when blocked: no padding). */
static void add_same(float *restrict dst, const float *restrict src, size_t n, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* The scratchpad of primitive pd, at offset 0 of the work area (the three primitives share it). */
static int scratch_mem(dnnl_memory_t *m, const_dnnl_primitive_desc_t pd, dnnl_engine_t eng, size_t *need) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t s = (dnnl_memory_desc_get_size(md) + 63) / 64 * 64;
    if (s > *need) *need = s;
    return dnnl_memory_create(m, md, eng, DNNL_MEMORY_NONE) == dnnl_success ? 0 : -1;
}

/* Points the plan's transient memories into work (work_size bytes, 64-byte aligned). Returns the
 * oneDNN status. */
static dnnl_status_t place_work(tl_conv2d *p, char *work) {
    dnnl_status_t st;
    TL_DNNL(dnnl_memory_set_data_handle(p->fwd_scratch, work));
    if (p->bwd_data) {   /* not a forward-only plan */
        TL_DNNL(dnnl_memory_set_data_handle(p->bwd_data_scratch, work));
        TL_DNNL(dnnl_memory_set_data_handle(p->bwd_w_scratch, work));
    }
    tl_conv_port *ports[] = {&p->f_src, &p->f_w, &p->f_dst, &p->d_ddst, &p->d_w, &p->d_dsrc,
                             &p->w_src, &p->w_ddst, &p->w_dw};
    for (int i = 0; i < 9; i++)
        if (ports[i]->mem && ports[i]->work_off != TL_NOT_WORK && !ports[i]->shared)
            TL_DNNL(dnnl_memory_set_data_handle(ports[i]->mem, work + ports[i]->work_off));
done:
    return st;
}

static const dnnl_memory_desc_t *pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static int build(tl_conv2d *p, int N, int C, int H, int W, int K, int stride, int pad, int groups, int in_layout,
                 int out_layout, int fwd_only) {
    /* Grouped weights are oneDNN's 5-D goihw [G, OC/G, C/G, K, K]: the same memory as PyTorch's
     * [OC, C/G, K, K]. */
    int G = groups, wnd = G > 1 ? 5 : 4;
    dnnl_dims_t sd = {N, C, H, W}, dd = {N, p->OC, p->OH, p->OW}, bd = {p->OC};
    dnnl_dims_t wd = {p->OC, C, K, K}, wgd = {G, p->OC / G, C / G, K, K};
    dnnl_dims_t strides = {stride, stride}, pad_l = {pad, pad};
    dnnl_dims_t pad_r = {(p->OH - 1) * stride + K - H - pad, (p->OW - 1) * stride + K - W - pad};
    dnnl_memory_desc_t src_p, w_p, dst_p, b_p, src_a, w_a, dst_a, src16;
    if (dnnl_memory_desc_init_by_tag(&src_p, 4, sd, dnnl_f32, in_layout == TL_NCHW16C ? dnnl_nChw16c : dnnl_nchw)
        || dnnl_memory_desc_init_by_tag(&w_p, wnd, G > 1 ? wgd : wd, dnnl_f32, G > 1 ? dnnl_goihw : dnnl_oihw)
        || dnnl_memory_desc_init_by_tag(&dst_p, 4, dd, dnnl_f32, out_layout == TL_NCHW16C ? dnnl_nChw16c : dnnl_nchw)
        || dnnl_memory_desc_init_by_tag(&b_p, 1, bd, dnnl_f32, dnnl_a)
        || dnnl_memory_desc_init_by_tag(&src_a, 4, sd, dnnl_f32, dnnl_format_tag_any)
        || dnnl_memory_desc_init_by_tag(&w_a, wnd, G > 1 ? wgd : wd, dnnl_f32, dnnl_format_tag_any)
        || dnnl_memory_desc_init_by_tag(&dst_a, 4, dd, dnnl_f32, dnnl_format_tag_any)
        || dnnl_memory_desc_init_by_tag(&src16, 4, sd, dnnl_f32, dnnl_nChw16c)) return -1;
    const dnnl_memory_desc_t *bias = p->has_bias ? &b_p : NULL;

    int rc = -1;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    dnnl_convolution_desc_t fd, dd_, wd_;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)
        || dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_a, &w_a,
                                              bias, &dst_a, strides, pad_l, pad_r)
        || dnnl_primitive_desc_create(&fpd, &fd, attr, p->eng, NULL) || dnnl_primitive_create(&p->fwd, fpd))
        goto done;
    if (!fwd_only
        && (dnnl_convolution_backward_data_desc_init(&dd_, dnnl_convolution_direct, &src_a, &w_a, &dst_a,
                                                     strides, pad_l, pad_r)
            || dnnl_primitive_desc_create(&dpd, &dd_, attr, p->eng, fpd)
            || dnnl_convolution_backward_weights_desc_init(&wd_, dnnl_convolution_direct, &src_a, &w_a, bias,
                                                           &dst_a, strides, pad_l, pad_r)
            || dnnl_primitive_desc_create(&wpd, &wd_, attr, p->eng, fpd)
            || dnnl_primitive_create(&p->bwd_data, dpd) || dnnl_primitive_create(&p->bwd_w, wpd))) goto done;
    size_t work = 0;    /* the scratchpad first, then the transient tensors */
    if (scratch_mem(&p->fwd_scratch, fpd, p->eng, &work)
        || (!fwd_only && (scratch_mem(&p->bwd_data_scratch, dpd, p->eng, &work)
                          || scratch_mem(&p->bwd_w_scratch, wpd, p->eng, &work)))) goto done;
    /* Transient: forward's dst, backward's dout (both passes) and dinp, and backward weights' src when it
     * cannot reuse forward's copy. Forward's src copy (read again by backward weights) and the weights'
     * copies are the plan's own. */
    if (port_init(&p->f_src, p->eng, &src_p, pd_md(fpd, dnnl_query_src_md), TL_PORT_IN, NULL, NULL)
        || port_init(&p->f_w, p->eng, &w_p, pd_md(fpd, dnnl_query_weights_md), TL_PORT_IN, NULL, NULL)
        || port_init(&p->f_dst, p->eng, &dst_p, pd_md(fpd, dnnl_query_dst_md), TL_PORT_OUT, NULL, &work)) goto done;
    if (fwd_only) goto placed;   /* no backward primitives, so none of their ports */
    if (port_init(&p->d_ddst, p->eng, &dst_p, pd_md(dpd, dnnl_query_diff_dst_md), TL_PORT_IN, NULL, &work)
        || port_init(&p->d_w, p->eng, &w_p, pd_md(dpd, dnnl_query_weights_md), TL_PORT_IN, NULL, NULL)
        || port_init(&p->w_src, p->eng, &src_p, pd_md(wpd, dnnl_query_src_md), TL_PORT_IN, &p->f_src, &work)
        || port_init(&p->w_ddst, p->eng, &dst_p, pd_md(wpd, dnnl_query_diff_dst_md), TL_PORT_IN, &p->d_ddst, &work)
        || port_init(&p->w_dw, p->eng, &w_p, pd_md(wpd, dnnl_query_diff_weights_md), TL_PORT_ACC, NULL, NULL)) goto done;
    const dnnl_memory_desc_t *dsrc = pd_md(dpd, dnnl_query_diff_src_md);
    p->dsrc_add = dnnl_memory_desc_equal(dsrc, &src_p) ? DSRC_SAME
                : dnnl_memory_desc_equal(dsrc, &src16) ? DSRC_NCHW16C : DSRC_REORDER;
    if (p->dsrc_add != DSRC_REORDER ? work_mem(&p->d_dsrc.mem, &p->d_dsrc.work_off, dsrc, p->eng, &work)
                                    : port_init(&p->d_dsrc, p->eng, &src_p, dsrc, TL_PORT_ACC, NULL, &work))
        goto done;
placed:
    p->work_size = work;
    if (!(p->own_work = aligned_alloc(64, work ? work : 64)) || place_work(p, p->own_work)) goto done;
    if (p->has_bias && (dnnl_memory_create(&p->bias, &b_p, p->eng, DNNL_MEMORY_NONE)
                        || !(p->db_buf = malloc((size_t)p->OC * sizeof *p->db_buf))
                        || dnnl_memory_create(&p->dbias, &b_p, p->eng, p->db_buf))) goto done;
    rc = 0;
done:
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

void tl_conv2d_free(tl_conv2d *p) {
    if (!p) return;
    dnnl_primitive_t prims[] = {p->fwd, p->bwd_data, p->bwd_w};
    for (int i = 0; i < 3; i++) if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {p->fwd_scratch, p->bwd_data_scratch, p->bwd_w_scratch, p->bias, p->dbias};
    for (int i = 0; i < 5; i++) if (mems[i]) dnnl_memory_destroy(mems[i]);
    tl_conv_port *ports[] = {&p->f_src, &p->f_w, &p->f_dst, &p->d_ddst, &p->d_w, &p->d_dsrc,
                             &p->w_src, &p->w_ddst, &p->w_dw};
    for (int i = 0; i < 9; i++) port_free(ports[i]);
    if (p->strm) dnnl_stream_destroy(p->strm);
    if (p->eng) dnnl_engine_destroy(p->eng);
    free(p->own_work);
    free(p->db_buf);
    free(p);
}

tl_conv2d *tl_conv2d_create(int N, int C, int H, int W, int OC, int K, int stride, int pad,
                            int has_bias, int nthreads) {
    return tl_conv2d_create_layout(N, C, H, W, OC, K, stride, pad, 1, has_bias, TL_NCHW, TL_NCHW, nthreads);
}

static tl_conv2d *create(int N, int C, int H, int W, int OC, int K, int stride, int pad, int groups, int has_bias,
                         int in_layout, int out_layout, int nthreads, int fwd_only) {
    if (N < 1 || C < 1 || H < 1 || W < 1 || OC < 1 || K < 1 || stride < 1 || pad < 0 || nthreads < 1
        || groups < 1 || C % groups || OC % groups
        || H + 2 * pad < K || W + 2 * pad < K || (in_layout == TL_NCHW16C && C % 16)
        || (out_layout == TL_NCHW16C && OC % 16)) return NULL;
    tl_conv2d *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->OH = (H + 2 * pad - K) / stride + 1;
    p->OW = (W + 2 * pad - K) / stride + 1;
    p->OC = OC;
    p->has_bias = has_bias != 0;
    p->nthreads = nthreads;
    p->N = N;
    p->C = C;
    p->HW = H * W;
    int saved = omp_get_max_threads();
    omp_set_num_threads(nthreads);
    int rc = dnnl_engine_create(&p->eng, dnnl_cpu, 0) || dnnl_stream_create(&p->strm, p->eng, dnnl_stream_default_flags)
          || build(p, N, C, H, W, K, stride, pad, groups, in_layout, out_layout, fwd_only);
    omp_set_num_threads(saved);
    if (rc) { tl_conv2d_free(p); return NULL; }
    return p;
}

tl_conv2d *tl_conv2d_create_layout(int N, int C, int H, int W, int OC, int K, int stride, int pad, int groups,
                                   int has_bias, int in_layout, int out_layout, int nthreads) {
    return create(N, C, H, W, OC, K, stride, pad, groups, has_bias, in_layout, out_layout, nthreads, 0);
}

tl_conv2d *tl_conv2d_create_forward(int N, int C, int H, int W, int OC, int K, int stride, int pad, int groups,
                                    int has_bias, int in_layout, int out_layout, int nthreads) {
    return create(N, C, H, W, OC, K, stride, pad, groups, has_bias, in_layout, out_layout, nthreads, 1);
}

size_t tl_conv2d_work_size(const tl_conv2d *p) { return p->work_size; }

int tl_conv2d_share_work(tl_conv2d *p, void *work) {
    free(p->own_work);
    p->own_work = NULL;
    return place_work(p, work);
}

const char *tl_conv2d_strerror(int status) { return dnnl_status2str((dnnl_status_t)status); }

int tl_conv2d_out_h(const tl_conv2d *p) { return p->OH; }
int tl_conv2d_out_w(const tl_conv2d *p) { return p->OW; }

/* torch.nn.functional.conv2d(inp, w, b, stride, pad). b must be non-NULL exactly when the plan has
 * a bias. */
int tl_conv2d_forward(tl_conv2d *p, float *out, const float *inp, const float *w, const float *b) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(p->nthreads);
    dnnl_status_t st;
    p->fwd_inp = NULL;   /* until the blocked copy of inp is made */
    TL_DNNL(port_run(p, &p->f_src, inp, TL_PORT_IN));
    p->fwd_inp = inp;
    TL_DNNL(port_run(p, &p->f_w, w, TL_PORT_IN));
    TL_DNNL(dnnl_memory_set_data_handle(p->f_dst.user, out));
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, p->f_src.mem}, {DNNL_ARG_WEIGHTS, p->f_w.mem},
                            {DNNL_ARG_DST, p->f_dst.mem}, {DNNL_ARG_SCRATCHPAD, p->fwd_scratch},
                            {DNNL_ARG_BIAS, p->bias}};
    if (p->has_bias) TL_DNNL(dnnl_memory_set_data_handle(p->bias, (void *)b));
    TL_DNNL(dnnl_primitive_execute(p->fwd, p->strm, p->has_bias ? 5 : 4, a));
    TL_DNNL(port_run(p, &p->f_dst, out, TL_PORT_OUT));
    TL_DNNL(dnnl_stream_wait(p->strm));
done:
    omp_set_num_threads(saved);
    return (int)st;
}

/* Gradients of the forward above, added into dinp, dw and db; each may be NULL (skipped; with
 * dinp NULL backward data does not run, with dw and db both NULL backward weights does not run). */
int tl_conv2d_backward(tl_conv2d *p, float *dinp, float *dw, float *db, const float *dout,
                       const float *inp, const float *w) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(p->nthreads);
    dnnl_status_t st = dnnl_success;
    int weights = dw || (db && p->has_bias);
    if (dinp || (weights && p->w_ddst.shared)) TL_DNNL(port_run(p, &p->d_ddst, dout, TL_PORT_IN));
    if (dinp) {
        TL_DNNL(port_run(p, &p->d_w, w, TL_PORT_IN));
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_DIFF_DST, p->d_ddst.mem}, {DNNL_ARG_WEIGHTS, p->d_w.mem},
                                {DNNL_ARG_DIFF_SRC, p->d_dsrc.mem}, {DNNL_ARG_SCRATCHPAD, p->bwd_data_scratch}};
        TL_DNNL(dnnl_primitive_execute(p->bwd_data, p->strm, 4, a));
        if (p->dsrc_add == DSRC_REORDER) TL_DNNL(port_run(p, &p->d_dsrc, dinp, TL_PORT_ACC));
        else {
            float *buf;
            TL_DNNL(dnnl_stream_wait(p->strm));
            TL_DNNL(dnnl_memory_get_data_handle(p->d_dsrc.mem, (void **)&buf));
            if (p->dsrc_add == DSRC_NCHW16C) add_nchw16c(dinp, buf, p->N, p->C, p->HW, p->nthreads);
            else add_same(dinp, buf, (size_t)p->N * p->C * p->HW, p->nthreads);
        }
    }
    if (weights) {
        if (!p->w_src.shared) TL_DNNL(port_run(p, &p->w_src, inp, TL_PORT_IN));
        else if (inp != p->fwd_inp) {
            p->fwd_inp = NULL;
            TL_DNNL(port_run(p, &p->f_src, inp, TL_PORT_IN));
            p->fwd_inp = inp;
        }
        if (!p->w_ddst.shared) TL_DNNL(port_run(p, &p->w_ddst, dout, TL_PORT_IN));
        dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, p->w_src.mem}, {DNNL_ARG_DIFF_DST, p->w_ddst.mem},
                                {DNNL_ARG_DIFF_WEIGHTS, p->w_dw.mem}, {DNNL_ARG_SCRATCHPAD, p->bwd_w_scratch},
                                {DNNL_ARG_DIFF_BIAS, p->dbias}};
        TL_DNNL(dnnl_primitive_execute(p->bwd_w, p->strm, p->has_bias ? 5 : 4, a));
        if (dw) TL_DNNL(port_run(p, &p->w_dw, dw, TL_PORT_ACC));
    }
    TL_DNNL(dnnl_stream_wait(p->strm));
    if (db && p->has_bias)
        for (int o = 0; o < p->OC; o++) db[o] += p->db_buf[o];
done:
    omp_set_num_threads(saved);
    return (int)st;
}
