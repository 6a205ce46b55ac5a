/* Relational knowledge distillation (methods.md §10.2: lenscloth/RKD's RkdDistance and RKdAngle)
 * and the --distill rkd hook. Both losses compare relations inside the batch, so student and
 * teacher features may have different dimensions. Computed in double. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "train/hook.h"
#include "transfer/kd.h"
#include "transfer/teacher.h"

/* Huber / smooth-L1 with β = 1 and its derivative. */
static double huber(double r) { return fabs(r) < 1 ? 0.5 * r * r : fabs(r) - 0.5; }
static double huber_d(double r) { return fabs(r) < 1 ? r : (r > 0 ? 1 : -1); }

/* d[N, N] = pdist(E) (0 on the diagonal, squared distances clamped at 1e-12); *clamped[i·N+j] marks
 * pairs whose squared distance hit the clamp. Returns the mean of the positive entries (P of them). */
static double pdist(double *d, unsigned char *clamped, const float *E, int N, int D, long *P) {
    double sum = 0;
    *P = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double sq = 0, v;
            if (i == j) { d[i * N + j] = 0; clamped[i * N + j] = 1; continue; }
            /* ‖e_i‖² + ‖e_j‖² − 2 e_i·e_j, as torch's pdist computes it */
            double a = 0, b = 0, ab = 0;
            for (int k = 0; k < D; k++) {
                double x = E[(size_t)i * D + k], y = E[(size_t)j * D + k];
                a += x * x; b += y * y; ab += x * y;
            }
            sq = a + b - 2 * ab;
            clamped[i * N + j] = sq < 1e-12;
            v = sqrt(sq < 1e-12 ? 1e-12 : sq);
            d[i * N + j] = v;
            if (v > 0) { sum += v; (*P)++; }
        }
    return *P ? sum / *P : 1;
}

double tl_rkd_distance(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w) {
    size_t nn = (size_t)N * N;
    double *ds = malloc(2 * nn * sizeof *ds), *dt = ds + nn;
    unsigned char *cs = malloc(2 * nn), *ct = cs + nn;
    if (!ds || !cs) { free(ds); free(cs); return NAN; }
    long Ps, Pt;
    double mus = pdist(ds, cs, S, N, Ds, &Ps), mut = pdist(dt, ct, T, N, Dt, &Pt), loss = 0, gd = 0;
    for (size_t p = 0; p < nn; p++) {
        double r = ds[p] / mus - dt[p] / mut;
        loss += huber(r);
        gd += huber_d(r) / nn * ds[p];    /* Σ g_ij d_ij, for the μ term */
    }
    if (dS)
        for (int k = 0; k < N; k++)
            for (int l = 0; l < N; l++) {
                size_t p = (size_t)k * N + l;
                if (k == l || cs[p]) continue;   /* no gradient on the diagonal or through the clamp */
                double g = huber_d(ds[p] / mus - dt[p] / mut) / nn;
                double gdkl = w * (g / mus - gd / ((double)Ps * mus * mus)) / ds[p];
                for (int j = 0; j < Ds; j++) {
                    double diff = S[(size_t)k * Ds + j] - S[(size_t)l * Ds + j];
                    dS[(size_t)k * Ds + j] += (float)(gdkl * diff);
                    dS[(size_t)l * Ds + j] -= (float)(gdkl * diff);
                }
            }
    free(ds);
    free(cs);
    return loss / nn;
}

/* U[j, :] = normalize(E[j] − E[i]) for vertex i (zero row for j = i); nrm[j] = ‖E[j] − E[i]‖. */
static void directions(double *U, double *nrm, const float *E, int i, int N, int D) {
    for (int j = 0; j < N; j++) {
        double s = 0;
        for (int k = 0; k < D; k++) {
            double v = (double)E[(size_t)j * D + k] - E[(size_t)i * D + k];
            U[(size_t)j * D + k] = v;
            s += v * v;
        }
        nrm[j] = sqrt(s);
        double inv = 1 / fmax(nrm[j], 1e-12);   /* F.normalize's eps */
        for (int k = 0; k < D; k++) U[(size_t)j * D + k] *= inv;
    }
}

double tl_rkd_angle(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w) {
    size_t nn = (size_t)N * N;
    double *Us = malloc(((size_t)N * Ds + (size_t)N * Dt + 2 * nn + (size_t)N * Ds + 2 * (size_t)N) * sizeof *Us);
    if (!Us) return NAN;
    double *Ut = Us + (size_t)N * Ds, *As = Ut + (size_t)N * Dt, *At = As + nn, *G = At + nn, *ns = G + (size_t)N * Ds,
           *nt = ns + N;
    double loss = 0, n3 = (double)N * N * N;
    for (int i = 0; i < N; i++) {
        directions(Us, ns, S, i, N, Ds);
        directions(Ut, nt, T, i, N, Dt);
        /* A[j, k] = u_ij · u_ik */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, Ds, 1, Us, Ds, Us, Ds, 0, As, N);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, Dt, 1, Ut, Dt, Ut, Dt, 0, At, N);
        for (size_t p = 0; p < nn; p++) {
            double r = As[p] - At[p];
            loss += huber(r);
            As[p] = huber_d(r);                    /* reused as H = h'(a^s − a^t) */
        }
        if (!dS) continue;
        /* G = ∂L/∂U = (2/N³)·H·U (u_ij appears in a_ijk and a_ikj) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Ds, N, 2 / n3, As, N, Us, Ds, 0, G, Ds);
        for (int j = 0; j < N; j++) {
            if (j == i || ns[j] < 1e-12) continue;
            double *g = G + (size_t)j * Ds, *u = Us + (size_t)j * Ds, gu = 0;
            for (int k = 0; k < Ds; k++) gu += g[k] * u[k];
            for (int k = 0; k < Ds; k++) {
                float dv = (float)(w * (g[k] - gu * u[k]) / ns[j]);   /* ∂L/∂(e_j − e_i) */
                dS[(size_t)j * Ds + k] += dv;
                dS[(size_t)i * Ds + k] -= dv;
            }
        }
    }
    free(Us);
    return loss / n3;
}

void tl_l2_normalize_rows(float *y, const float *x, int N, int D) {
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < D; k++) s += (double)x[(size_t)i * D + k] * x[(size_t)i * D + k];
        double inv = 1 / fmax(sqrt(s), 1e-12);
        for (int k = 0; k < D; k++) y[(size_t)i * D + k] = (float)(x[(size_t)i * D + k] * inv);
    }
}

void tl_l2_normalize_rows_backward(float *dx, const float *dy, const float *x, int N, int D) {
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * D, *gi = dy + (size_t)i * D;
        double s = 0, gy = 0;
        for (int k = 0; k < D; k++) s += (double)xi[k] * xi[k];
        double n = sqrt(s);
        if (n < 1e-12) {  /* below F.normalize's eps the norm is a constant: y = x/eps */
            for (int k = 0; k < D; k++) dx[(size_t)i * D + k] += (float)(gi[k] / 1e-12);
            continue;
        }
        for (int k = 0; k < D; k++) gy += gi[k] * xi[k] / n;
        for (int k = 0; k < D; k++) dx[(size_t)i * D + k] += (float)((gi[k] - gy * xi[k] / n) / n);
    }
}

/* ---- the hook: L = task·(task loss) + distance·L_D + angle·L_A (+ kd·L_KD at temperature T), on the
 * backbone features, optionally L2-normalised first (the RKD classification recipe) ---- */
typedef struct {
    tl_teacher teacher;
    double wd, wa, task, kd, T;
    int normalize;
    float *sn, *tn, *dsn;   /* normalised student/teacher features and their gradient */
} rkd_hook;

static int rkd_create(tl_hook *k, tl_spec *spec, const tl_hook_env *env, tl_error *err) {
    rkd_hook *h = calloc(1, sizeof *h);
    if (!h) return tl_fail(err, "out of memory");
    k->priv = h;
    if (tl_spec_double(spec, "distance", 1, &h->wd, err) || tl_spec_double(spec, "angle", 2, &h->wa, err) ||
        tl_spec_double(spec, "task", 1, &h->task, err) || tl_spec_double(spec, "kd", 0, &h->kd, err) ||
        tl_spec_double(spec, "T", 4, &h->T, err) || tl_spec_bool(spec, "normalize", 0, &h->normalize, err))
        return -1;
    if (h->wd < 0 || h->wa < 0 || h->task < 0 || h->kd < 0)
        return tl_spec_fail(err, spec, "distance, angle, task and kd must be >= 0");
    if (h->T <= 0) return tl_spec_fail(err, spec, "T=%g must be > 0", h->T);
    if (tl_teacher_for_hook(&h->teacher, spec, env, h->kd > 0, err)) return -1;
    int N = env->model->N, D = env->model->cfg.feat_dim, Dt = h->teacher.model.cfg.feat_dim;
    if (h->normalize) {
        h->sn = malloc((size_t)N * D * sizeof *h->sn);
        h->dsn = malloc((size_t)N * D * sizeof *h->dsn);
        h->tn = malloc((size_t)N * Dt * sizeof *h->tn);
        if (!h->sn || !h->dsn || !h->tn) return tl_fail(err, "out of memory");
    }
    return 0;
}

static double rkd_loss(tl_hook *k, tl_model *m, const int *y, double task, float *dfeat) {
    (void)y;
    rkd_hook *h = k->priv;
    tl_teacher_forward(&h->teacher, tl_model_input(m));
    tl_hook_scale_task(m, dfeat, h->task);
    int N = m->N, D = m->cfg.feat_dim, Dt = h->teacher.model.cfg.feat_dim;
    const float *S = tl_model_features(m), *T = tl_model_features(&h->teacher.model);
    float *dS = dfeat;
    if (h->normalize) {
        tl_l2_normalize_rows(h->sn, S, N, D);
        tl_l2_normalize_rows(h->tn, T, N, Dt);
        memset(h->dsn, 0, (size_t)N * D * sizeof *h->dsn);
        S = h->sn;
        T = h->tn;
        dS = h->dsn;
    }
    double total = h->task * task;
    if (h->wd > 0) total += h->wd * tl_rkd_distance(dS, S, T, N, D, Dt, h->wd);
    if (h->wa > 0) total += h->wa * tl_rkd_angle(dS, S, T, N, D, Dt, h->wa);
    if (h->normalize) tl_l2_normalize_rows_backward(dfeat, h->dsn, tl_model_features(m), N, D);
    if (h->kd > 0)
        total += h->kd * tl_kd_loss(m->dlogits, m->logits, h->teacher.model.logits, N, m->cfg.num_classes, h->T, h->kd);
    return total;
}

static void rkd_destroy(tl_hook *k) {
    rkd_hook *h = k->priv;
    if (h) {
        tl_teacher_close(&h->teacher);
        free(h->sn);
        free(h->tn);
        free(h->dsn);
    }
    free(h);
}

const tl_hook_ops tl_hook_rkd = {.name = "rkd", .option = "--distill", .create = rkd_create, .loss = rkd_loss,
                                 .destroy = rkd_destroy};
