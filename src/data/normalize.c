/* Per-channel normalisation statistics, as torchvision.transforms.Normalize(mean, std) is fed:
 * mean and (population) std of each channel over every pixel of the training view. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

#define MAX_CH 3

static void finish(float *mean, float *std, double m, double var, int c) {
    double sd = var > 0 ? sqrt(var) : 0.0;
    mean[c] = (float)m;
    std[c] = sd > 0 ? (float)sd : 1.0f;
}

/* Feature rows: two passes in double, fixed order: exact enough for 10^8 values and reproducible. */
static void rows_stats(float *mean, float *std, const tl_dataset *d) {
    int C = d->c;
    size_t hw = (size_t)d->h * d->w, row = (size_t)C * hw;
    double cnt = (double)d->n * (double)hw;
    for (int c = 0; c < C; c++) {
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
        finish(mean, std, m, cnt > 0 ? q / cnt : 0.0, c);
    }
}

/* Images: integer sums of the pixels and their squares, exact in any order; one rounding at the end. */
static int image_stats(float *mean, float *std, const tl_dataset *d, tl_error *err) {
    int C = d->c, bad = d->n;
    if (C > MAX_CH) return tl_fail(err, "images with %d channels", C);
    unsigned long long s[MAX_CH] = {0}, q[MAX_CH] = {0}, cnt = 0;
    tl_error first = {{0}};
#pragma omp parallel
    {
        tl_image im = {0}, tmp = {0};
        unsigned long long ls[MAX_CH] = {0}, lq[MAX_CH] = {0}, lc = 0;
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < d->n; i++) {
            tl_error e = {{0}};
            if (tl_images_get(d->images, d->file[i], &im, &tmp, &e)) {
#pragma omp critical(tl_norm_error)
                if (i < bad) { bad = i; first = e; }
                continue;
            }
            size_t np = (size_t)im.h * im.w;
            for (size_t j = 0; j < np; j++)
                for (int c = 0; c < C; c++) {
                    unsigned v = im.pix[j * C + c];
                    ls[c] += v;
                    lq[c] += v * v;
                }
            lc += np;
        }
#pragma omp critical(tl_norm_sum)
        {
            for (int c = 0; c < C; c++) { s[c] += ls[c]; q[c] += lq[c]; }
            cnt += lc;
        }
        tl_image_free(&im);
        tl_image_free(&tmp);
    }
    if (bad < d->n) return tl_fail(err, "%s", first.msg);
    for (int c = 0; c < C; c++) {
        /* var = (n Σv² − (Σv)²) / n², the numerator exact in 128 bits */
        unsigned __int128 num = (unsigned __int128)q[c] * cnt - (unsigned __int128)s[c] * s[c];
        double m = cnt ? (double)s[c] / (double)cnt : 0.0;
        double var = cnt ? (double)num / ((double)cnt * (double)cnt) : 0.0;
        finish(mean, std, m, var, c);
    }
    return 0;
}

int tl_norm_stats(float *mean, float *std, const tl_dataset *d, tl_error *err) {
    if (d->images) return image_stats(mean, std, d, err);
    rows_stats(mean, std, d);
    return 0;
}

void tl_norm_imagenet(float *mean, float *std) {
    static const double m[3] = {0.485, 0.456, 0.406}, s[3] = {0.229, 0.224, 0.225};
    for (int c = 0; c < 3; c++) { mean[c] = (float)(m[c] * 255); std[c] = (float)(s[c] * 255); }
}
