/* Per-channel normalisation statistics, as torchvision.transforms.Normalize(mean, std) is fed:
 * mean and (population) std of each channel over every pixel of the training view. */
#include <math.h>
#include <stddef.h>
#include "data/dataset.h"

void tl_norm_stats(float *mean, float *std, const tl_dataset *d) {
    int C = d->c;
    size_t hw = (size_t)d->h * d->w, row = (size_t)C * hw;
    double cnt = (double)d->n * (double)hw;
    for (int c = 0; c < C; c++) {
        /* Two passes in double, fixed order: exact enough for 10^8 values and reproducible. */
        double s = 0.0;
        for (int i = 0; i < d->n; i++) {
            const float *p = d->x + i * row + c * hw;
            for (size_t j = 0; j < hw; j++) s += p[j];
        }
        double m = cnt > 0 ? s / cnt : 0.0, q = 0.0;
        for (int i = 0; i < d->n; i++) {
            const float *p = d->x + i * row + c * hw;
            for (size_t j = 0; j < hw; j++) { double e = p[j] - m; q += e * e; }
        }
        double sd = cnt > 0 ? sqrt(q / cnt) : 0.0;
        mean[c] = (float)m;
        std[c] = sd > 0 ? (float)sd : 1.0f;
    }
}
