/* Relational knowledge distillation (docs/methods.md §10.2: lenscloth/RKD's RkdDistance and RKdAngle)
 * and the --distill rkd hook. Both losses compare relations inside the batch, so student and
 * teacher features may have different dimensions. Computed in double. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/dist.h"
#include "core/error.h"
#include "train/hook.h"
#include "transfer/kd.h"
#include "transfer/teacher.h"

/* Huber / smooth-L1 with β = 1, branch-free: with c = clamp(r, −1, 1) = h'(r), h(r) = c·(r − c/2). */
static inline double huber_d(double r) { return r < -1 ? -1 : (r > 1 ? 1 : r); }
static inline double huber(double r) { double c = huber_d(r); return c * (r - 0.5 * c); }

/* G[N, N] = E Eᵀ in double (E [N, D] float). */
static void gram(double *G, double *Ed, const float *E, int N, int D) {
    for (size_t k = 0; k < (size_t)N * D; k++) Ed[k] = E[k];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, N, D, 1, Ed, D, 0, G, N);
    for (int a = 0; a < N; a++)
        for (int b = 0; b < a; b++) G[(size_t)a * N + b] = G[(size_t)b * N + a];
}

/* d[N, N] = pdist(E) from G = E Eᵀ: ‖e_i‖² + ‖e_j‖² − 2 e_i·e_j as torch's pdist computes it, squared
 * distances clamped at 1e-12, 0 on the diagonal; *clamped[i·N+j] marks pairs whose squared distance hit
 * the clamp. Returns the mean of the positive entries (P of them). */
static double pdist(double *d, unsigned char *clamped, const double *G, int N, long *P) {
    double sum = 0;
    *P = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            size_t p = (size_t)i * N + j;
            if (i == j) { d[p] = 0; clamped[p] = 1; continue; }
            double sq = G[(size_t)i * N + i] + G[(size_t)j * N + j] - 2 * G[p];
            clamped[p] = sq < 1e-12;
            d[p] = sqrt(sq < 1e-12 ? 1e-12 : sq);
            sum += d[p];
            (*P)++;
        }
    return *P ? sum / *P : 1;
}

/* The angle loss's layout is the larger: 5 N² + 2N + N·max(Ds, Dt) + N·Ds; the distance loss puts its
 * 2 N² clamp flags (bytes) in the last N² + 2N doubles of it. */
size_t tl_rkd_work_doubles(int N, int Ds, int Dt) {
    size_t nn = (size_t)N * N;
    int Dm = Ds > Dt ? Ds : Dt;
    return 5 * nn + 2 * (size_t)N + (size_t)N * Dm + (size_t)N * Ds;
}

double tl_rkd_distance(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w, double *work) {
    size_t nn = (size_t)N * N;
    int Dm = Ds > Dt ? Ds : Dt;
    double *G = work, *ds = G + nn, *dt = ds + nn, *M = dt + nn, *Ed = M + nn, *dE = Ed + (size_t)N * Dm;
    unsigned char *cs = (unsigned char *)(dE + (size_t)N * Ds), *ct = cs + nn;
    long Ps, Pt;
    gram(G, Ed, T, N, Dt);
    double mut = pdist(dt, ct, G, N, &Pt);
    gram(G, Ed, S, N, Ds);   /* Ed keeps S for the gradient */
    double mus = pdist(ds, cs, G, N, &Ps), loss = 0, gd = 0;
    for (size_t p = 0; p < nn; p++) {
        double r = ds[p] / mus - dt[p] / mut;
        loss += huber(r);
        gd += huber_d(r) / nn * ds[p];    /* Σ g_ij d_ij, for the μ term */
    }
    if (dS) {
        /* ∂L/∂d_kl = c_kl; ∂d_kl/∂e_k = (e_k − e_l)/d_kl, so with M = c/d + (c/d)ᵀ the gradient is the
         * Laplacian product (diag(M·1) − M)·S */
        for (int k = 0; k < N; k++)
            for (int l = 0; l < N; l++) {
                size_t p = (size_t)k * N + l;
                double g = huber_d(ds[p] / mus - dt[p] / mut) / nn;
                /* no gradient on the diagonal or through the clamp */
                M[p] = k == l || cs[p] ? 0 : w * (g / mus - gd / ((double)Ps * mus * mus)) / ds[p];
            }
        for (int k = 0; k < N; k++)
            for (int l = 0; l < k; l++) {
                double t = M[(size_t)k * N + l] + M[(size_t)l * N + k];
                M[(size_t)k * N + l] = M[(size_t)l * N + k] = -t;
            }
        for (int k = 0; k < N; k++) {
            double rs = 0;
            for (int l = 0; l < N; l++) rs -= l == k ? 0 : M[(size_t)k * N + l];
            M[(size_t)k * N + k] = rs;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Ds, N, 1, M, N, Ed, Ds, 0, dE, Ds);
        for (size_t q = 0; q < (size_t)N * Ds; q++) dS[q] += (float)dE[q];
    }
    return loss / nn;
}

/* The angles at vertex i from the Gram matrix: with v_j = e_j − e_i,
 *   A[j, k] = (v_j·v_k)/(n_j n_k),  v_j·v_k = G_jk − G_ij − G_ik + G_ii,  n_j = ‖v_j‖;
 * a row with n_j < 1e-12 (j = i, or a point on top of e_i) is a zero direction, as F.normalize gives
 * it: inv[j] = 1/n_j, or 0 for those rows, which zeroes their angles and gradients. */
static void angles(double *A, double *inv, const double *G, int i, int N) {
    const double *gi = G + (size_t)i * N, gii = gi[i];
    for (int j = 0; j < N; j++) {
        double sq = G[(size_t)j * N + j] - 2 * gi[j] + gii;
        inv[j] = j == i || sq < 1e-24 ? 0 : 1 / sqrt(sq);
    }
    for (int j = 0; j < N; j++) {
        const double *gj = G + (size_t)j * N;
        double *a = A + (size_t)j * N, cj = gii - gi[j], ij = inv[j];
        #pragma omp simd
        for (int k = 0; k < N; k++) a[k] = (gj[k] + cj - gi[k]) * ij * inv[k];
    }
}

/* O(N²) per vertex instead of O(N²·D): every angle comes from the Gram matrices, and the gradient goes
 * back through them, ∂L/∂S = (dG + dGᵀ) S with dG gathered over all vertices. */
double tl_rkd_angle(float *dS, const float *S, const float *T, int N, int Ds, int Dt, double w, double *work) {
    size_t nn = (size_t)N * N;
    int Dm = Ds > Dt ? Ds : Dt;
    double *Gs = work;
    double *Gt = Gs + nn, *As = Gt + nn, *At = As + nn, *dG = At + nn, *is = dG + nn, *it = is + N, *Ed = it + N,
           *dE = Ed + (size_t)N * Dm;
    gram(Gt, Ed, T, N, Dt);
    gram(Gs, Ed, S, N, Ds);   /* Ed keeps S for the last GEMM */
    memset(dG, 0, nn * sizeof *dG);
    double loss = 0, n3 = (double)N * N * N, wq = w / n3;
    for (int i = 0; i < N; i++) {
        angles(As, is, Gs, i, N);
        angles(At, it, Gt, i, N);
        double *gi = dG + (size_t)i * N, sum_all = 0;
        for (int j = 0; j < N; j++) {
            double *a = As + (size_t)j * N, *at = At + (size_t)j * N, *dgj = dG + (size_t)j * N;
            double lj = 0, row = 0, diag = 0, ij = is[j];
            #pragma omp simd reduction(+ : lj, row, diag)
            for (int k = 0; k < N; k++) {
                double r = a[k] - at[k], c = huber_d(r);
                lj += c * (r - 0.5 * c);
                double q = wq * c * ij;             /* ∂L/∂A_jk / n_j */
                double dd = q * is[k];              /* ∂L/∂(v_j·v_k) through the numerator */
                diag += q * a[k];
                dgj[k] += dd;
                row += dd;
            }
            loss += lj;
            /* through n_j in both A_jk and A_kj (H symmetric): ∂L/∂(v_j·v_j) −= Σ_k q_jk A_jk / n_j² */
            double dj = -diag * ij;
            dgj[j] += dj;
            row += dj;
            /* v_j·v_k = G_jk − G_ij − G_ik + G_ii: row j's total goes to −G_ij and −G_ji (by symmetry of
             * the k sum), and to +G_ii */
            gi[j] -= row;
            dgj[i] -= row;
            sum_all += row;
        }
        gi[i] += sum_all;
    }
    if (dS) {
        /* dS += (dG + dGᵀ) S */
        for (int a = 0; a < N; a++)
            for (int b = 0; b < a; b++) {
                double t = dG[(size_t)a * N + b] + dG[(size_t)b * N + a];
                dG[(size_t)a * N + b] = dG[(size_t)b * N + a] = t;
            }
        for (int a = 0; a < N; a++) dG[(size_t)a * N + a] *= 2;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Ds, N, 1, dG, N, Ed, Ds, 0, dE, Ds);
        for (size_t k = 0; k < (size_t)N * Ds; k++) dS[k] += (float)dE[k];
    }
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
 * backbone features, optionally L2-normalised first (the RKD classification recipe). Data-parallel
 * training (P processes, each with its slice of the global batch): the relations are the global
 * batch's, so every process gathers all features, computes the same relational losses, and keeps
 * the gradient of its own rows, times P (the trainer averages the processes' gradients) ---- */
typedef struct {
    tl_teacher teacher;
    double wd, wa, task, kd, T;
    int normalize;
    float *sn, *tn, *dsn;   /* normalised student/teacher features and their gradient */
    double *work;           /* tl_rkd_work_doubles of the global batch */
    float *gs, *gt, *dgs;   /* P > 1: the global batch's student/teacher features and its gradient */
} rkd_hook;

static int rkd_create(tl_hook *k, tl_spec *spec, const tl_hook_env *env, tl_error *err) {
    rkd_hook *h = calloc(1, sizeof *h);
    if (!h) return tl_fail(err, "out of memory");
    k->priv = h;
    if (tl_spec_double(spec, "distance", 1, &h->wd, err) || tl_spec_double(spec, "angle", 2, &h->wa, err) ||
        tl_spec_double(spec, "task", 1, &h->task, err) || tl_spec_double(spec, "kd", 0, &h->kd, err) ||
        tl_spec_double(spec, "T", 4, &h->T, err) || tl_spec_bool(spec, "normalize", 0, &h->normalize, err))
        return -1;
    if (tl_teacher_for_hook(&h->teacher, spec, env, h->kd > 0, err)) return -1;
    int N = env->model->N, D = env->model->cfg.feat_dim, Dt = h->teacher.model.cfg.feat_dim;
    int B = N * tl_model_slices(env->model);
    if (!(h->work = malloc(tl_rkd_work_doubles(B, D, Dt) * sizeof *h->work))) return tl_fail(err, "out of memory");
    if (B > N) {
        h->gs = malloc((size_t)B * D * sizeof *h->gs);
        h->dgs = malloc((size_t)B * D * sizeof *h->dgs);
        h->gt = malloc((size_t)B * Dt * sizeof *h->gt);
        if (!h->gs || !h->dgs || !h->gt) return tl_fail(err, "out of memory");
    }
    if (h->normalize) {
        h->sn = malloc((size_t)N * D * sizeof *h->sn);
        h->dsn = malloc((size_t)N * D * sizeof *h->dsn);
        h->tn = malloc((size_t)N * Dt * sizeof *h->tn);
        if (!h->sn || !h->dsn || !h->tn) return tl_fail(err, "out of memory");
    }
    return 0;
}

static int rkd_loss(tl_hook *k, tl_model *m, const int *y, double *loss, float *dfeat, tl_error *err) {
    (void)y;
    rkd_hook *h = k->priv;
    if (tl_teacher_forward(&h->teacher, tl_model_input(m), err)) return -1;
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
    int P = tl_model_slices(m), B = N * P;
    float *dS_mine = dS;
    if (P > 1) {
        if (tl_dist_allgather(S, (size_t)N * D * sizeof *S, h->gs, err) ||
            tl_dist_allgather(T, (size_t)N * Dt * sizeof *T, h->gt, err))
            return -1;
        memset(h->dgs, 0, (size_t)B * D * sizeof *h->dgs);
        S = h->gs;
        T = h->gt;
        dS = h->dgs;
    }
    double total = h->task * *loss;
    if (h->wd > 0) total += h->wd * tl_rkd_distance(dS, S, T, B, D, Dt, h->wd, h->work);
    if (h->wa > 0) total += h->wa * tl_rkd_angle(dS, S, T, B, D, Dt, h->wa, h->work);
    if (P > 1) {
        const float *g = h->dgs + (size_t)m->net.slice * N * D;
        for (size_t q = 0; q < (size_t)N * D; q++) dS_mine[q] += (float)P * g[q];
    }
    if (h->normalize) tl_l2_normalize_rows_backward(dfeat, h->dsn, tl_model_features(m), N, D);
    if (h->kd > 0)
        total += h->kd * tl_kd_loss(m->dlogits, m->logits, h->teacher.model.logits, N, m->cfg.num_classes, h->T, h->kd);
    *loss = total;
    return 0;
}

static void rkd_destroy(tl_hook *k) {
    rkd_hook *h = k->priv;
    if (h) {
        tl_teacher_close(&h->teacher);
        free(h->sn);
        free(h->tn);
        free(h->dsn);
        free(h->work);
        free(h->gs);
        free(h->gt);
        free(h->dgs);
    }
    free(h);
}

const tl_hook_ops tl_hook_rkd = {.name = "rkd", .option = "--distill", .create = rkd_create, .loss = rkd_loss,
                                 .destroy = rkd_destroy,
    .keys = "distance=1,angle=2,task=1,kd=0,T=4,normalize=0",
    .help = "relational distillation of the backbone features (distance- and angle-wise, Huber); kd=W adds W·KD on the logits"};
