#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "eval/auc.h"

typedef struct { float s; unsigned char pos; } scored;

static int by_score_asc(const void *a, const void *b) {
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* Copies (score, positive) pairs sorted by ascending score; counts positives. NULL on failure. */
static scored *sorted_pairs(int64_t *npos, const float *score, const unsigned char *positive, int64_t n,
                            const char *what, tl_error *err) {
    if (n < 1) { tl_fail(err, "%s: no samples", what); return NULL; }
    scored *v = malloc((size_t)n * sizeof *v);
    if (!v) { tl_fail(err, "%s: out of memory for %lld samples", what, (long long)n); return NULL; }
    *npos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(score[i])) { free(v); tl_fail(err, "%s: score of sample %lld is NaN", what, (long long)i); return NULL; }
        v[i].s = score[i];
        v[i].pos = positive[i] != 0;
        *npos += v[i].pos;
    }
    qsort(v, (size_t)n, sizeof *v, by_score_asc);
    return v;
}

int tl_auroc(double *out, const float *score, const unsigned char *positive, int64_t n, tl_error *err) {
    int64_t na;
    scored *v = sorted_pairs(&na, score, positive, n, "AUROC", err);
    if (!v) return -1;
    int64_t nb = n - na;
    if (na == 0 || nb == 0) {
        free(v);
        return tl_fail(err, "AUROC: needs positive and negative samples (have %lld and %lld)", (long long)na, (long long)nb);
    }
    /* Tied scores [i, j) share the average of the 1-based ranks i+1 .. j. */
    double ranks = 0;
    for (int64_t i = 0, j; i < n; i = j) {
        int64_t k = 0;
        for (j = i; j < n && v[j].s == v[i].s; j++) k += v[j].pos;
        ranks += (double)k * ((double)(i + 1) + (double)j) * 0.5;
    }
    free(v);
    *out = (ranks - (double)na * ((double)na + 1) * 0.5) / ((double)na * (double)nb);
    return 0;
}

int tl_aupr(double *out, const float *score, const unsigned char *positive, int64_t n, tl_error *err) {
    int64_t npos;
    scored *v = sorted_pairs(&npos, score, positive, n, "AUPR", err);
    if (!v) return -1;
    if (npos == 0) { free(v); return tl_fail(err, "AUPR: no positive samples"); }
    /* Walk from the highest score down; each tie group is one threshold. */
    double ap = 0;
    int64_t tp = 0, seen = 0;
    for (int64_t j = n, i; j > 0; j = i) {
        int64_t k = 0;
        for (i = j; i > 0 && v[i - 1].s == v[j - 1].s; i--) k += v[i - 1].pos;
        tp += k;
        seen += j - i;
        ap += (double)k / (double)npos * ((double)tp / (double)seen);
    }
    free(v);
    *out = ap;
    return 0;
}
