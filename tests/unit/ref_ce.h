/* The reference cross-entropy of the head tests and dumps: the mean softmax CE of float logits
 * computed in double, with dlogits = (softmax − onehot)/N, independent of src/losses. */
#ifndef TL_TESTS_REF_CE_H
#define TL_TESTS_REF_CE_H
#include <math.h>
#include <stddef.h>

static inline double ref_ce(float *dlogits, const float *z, const int *y, int N, int C) {
    double L = 0;
    for (int i = 0; i < N; i++) {
        const float *zi = z + (size_t)i * C;
        double mx = zi[0], s = 0;
        for (int j = 1; j < C; j++) mx = fmax(mx, zi[j]);
        for (int j = 0; j < C; j++) s += exp(zi[j] - mx);
        double lse = mx + log(s);
        L += lse - zi[y[i]];
        for (int j = 0; j < C; j++) dlogits[(size_t)i * C + j] = (float)((exp(zi[j] - lse) - (j == y[i])) / N);
    }
    return L / N;
}

#endif
