#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "heads/normed.h"

int tl_normed_init(tl_normed *n, int N, int C, int D) {
    memset(n, 0, sizeof *n);
    n->N = N; n->C = C; n->D = D;
    size_t nd = (size_t)N * D, cd = (size_t)C * D;
    n->xhat = malloc(nd * sizeof(double));
    n->dxhat = malloc(nd * sizeof(double));
    n->xnorm = malloc((size_t)N * sizeof(double));
    n->gx = malloc((size_t)N * sizeof(double));
    n->what = malloc(cd * sizeof(double));
    n->dwhat = malloc(cd * sizeof(double));
    n->wnorm = malloc((size_t)C * sizeof(double));
    n->gw = malloc((size_t)C * sizeof(double));
    n->cos = malloc((size_t)N * C * sizeof(double));
    n->g = malloc((size_t)N * C * sizeof(double));
    if (!n->xhat || !n->dxhat || !n->xnorm || !n->gx || !n->what || !n->dwhat || !n->wnorm || !n->gw || !n->cos || !n->g)
        return -1;
    return 0;
}

void tl_normed_free(tl_normed *n) {
    free(n->xhat); free(n->dxhat); free(n->xnorm); free(n->gx);
    free(n->what); free(n->dwhat); free(n->wnorm); free(n->gw);
    free(n->cos); free(n->g);
    memset(n, 0, sizeof *n);
}

/* out = v/max(‖v‖, ε) row-wise (F.normalize); norm[r] = max(‖v_r‖, ε). */
static void normalize_rows(double *out, double *norm, const float *v, int rows, int D) {
    for (int r = 0; r < rows; r++) {
        const float *x = v + (size_t)r * D;
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)x[j] * x[j];
        double nr = fmax(sqrt(ss), 1e-12);
        norm[r] = nr;
        for (int j = 0; j < D; j++) out[(size_t)r * D + j] = x[j] / nr;
    }
}

void tl_normed_weights(tl_normed *n, const float *w) { normalize_rows(n->what, n->wnorm, w, n->C, n->D); }

void tl_normed_forward(tl_normed *n, const float *feat, const float *w) {
    normalize_rows(n->xhat, n->xnorm, feat, n->N, n->D);
    normalize_rows(n->what, n->wnorm, w, n->C, n->D);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n->N, n->C, n->D, 1.0, n->xhat, n->D, n->what, n->D, 0.0,
                n->cos, n->C);
}

/* dv += (g − (g·v̂)v̂)/‖v‖ + radial·v̂ row-wise (radial may be NULL). */
static void normalize_vjp(float *dv, const double *g, const double *vhat, const double *norm, const double *radial,
                          int rows, int D) {
    for (int r = 0; r < rows; r++) {
        const double *gr = g + (size_t)r * D, *vr = vhat + (size_t)r * D;
        double dot = 0;
        for (int j = 0; j < D; j++) dot += gr[j] * vr[j];
        double rad = radial ? radial[r] : 0;
        for (int j = 0; j < D; j++) dv[(size_t)r * D + j] += (float)((gr[j] - dot * vr[j]) / norm[r] + rad * vr[j]);
    }
}

void tl_normed_backward(tl_normed *n, float *dfeat, float *dw, int radial) {
    int N = n->N, C = n->C, D = n->D;
    if (dfeat) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, C, 1.0, n->g, C, n->what, D, 0.0, n->dxhat, D);
        normalize_vjp(dfeat, n->dxhat, n->xhat, n->xnorm, radial ? n->gx : NULL, N, D);
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, D, N, 1.0, n->g, C, n->xhat, D, 0.0, n->dwhat, D);
    if (n->dwhat_extra)
        for (size_t k = 0; k < (size_t)C * D; k++) n->dwhat[k] += n->dwhat_extra[k];
    normalize_vjp(dw, n->dwhat, n->what, n->wnorm, radial ? n->gw : NULL, C, D);
}

void tl_normed_scaled(float *logits, const tl_normed *n, double s) {
    for (size_t k = 0; k < (size_t)n->N * n->C; k++) logits[k] = (float)(s * n->cos[k]);
}
