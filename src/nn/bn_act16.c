/* The fused BN + residual + ReLU of bn_act.c on activations in oneDNN's blocked layout nChw16c
 * ([N, C/16, HW, 16]: 16 channels interleaved per pixel), the layout the convolutions read and write,
 * so a network that keeps its activations blocked needs no layout conversion around each conv.
 *
 * Same formulas, same statistics and the same recomputation guarantee as bn_act.c (tl_bn_affine);
 * the loops differ: every pass walks whole 16-channel blocks, one vector of lanes per pixel. The
 * batch statistics are sums over fixed chunks of the batch (TL_BN16_CHUNKS per block, one OpenMP
 * task each, so even a 16-channel layer uses every thread), combined in chunk order: results do not
 * depend on the thread count. */
#include <string.h>
#include "nn/nn.h"
#include "nn/reduce.h"

#define L 16
#define TL_BN16_CHUNKS 8

/* One pixel's 16 lanes as a vector (GCC/Clang vector extensions: each operation is the scalar one
 * per lane, in the same order, so the results are the scalar loops' bit for bit; without contraction
 * (ISO C mode) a·b + c stays a rounded product and a rounded sum). */
typedef float tl_v16f __attribute__((vector_size(64)));
typedef int tl_v16i __attribute__((vector_size(64)));
typedef float tl_v8f __attribute__((vector_size(32)));
typedef double tl_v8d __attribute__((vector_size(64)));

static inline tl_v16f ld16(const float *p) { tl_v16f v; memcpy(&v, p, sizeof v); return v; }
static inline void st16(float *p, tl_v16f v) { memcpy(p, &v, sizeof v); }
/* Lanes 8h .. 8h + 7 in double (exact). */
static inline tl_v8d half_d(tl_v16f v, int h) {
    tl_v8f f;
    memcpy(&f, (const float *)&v + 8 * h, sizeof f);
    return __builtin_convertvector(f, tl_v8d);
}

/* Chunk k of the batch: samples [lo, hi). */
static void chunk(int N, int k, int *lo, int *hi) {
    *lo = (int)((long)N * k / TL_BN16_CHUNKS);
    *hi = (int)((long)N * (k + 1) / TL_BN16_CHUNKS);
}

/* A block plane (one sample, 16 channels, HW pixels): y = act(x·scale + shift (+ r)), per lane; the
 * branches outside the loops so that each variant is one 16-wide vector expression per pixel. */
static inline void plane16(float *restrict y, const float *restrict x, const float *restrict r, int HW,
                           const float *restrict sc, const float *restrict sh, int relu) {
    if (r && relu)
        for (int s = 0; s < HW * L; s += L)
            for (int l = 0; l < L; l++) { float v = x[s + l] * sc[l] + sh[l] + r[s + l]; y[s + l] = v < 0.0f ? 0.0f : v; }
    else if (r)
        for (int s = 0; s < HW * L; s += L)
            for (int l = 0; l < L; l++) y[s + l] = x[s + l] * sc[l] + sh[l] + r[s + l];
    else if (relu)
        for (int s = 0; s < HW * L; s += L)
            for (int l = 0; l < L; l++) { float v = x[s + l] * sc[l] + sh[l]; y[s + l] = v < 0.0f ? 0.0f : v; }
    else
        for (int s = 0; s < HW * L; s += L)
            for (int l = 0; l < L; l++) y[s + l] = x[s + l] * sc[l] + sh[l];
}

/* The gated upstream gradient of one pixel, as gate() of bn_act.c: dy where the ReLU passed (its
 * output y > 0, or recomputed from x when y is NULL), else +0. */
static inline tl_v16f gate16(const float *dy, const float *x, const float *y, tl_v16f sc, tl_v16f sh, int relu) {
    tl_v16f d = ld16(dy);
    if (!relu) return d;
    tl_v16i pass = y ? ld16(y) > 0.0f : ld16(x) * sc + sh > 0.0f;
    return (tl_v16f)((tl_v16i)d & pass);
}

/* scale[c], shift[c] for every channel (block cb's lanes are channels cb·16 .. cb·16 + 15) from the
 * batch statistics, or, with invstd NULL, from the running ones (mean = run_mean). */
static void affine_all(float *scale, float *shift, int C, const float *mean, const float *invstd,
                       const float *run_var, float eps, const float *gamma, const float *beta) {
    for (int c = 0; c < C; c++)
        tl_bn_affine(&scale[c], &shift[c], mean[c], invstd ? invstd[c] : tl_bn_run_invstd(run_var[c], eps), gamma[c],
                     beta[c]);
}

static void apply16(float *out, const float *inp, const float *res, int N, int CB, int HW, const float *scale,
                    const float *shift, int relu, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * CB * HW * L > 32768)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        size_t off = p * HW * L;
        int cb = (int)(p % (size_t)CB);
        plane16(out + off, inp + off, res ? res + off : NULL, HW, scale + cb * L, shift + cb * L, relu);
    }
}

/* part[(cb·CHUNKS + k)·16 + l] = Σ over chunk k and all pixels of x (or (x - mu)² when mu is given)
 * for channel cb·16 + l, in double; then each channel's total over the chunks, in chunk order. */
static void channel_sums(double *total, const float *x, const double *mu, int N, int CB, int HW, int nthreads) {
    double part[TL_BN16_MAX_CHANNELS / L * TL_BN16_CHUNKS][L];
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int t = 0; t < CB * TL_BN16_CHUNKS; t++) {
        int cb = t / TL_BN16_CHUNKS, lo, hi;
        chunk(N, t % TL_BN16_CHUNKS, &lo, &hi);
        tl_v8d acc[2] = {0}, m[2] = {0};
        if (mu) memcpy(m, mu + cb * L, sizeof m);
        for (int n = lo; n < hi; n++) {
            const float *p = x + ((size_t)n * CB + cb) * HW * L;
            for (int s = 0; s < HW * L; s += L) {
                tl_v16f v = ld16(p + s);
                for (int h = 0; h < 2; h++) {
                    tl_v8d d = half_d(v, h);
                    if (mu) d -= m[h];
                    acc[h] += mu ? d * d : d;
                }
            }
        }
        memcpy(part[t], acc, sizeof acc);
    }
    for (int c = 0; c < CB * L; c++) {
        double s = 0;
        for (int k = 0; k < TL_BN16_CHUNKS; k++) s += part[c / L * TL_BN16_CHUNKS + k][c % L];
        total[c] = s;
    }
}

void tl_bn_act16_forward_train(float *out, float *mean, float *invstd, float *run_mean, float *run_var,
                               const float *inp, const float *res, const float *gamma, const float *beta,
                               int N, int C, int HW, float eps, float momentum, int relu, int nthreads) {
    const int CB = C / L;
    double mu[TL_BN16_MAX_CHANNELS], var[TL_BN16_MAX_CHANNELS];
    float scale[TL_BN16_MAX_CHANNELS], shift[TL_BN16_MAX_CHANNELS];
    channel_sums(mu, inp, NULL, N, CB, HW, nthreads);
    const double M = (double)N * HW * tl_batch_sum(mu, (size_t)C);
    for (int c = 0; c < C; c++) mu[c] /= M;
    channel_sums(var, inp, mu, N, CB, HW, nthreads);
    tl_batch_sum(var, (size_t)C);
    for (int c = 0; c < C; c++) {
        var[c] /= M;
        mean[c] = (float)mu[c];
        invstd[c] = (float)(1.0 / sqrt(var[c] + (double)eps));
        tl_bn_running_update(&run_mean[c], &run_var[c], mu[c], var[c], M, momentum);
    }
    affine_all(scale, shift, C, mean, invstd, NULL, 0, gamma, beta);
    apply16(out, inp, res, N, CB, HW, scale, shift, relu, nthreads);
}

void tl_bn_act16_apply(float *out, const float *inp, const float *res, const float *mean, const float *invstd,
                       const float *gamma, const float *beta, int N, int C, int HW, int relu, int nthreads) {
    float scale[TL_BN16_MAX_CHANNELS], shift[TL_BN16_MAX_CHANNELS];
    affine_all(scale, shift, C, mean, invstd, NULL, 0, gamma, beta);
    apply16(out, inp, res, N, C / L, HW, scale, shift, relu, nthreads);
}

void tl_bn_act16_forward_eval(float *out, const float *inp, const float *res, const float *gamma, const float *beta,
                              const float *run_mean, const float *run_var, int N, int C, int HW, float eps, int relu,
                              int nthreads) {
    float scale[TL_BN16_MAX_CHANNELS], shift[TL_BN16_MAX_CHANNELS];
    affine_all(scale, shift, C, run_mean, NULL, run_var, eps, gamma, beta);
    apply16(out, inp, res, N, C / L, HW, scale, shift, relu, nthreads);
}

void tl_bn_act16_backward(float *dinp, float *dres, float *dgamma, float *dbeta, const float *dout, const float *inp,
                          const float *out, const float *mean, const float *invstd, const float *gamma,
                          const float *beta, int N, int C, int HW, int relu, int overwrite, int nthreads) {
    const int CB = C / L;
    double part[TL_BN16_MAX_CHANNELS / L * TL_BN16_CHUNKS][2][L];
    float scale[TL_BN16_MAX_CHANNELS], shift[TL_BN16_MAX_CHANNELS];
    affine_all(scale, shift, C, mean, invstd, NULL, 0, gamma, beta);
    /* Σg and Σg·(x - mean) per channel and chunk, in double (two 8-lane halves per pixel, each lane's
     * sum in pixel order); dres gets g on the way. */
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int t = 0; t < CB * TL_BN16_CHUNKS; t++) {
        int cb = t / TL_BN16_CHUNKS, lo, hi;
        chunk(N, t % TL_BN16_CHUNKS, &lo, &hi);
        tl_v16f sc = ld16(scale + cb * L), sh = ld16(shift + cb * L), mu = ld16(mean + cb * L);
        tl_v8d mu_d[2] = {half_d(mu, 0), half_d(mu, 1)}, a1[2] = {0}, a2[2] = {0};
        for (int n = lo; n < hi; n++) {
            size_t off = ((size_t)n * CB + cb) * HW * L;
            for (int s = 0; s < HW * L; s += L) {
                const float *x = inp + off + s;
                tl_v16f g = gate16(dout + off + s, x, out ? out + off + s : NULL, sc, sh, relu), xv = ld16(x);
                for (int h = 0; h < 2; h++) {
                    tl_v8d gd = half_d(g, h);
                    a1[h] += gd;
                    a2[h] += gd * (half_d(xv, h) - mu_d[h]);
                }
                if (dres) st16(dres + off + s, overwrite ? g : ld16(dres + off + s) + g);
            }
        }
        memcpy(part[t][0], a1, sizeof a1);
        memcpy(part[t][1], a2, sizeof a2);
    }
    /* Σg at [c], Σg·(x - mean) at [C + c]: the chunks in order. dgamma and dbeta take this
     * process's own (the gradient sum adds the processes'); dx the global batch's (nn.h). */
    double sums[2 * TL_BN16_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
        double sg = 0, sgx = 0;
        for (int k = 0; k < TL_BN16_CHUNKS; k++) {
            sg += part[c / L * TL_BN16_CHUNKS + k][0][c % L];
            sgx += part[c / L * TL_BN16_CHUNKS + k][1][c % L];
        }
        if (dbeta) dbeta[c] += (float)sg;
        if (dgamma) dgamma[c] += (float)(sgx * invstd[c]);
        sums[c] = sg;
        sums[C + c] = sgx;
    }
    const double M = (double)N * HW * tl_batch_sum(sums, 2 * (size_t)C);
    /* dx = gf·g - gk·(x - mean) - gm per channel, as bn_act.c */
    float gf[TL_BN16_MAX_CHANNELS], gk[TL_BN16_MAX_CHANNELS], gm[TL_BN16_MAX_CHANNELS];
    for (int c = 0; c < C; c++) {
        double sg = sums[c], sgx = sums[C + c], is = invstd[c];
        double gd = gamma[c] * is;
        gf[c] = (float)gd;
        gk[c] = (float)(gd * sgx * is * is / M);
        gm[c] = (float)(gd * sg / M);
    }
    if (!dinp) return;
    /* An overwritten dres holds g itself: read it instead of gating dy again. */
    const float *gsrc = dres && overwrite ? dres : NULL;
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        int cb = (int)(p % (size_t)CB);
        tl_v16f sc = ld16(scale + cb * L), sh = ld16(shift + cb * L), mu = ld16(mean + cb * L);
        tl_v16f f = ld16(gf + cb * L), k = ld16(gk + cb * L), m = ld16(gm + cb * L);
        for (size_t o = p * HW * L; o < (p + 1) * HW * L; o += L) {
            tl_v16f x = ld16(inp + o);
            tl_v16f g = gsrc ? ld16(gsrc + o) : gate16(dout + o, inp + o, out ? out + o : NULL, sc, sh, relu);
            tl_v16f v = f * g - k * (x - mu) - m;
            st16(dinp + o, overwrite ? v : ld16(dinp + o) + v);
        }
    }
}

void tl_bn_act16_backward_eval(float *dinp, float *dres, const float *dout, const float *inp, const float *out,
                               const float *gamma, const float *beta, const float *run_mean, const float *run_var,
                               int N, int C, int HW, float eps, int relu, int overwrite, int nthreads) {
    const int CB = C / L;
    float scale[TL_BN16_MAX_CHANNELS], shift[TL_BN16_MAX_CHANNELS];
    affine_all(scale, shift, C, run_mean, NULL, run_var, eps, gamma, beta);
    #pragma omp parallel for num_threads(nthreads) schedule(static) if ((size_t)N * C * HW > 32768)
    for (size_t p = 0; p < (size_t)N * CB; p++) {
        int cb = (int)(p % (size_t)CB);
        tl_v16f sc = ld16(scale + cb * L), sh = ld16(shift + cb * L);
        for (size_t o = p * HW * L; o < (p + 1) * HW * L; o += L) {
            tl_v16f g = gate16(dout + o, inp + o, out ? out + o : NULL, sc, sh, relu);
            if (dres) st16(dres + o, overwrite ? g : ld16(dres + o) + g);
            if (dinp) st16(dinp + o, overwrite ? g * sc : ld16(dinp + o) + g * sc);
        }
    }
}
