#include <stddef.h>
#include <math.h>
#include "losses/softmax.h"

double tl_logsumexp(const float *z, int C) {
    float m = z[0];
    for (int j = 1; j < C; j++) if (z[j] > m) m = z[j];
    double s = 0;
    for (int j = 0; j < C; j++) s += exp((double)z[j] - m);
    return m + log(s);
}

void tl_softmax(float *probs, const float *logits, int N, int C) {
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        double lse = tl_logsumexp(z, C);
        for (int j = 0; j < C; j++) probs[(size_t)i * C + j] = (float)exp((double)z[j] - lse);
    }
}

double tl_softmax_ce(float *dlogits, const float *logits, const int *y, int N, int C) {
    double loss = 0;
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * C;
        double lse = tl_logsumexp(z, C);
        loss += lse - z[y[i]];
        if (!dlogits) continue;
        float *d = dlogits + (size_t)i * C;
        for (int j = 0; j < C; j++) d[j] = (float)((exp((double)z[j] - lse) - (j == y[i])) / N);
    }
    return loss / N;
}

double tl_softmax_ce_row(float *d, const float *z, const double *bias, double ybias, int y, int C, double gscale) {
    double m = -INFINITY;
    for (int j = 0; j < C; j++) {
        double u = (double)z[j] + (bias ? bias[j] : 0) + (j == y ? ybias : 0);
        if (u > m) m = u;
    }
    double s = 0;
    for (int j = 0; j < C; j++) s += exp((double)z[j] + (bias ? bias[j] : 0) + (j == y ? ybias : 0) - m);
    double lse = m + log(s);
    if (d)
        for (int j = 0; j < C; j++) {
            double u = (double)z[j] + (bias ? bias[j] : 0) + (j == y ? ybias : 0);
            d[j] = (float)(gscale * (exp(u - lse) - (j == y)));
        }
    return lse - ((double)z[y] + (bias ? bias[y] : 0) + ybias);
}

int tl_argmax(const float *z, const double *shift, int C) {
    int best = 0;
    if (!shift) {
        for (int j = 1; j < C; j++) if (z[j] > z[best]) best = j;
        return best;
    }
    for (int j = 1; j < C; j++) if ((double)z[j] - shift[j] > (double)z[best] - shift[best]) best = j;
    return best;
}
