#include <math.h>
#include <string.h>
#include "core/error.h"
#include "spec/spec.h"
#include "train/optim.h"

/* Below this many elements a group is updated by one thread: a parallel region costs more. The update
 * streams 3-4 floats per element at several GB/s, so 2^18 elements take ~0.1 ms on one thread, while a
 * parallel region per step keeps the other OpenMP thread spinning between steps: in a small model's
 * step (the mlp on tabular data, ~0.5 ms) that spinning thread competed with the loader thread and made
 * the step several times slower on a loaded machine. */
#define TL_OPTIM_PAR_MIN 262144

size_t tl_optim_state_floats(const tl_optim_cfg *cfg, size_t nparams) {
    if (cfg->kind == TL_OPTIM_ADAM) return 2 * nparams;
    return cfg->momentum != 0 ? nparams : 0;
}

int tl_param_groups_check(const tl_param_group *groups, int ngroups, size_t nparams, tl_error *err) {
    for (int i = 0; i < ngroups; i++) {
        const tl_param_group *g = &groups[i];
        if (g->begin >= g->end || g->end > nparams)
            return tl_fail(err, "parameter group %d: range [%zu, %zu) is empty or outside [0, %zu)",
                           i, g->begin, g->end, nparams);
        for (int j = 0; j < i; j++)
            if (g->begin < groups[j].end && groups[j].begin < g->end)
                return tl_fail(err, "parameter group %d [%zu, %zu) overlaps group %d [%zu, %zu)", i,
                               g->begin, g->end, j, groups[j].begin, groups[j].end);
    }
    return 0;
}

/* torch.optim.SGD, _single_tensor_sgd, dampening 0. ATen's add(a, b, alpha) is fmadd(b, alpha, a)
 * in its AVX2 kernels, hence the fmaf; mul_ then add_ are two separate roundings. buf may be NULL
 * when momentum is 0. */
static void sgd_update(float *restrict p, float *restrict buf, const float *restrict grad, size_t n,
                       float lr, float wd, float momentum, int nesterov, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if (n >= TL_OPTIM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = wd != 0.0f ? fmaf(p[i], wd, grad[i]) : grad[i];     /* d_p = grad.add(p, alpha=wd) */
        if (momentum != 0.0f) {
            float b = buf[i] * momentum + d;                           /* buf.mul_(m).add_(d_p) */
            buf[i] = b;
            d = nesterov ? fmaf(b, momentum, d) : b;                   /* d_p.add(buf, alpha=m) */
        }
        p[i] = fmaf(d, -lr, p[i]);                                     /* p.add_(d_p, alpha=-lr) */
    }
}

/* torch.optim.Adam / AdamW, _single_tensor_adam(w), amsgrad off. Scalars arrive already rounded
 * to float as ATen rounds them: c1 = 1-β1, c2 = 1-β2, bc2s = sqrt(1-β2^t), neg_step = -lr/(1-β1^t),
 * keep = 1 - lr·wd (AdamW) or 1. ATen's addcmul, self + value·t1·t2, is compiled (GNU C++,
 * AVX2+FMA) into one fma after the first product; addcdiv, self + value·t1/t2, cannot fuse. */
static void adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict grad,
                        size_t n, float wd, float keep, float b1, float c1, float b2, float c2, float bc2s,
                        float eps, float neg_step, int nthreads) {
    #pragma omp parallel for num_threads(nthreads) schedule(static) if (n >= TL_OPTIM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * keep;                                        /* p.mul_(1 - lr*wd) (AdamW) */
        float g = wd != 0.0f ? fmaf(pi, wd, grad[i]) : grad[i];        /* grad.add(p, alpha=wd) (Adam) */
        float mi = fmaf(g, c1, m[i] * b1);                             /* m.mul_(b1).add_(g, alpha=1-b1) */
        float vi = fmaf(c2 * g, g, v[i] * b2);                         /* v.mul_(b2).addcmul_(g, g, value=1-b2) */
        float denom = sqrtf(vi) / bc2s + eps;                          /* (v.sqrt() / bc2s).add_(eps) */
        p[i] = pi + neg_step * mi / denom;                             /* p.addcdiv_(m, denom, value=-step) */
        m[i] = mi;
        v[i] = vi;
    }
}

void tl_optim_step(float *params, float *state, const float *grads, size_t nparams,
                   const tl_param_group *groups, int ngroups, const tl_optim_cfg *cfg, double lr,
                   long step, int nthreads) {
    for (int k = 0; k < ngroups; k++) {
        const tl_param_group *g = &groups[k];
        if (g->frozen) continue;
        size_t b = g->begin, n = g->end - g->begin;
        double glr = lr * g->lr_mult, wd = g->decay ? cfg->wd : 0.0;
        if (cfg->kind == TL_OPTIM_SGD) {
            sgd_update(params + b, cfg->momentum != 0 ? state + b : NULL, grads + b, n, (float)glr,
                       (float)wd, (float)cfg->momentum, cfg->nesterov, nthreads);
        } else {
            /* Python-double arithmetic of _single_tensor_adam, rounded to float at the kernel. */
            double bc1 = 1.0 - pow(cfg->beta1, (double)step), bc2 = 1.0 - pow(cfg->beta2, (double)step);
            float keep = cfg->decoupled ? (float)(1.0 - glr * wd) : 1.0f;
            adam_update(params + b, state + b, state + nparams + b, grads + b, n,
                        cfg->decoupled ? 0.0f : (float)wd, keep, (float)cfg->beta1, (float)(1.0 - cfg->beta1),
                        (float)cfg->beta2, (float)(1.0 - cfg->beta2), (float)sqrt(bc2), (float)cfg->eps,
                        (float)(-(glr / bc1)), nthreads);
        }
    }
}

int tl_optim_parse(tl_optim_cfg *out, const char *text, const char *option, tl_error *err) {
    static const char *const names[] = {"sgd", "adam", "adamw"};
    tl_spec s;
    if (tl_spec_parse(&s, text, option, err)) return -1;
    int which = tl_spec_lookup(&s, names, sizeof names[0], 3, err);
    if (which < 0) return -1;
    memset(out, 0, sizeof *out);
    if (which == 0) {
        out->kind = TL_OPTIM_SGD;
        if (tl_spec_double(&s, "lr", 0.1, &out->lr, err) ||
            tl_spec_double(&s, "momentum", 0.9, &out->momentum, err) ||
            tl_spec_double(&s, "wd", 5e-4, &out->wd, err) ||
            tl_spec_bool(&s, "nesterov", 0, &out->nesterov, err) || tl_spec_check_unused(&s, err))
            return -1;
        if (out->nesterov && out->momentum == 0)
            return tl_spec_fail(err, &s, "nesterov=1 needs momentum > 0");
    } else {
        out->kind = TL_OPTIM_ADAM;
        out->decoupled = which == 2;
        if (tl_spec_double(&s, "lr", 1e-3, &out->lr, err) ||
            tl_spec_double(&s, "wd", out->decoupled ? 1e-2 : 0.0, &out->wd, err) ||
            tl_spec_double(&s, "beta1", 0.9, &out->beta1, err) ||
            tl_spec_double(&s, "beta2", 0.999, &out->beta2, err) ||
            tl_spec_double(&s, "eps", 1e-8, &out->eps, err) || tl_spec_check_unused(&s, err))
            return -1;
    }
    return 0;
}
