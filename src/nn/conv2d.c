/* Conv2d: torch.nn.Conv2d(C, OC, K, stride, pad, bias), square kernel, groups = 1, on oneDNN.
 *
 * PyTorch's CPU convolution is oneDNN (the same libdnnl 2.6 on Debian), so the plan builds the same
 * three primitives once per shape: forward (training), backward data and backward weights (+bias).
 * oneDNN picks its preferred (blocked) layouts; the plan owns the blocked buffers, the reorders
 * between them and the caller's plain NCHW / OIHW tensors, and one scratchpad shared by all
 * primitives, so forward and backward allocate nothing.
 *
 * Gradients accumulate (+=): backward data and backward weights write into plan-owned buffers and a
 * reorder with a sum post-op adds them into the caller's dinp and dw (one pass that also converts
 * the layout); db is added by a short loop.
 *
 * Threads: with the OpenMP runtime (Debian's build), oneDNN sizes its work split and its teams from
 * omp_get_max_threads() of the calling thread, both when a primitive is created and when it runs,
 * so every oneDNN call is bracketed by omp_set_num_threads(nthreads) and a restore of the previous
 * value. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dnnl.h>
#include "nn/nn.h"

/* One tensor as seen by one primitive: the caller's plain memory, the memory the primitive reads
 * or writes (the same object when the layouts agree) and the reorder between them. */
typedef struct {
    dnnl_memory_t user;         /* plain layout; data handle set on each call */
    dnnl_memory_t mem;          /* primitive layout; == user when no reorder is needed */
    dnnl_primitive_t reorder;   /* user -> mem (inputs), mem -> user (outputs); NULL when none */
    int shared;                 /* mem belongs to another port */
} tl_conv_port;

struct tl_conv2d {
    int N, C, H, W, OC, K, stride, pad, OH, OW, has_bias, nthreads;
    int exp;                    /* experiment flags */
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_t fwd, bwd_data, bwd_w;
    dnnl_memory_t fwd_scratch, bwd_data_scratch, bwd_w_scratch;
    void *scratch;
    /* forward */
    tl_conv_port f_src, f_w, f_dst;
    dnnl_memory_t f_b;
    /* backward data */
    tl_conv_port d_ddst, d_w, d_dsrc;
    /* backward weights */
    tl_conv_port w_src, w_ddst, w_dw;
    dnnl_memory_t w_db;
    float *db_buf;
    const float *fwd_inp;          /* inp of the latest forward, whose blocked copy f_src.mem holds */
};

enum { TL_PORT_IN, TL_PORT_OUT, TL_PORT_ACC };

static void port_free(tl_conv_port *p) {
    if (p->reorder) dnnl_primitive_destroy(p->reorder);
    if (p->mem && p->mem != p->user && !p->shared) dnnl_memory_destroy(p->mem);
    if (p->user) dnnl_memory_destroy(p->user);
    memset(p, 0, sizeof *p);
}

/* Builds a port between the plain descriptor `plain` and the primitive's descriptor `want`. IN:
 * reorder plain -> want when they differ. OUT: reorder want -> plain when they differ. ACC: always
 * a plan-owned buffer and a reorder want -> plain with a sum post-op (dst += src). If `share` is
 * non-NULL and holds a buffer of the same layout, its memory is reused. */
static int port_init(tl_conv_port *p, dnnl_engine_t eng, const dnnl_memory_desc_t *plain,
                     const dnnl_memory_desc_t *want, int kind, const tl_conv_port *share) {
    memset(p, 0, sizeof *p);
    if (dnnl_memory_create(&p->user, plain, eng, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    if (kind != TL_PORT_ACC && dnnl_memory_desc_equal(plain, want)) { p->mem = p->user; return 0; }
    if (share && share->reorder && kind == TL_PORT_IN) {
        const dnnl_memory_desc_t *smd;
        dnnl_memory_get_memory_desc(share->mem, &smd);
        if (dnnl_memory_desc_equal(smd, want)) { p->mem = share->mem; p->shared = 1; return 0; }
    }
    if (dnnl_memory_create(&p->mem, want, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success) return -1;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    int rc = -1;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    if (kind == TL_PORT_ACC) {
        if (dnnl_post_ops_create(&po) != dnnl_success || dnnl_post_ops_append_sum(po, 1.0f) != dnnl_success
            || dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success) goto done;
    }
    dnnl_primitive_desc_t rpd = NULL;
    if (kind == TL_PORT_IN) {
        if (dnnl_reorder_primitive_desc_create(&rpd, plain, eng, want, eng, attr) != dnnl_success) goto done;
    } else if (dnnl_reorder_primitive_desc_create(&rpd, want, eng, plain, eng, attr) != dnnl_success) goto done;
    rc = dnnl_primitive_create(&p->reorder, rpd) == dnnl_success ? 0 : -1;
    dnnl_primitive_desc_destroy(rpd);
done:
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

static void run_reorder(tl_conv2d *p, const tl_conv_port *port, int in) {
    if (!port->reorder) return;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, in ? port->user : port->mem},
                            {DNNL_ARG_TO, in ? port->mem : port->user}};
    dnnl_primitive_execute(port->reorder, p->strm, 2, a);
}

static dnnl_status_t make_scratch(dnnl_memory_t *m, const_dnnl_primitive_desc_t pd, dnnl_engine_t eng,
                                  size_t *need) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t s = dnnl_memory_desc_get_size(md);
    if (s > *need) *need = s;
    return dnnl_memory_create(m, md, eng, DNNL_MEMORY_NONE);
}

static int build(tl_conv2d *p) {
    const int plain_fmt = p->exp & 1;
    dnnl_dims_t sd = {p->N, p->C, p->H, p->W}, wd = {p->OC, p->C, p->K, p->K}, dd = {p->N, p->OC, p->OH, p->OW};
    dnnl_dims_t bd = {p->OC}, strides = {p->stride, p->stride}, pads = {p->pad, p->pad};
    dnnl_dims_t pad_r = {(p->OH - 1) * p->stride + p->K - p->H - p->pad, (p->OW - 1) * p->stride + p->K - p->W - p->pad};
    dnnl_memory_desc_t src_p, w_p, dst_p, b_p, src_a, w_a, dst_a;
    dnnl_memory_desc_init_by_tag(&src_p, 4, sd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&w_p, 4, wd, dnnl_f32, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&dst_p, 4, dd, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&b_p, 1, bd, dnnl_f32, dnnl_a);
    dnnl_format_tag_t any = dnnl_format_tag_any;
    dnnl_memory_desc_init_by_tag(&src_a, 4, sd, dnnl_f32, plain_fmt ? dnnl_nchw : any);
    dnnl_memory_desc_init_by_tag(&w_a, 4, wd, dnnl_f32, plain_fmt ? dnnl_oihw : any);
    dnnl_memory_desc_init_by_tag(&dst_a, 4, dd, dnnl_f32, plain_fmt ? dnnl_nchw : any);
    const dnnl_memory_desc_t *bias = p->has_bias ? &b_p : NULL;

    int rc = -1;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    dnnl_convolution_desc_t fd, ddesc, wdesc;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) goto done;
    if (dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_a, &w_a,
                                           bias, &dst_a, strides, pads, pad_r) != dnnl_success) goto done;
    if (dnnl_primitive_desc_create(&fpd, &fd, attr, p->eng, NULL) != dnnl_success) goto done;
    if (dnnl_convolution_backward_data_desc_init(&ddesc, dnnl_convolution_direct, &src_a, &w_a, &dst_a,
                                                 strides, pads, pad_r) != dnnl_success) goto done;
    if (dnnl_primitive_desc_create(&dpd, &ddesc, attr, p->eng, fpd) != dnnl_success) goto done;
    if (dnnl_convolution_backward_weights_desc_init(&wdesc, dnnl_convolution_direct, &src_a, &w_a, bias,
                                                    &dst_a, strides, pads, pad_r) != dnnl_success) goto done;
    if (dnnl_primitive_desc_create(&wpd, &wdesc, attr, p->eng, fpd) != dnnl_success) goto done;

    if (dnnl_primitive_create(&p->fwd, fpd) || dnnl_primitive_create(&p->bwd_data, dpd)
        || dnnl_primitive_create(&p->bwd_w, wpd)) goto done;
    size_t need = 0;
    if (make_scratch(&p->fwd_scratch, fpd, p->eng, &need) || make_scratch(&p->bwd_data_scratch, dpd, p->eng, &need)
        || make_scratch(&p->bwd_w_scratch, wpd, p->eng, &need)) goto done;
    if (need) {
        p->scratch = aligned_alloc(64, (need + 63) / 64 * 64);
        if (!p->scratch) goto done;
        dnnl_memory_set_data_handle(p->fwd_scratch, p->scratch);
        dnnl_memory_set_data_handle(p->bwd_data_scratch, p->scratch);
        dnnl_memory_set_data_handle(p->bwd_w_scratch, p->scratch);
    }
#define MD(pd, q) dnnl_primitive_desc_query_md(pd, q, 0)
    if (port_init(&p->f_src, p->eng, &src_p, MD(fpd, dnnl_query_src_md), TL_PORT_IN, NULL)
        || port_init(&p->f_w, p->eng, &w_p, MD(fpd, dnnl_query_weights_md), TL_PORT_IN, NULL)
        || port_init(&p->f_dst, p->eng, &dst_p, MD(fpd, dnnl_query_dst_md), TL_PORT_OUT, NULL)
        || port_init(&p->d_ddst, p->eng, &dst_p, MD(dpd, dnnl_query_diff_dst_md), TL_PORT_IN, NULL)
        || port_init(&p->d_w, p->eng, &w_p, MD(dpd, dnnl_query_weights_md), TL_PORT_IN, NULL)
        || port_init(&p->d_dsrc, p->eng, &src_p, MD(dpd, dnnl_query_diff_src_md), TL_PORT_ACC, NULL)
        || port_init(&p->w_src, p->eng, &src_p, MD(wpd, dnnl_query_src_md), TL_PORT_IN, &p->f_src)
        || port_init(&p->w_ddst, p->eng, &dst_p, MD(wpd, dnnl_query_diff_dst_md), TL_PORT_IN, &p->d_ddst)
        || port_init(&p->w_dw, p->eng, &w_p, MD(wpd, dnnl_query_diff_weights_md), TL_PORT_ACC, NULL)) goto done;
    if (p->has_bias) {
        if (dnnl_memory_create(&p->f_b, &b_p, p->eng, DNNL_MEMORY_NONE)) goto done;
        p->db_buf = aligned_alloc(64, ((size_t)p->OC * sizeof(float) + 63) / 64 * 64);
        if (!p->db_buf || dnnl_memory_create(&p->w_db, &b_p, p->eng, p->db_buf)) goto done;
    }
#undef MD
    if (getenv("TL_CONV_VERBOSE")) {
        const char *name;
        dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &name); fprintf(stderr, "fwd %s\n", name);
        dnnl_primitive_desc_query(dpd, dnnl_query_impl_info_str, 0, &name); fprintf(stderr, "bwd_d %s\n", name);
        dnnl_primitive_desc_query(wpd, dnnl_query_impl_info_str, 0, &name); fprintf(stderr, "bwd_w %s\n", name);
    }
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
    if (p->fwd) dnnl_primitive_destroy(p->fwd);
    if (p->bwd_data) dnnl_primitive_destroy(p->bwd_data);
    if (p->bwd_w) dnnl_primitive_destroy(p->bwd_w);
    if (p->fwd_scratch) dnnl_memory_destroy(p->fwd_scratch);
    if (p->bwd_data_scratch) dnnl_memory_destroy(p->bwd_data_scratch);
    if (p->bwd_w_scratch) dnnl_memory_destroy(p->bwd_w_scratch);
    port_free(&p->f_src); port_free(&p->f_w); port_free(&p->f_dst);
    port_free(&p->d_ddst); port_free(&p->d_w); port_free(&p->d_dsrc);
    port_free(&p->w_src); port_free(&p->w_ddst); port_free(&p->w_dw);
    if (p->f_b) dnnl_memory_destroy(p->f_b);
    if (p->w_db) dnnl_memory_destroy(p->w_db);
    if (p->strm) dnnl_stream_destroy(p->strm);
    if (p->eng) dnnl_engine_destroy(p->eng);
    free(p->scratch);
    free(p->db_buf);
    free(p);
}

tl_conv2d *tl_conv2d_create(int N, int C, int H, int W, int OC, int K, int stride, int pad,
                            int has_bias, int nthreads) {
    if (N < 1 || C < 1 || OC < 1 || K < 1 || stride < 1 || pad < 0 || nthreads < 1) return NULL;
    if (H + 2 * pad < K || W + 2 * pad < K) return NULL;
    tl_conv2d *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (tl_conv2d){.N = N, .C = C, .H = H, .W = W, .OC = OC, .K = K, .stride = stride, .pad = pad,
                     .OH = (H + 2 * pad - K) / stride + 1, .OW = (W + 2 * pad - K) / stride + 1,
                     .has_bias = has_bias != 0, .nthreads = nthreads};
    const char *e = getenv("TL_CONV_EXP");
    p->exp = e ? atoi(e) : 0;
    int saved = omp_get_max_threads();
    omp_set_num_threads(nthreads);
    int rc = dnnl_engine_create(&p->eng, dnnl_cpu, 0) == dnnl_success
          && dnnl_stream_create(&p->strm, p->eng, dnnl_stream_default_flags) == dnnl_success ? build(p) : -1;
    omp_set_num_threads(saved);
    if (rc) { tl_conv2d_free(p); return NULL; }
    return p;
}

int tl_conv2d_out_h(const tl_conv2d *p) { return p->OH; }
int tl_conv2d_out_w(const tl_conv2d *p) { return p->OW; }

void tl_conv2d_forward(tl_conv2d *p, float *out, const float *inp, const float *w, const float *b) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(p->nthreads);
    dnnl_memory_set_data_handle(p->f_src.user, (void *)inp);
    dnnl_memory_set_data_handle(p->f_w.user, (void *)w);
    dnnl_memory_set_data_handle(p->f_dst.user, out);
    run_reorder(p, &p->f_src, 1);
    run_reorder(p, &p->f_w, 1);
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, p->f_src.mem}, {DNNL_ARG_WEIGHTS, p->f_w.mem},
                            {DNNL_ARG_DST, p->f_dst.mem}, {DNNL_ARG_SCRATCHPAD, p->fwd_scratch},
                            {DNNL_ARG_BIAS, p->f_b}};
    if (p->has_bias) dnnl_memory_set_data_handle(p->f_b, (void *)b);
    dnnl_primitive_execute(p->fwd, p->strm, p->has_bias ? 5 : 4, a);
    run_reorder(p, &p->f_dst, 0);
    p->fwd_inp = inp;
    omp_set_num_threads(saved);
}

void tl_conv2d_backward(tl_conv2d *p, float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(p->nthreads);
    dnnl_memory_set_data_handle(p->d_ddst.user, (void *)dout);
    run_reorder(p, &p->d_ddst, 1);
    if (dinp) {
        dnnl_memory_set_data_handle(p->d_w.user, (void *)w);
        dnnl_memory_set_data_handle(p->d_dsrc.user, dinp);
        run_reorder(p, &p->d_w, 1);
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_DIFF_DST, p->d_ddst.mem}, {DNNL_ARG_WEIGHTS, p->d_w.mem},
                                {DNNL_ARG_DIFF_SRC, p->d_dsrc.mem}, {DNNL_ARG_SCRATCHPAD, p->bwd_data_scratch}};
        dnnl_primitive_execute(p->bwd_data, p->strm, 4, a);
        run_reorder(p, &p->d_dsrc, 0);
    }
    if (p->w_src.shared) {
        if (inp != p->fwd_inp || (p->exp & 2)) {
            dnnl_memory_set_data_handle(p->f_src.user, (void *)inp);
            run_reorder(p, &p->f_src, 1);
            p->fwd_inp = inp;
        }
    } else {
        dnnl_memory_set_data_handle(p->w_src.user, (void *)inp);
        run_reorder(p, &p->w_src, 1);
    }
    dnnl_memory_set_data_handle(p->w_ddst.user, (void *)dout);
    dnnl_memory_set_data_handle(p->w_dw.user, dw);
    run_reorder(p, &p->w_ddst, 1);
    dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, p->w_src.mem}, {DNNL_ARG_DIFF_DST, p->w_ddst.mem},
                            {DNNL_ARG_DIFF_WEIGHTS, p->w_dw.mem}, {DNNL_ARG_SCRATCHPAD, p->bwd_w_scratch},
                            {DNNL_ARG_DIFF_BIAS, p->w_db}};
    dnnl_primitive_execute(p->bwd_w, p->strm, p->has_bias ? 5 : 4, a);
    run_reorder(p, &p->w_dw, 0);
    if (p->has_bias && db)
        for (int o = 0; o < p->OC; o++) db[o] += p->db_buf[o];
    omp_set_num_threads(saved);
}
