#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "eval/metrics.h"

int tl_metrics_init(tl_metrics *m, int C, tl_error *err) {
    memset(m, 0, sizeof *m);
    if (C < 1 || C > TL_METRICS_MAX_CLASSES)
        return tl_fail(err, "metrics: class count %d outside 1..%d", C, TL_METRICS_MAX_CLASSES);
    size_t c = (size_t)C;
    /* One block: int64 arrays first (8-byte aligned), then doubles, then ints. */
    size_t bytes = (c * c + 3 * c) * sizeof(int64_t) + 3 * c * sizeof(double) + 3 * c * sizeof(int);
    char *p = calloc(1, bytes);
    if (!p) return tl_fail(err, "metrics: out of memory for %d classes", C);
    m->block = p;
    m->C = C;
    m->confusion = (int64_t *)p;        p += c * c * sizeof(int64_t);
    m->train_count = (int64_t *)p;      p += c * sizeof(int64_t);
    m->test_count = (int64_t *)p;       p += c * sizeof(int64_t);
    m->pred_count = (int64_t *)p;       p += c * sizeof(int64_t);
    m->precision = (double *)p;         p += c * sizeof(double);
    m->recall = (double *)p;            p += c * sizeof(double);
    m->f1 = (double *)p;                p += c * sizeof(double);
    m->shot = (int *)p;                 p += c * sizeof(int);
    m->part = (int *)p;                 p += c * sizeof(int);
    m->order = (int *)p;
    m->accuracy = m->balanced_accuracy = m->macro_f1 = m->micro_f1 = NAN;
    m->many = m->medium = m->few = m->head = m->mid = m->tail = m->ece = NAN;
    return 0;
}

void tl_metrics_free(tl_metrics *m) {
    free(m->block);
    memset(m, 0, sizeof *m);
}

void tl_class_groups(int *shot, int *part, int *order, const int64_t *train_count, int C) {
    int third = C / 3;
    for (int c = 0; c < C; c++) {
        int64_t n = train_count[c];
        shot[c] = n > 100 ? TL_SHOT_MANY : n >= 20 ? TL_SHOT_MEDIUM : TL_SHOT_FEW;
        /* rank in the order (count descending, label ascending); O(C^2) but allocation-free */
        int rank = 0;
        for (int d = 0; d < C; d++)
            rank += train_count[d] > n || (train_count[d] == n && d < c);
        order[rank] = c;
        part[c] = rank < third ? TL_PART_HEAD : rank >= C - third ? TL_PART_TAIL : TL_PART_MID;
    }
}

double tl_balanced_accuracy(const int64_t *hit, size_t stride, const int64_t *count, int C) {
    double sum = 0;
    int present = 0;
    for (int c = 0; c < C; c++)
        if (count[c] > 0) { sum += (double)hit[(size_t)c * stride] / (double)count[c]; present++; }
    return present ? sum / present : NAN;
}

/* Unweighted mean of the recall of classes with group[c] == g that are present in the test set. */
static double group_mean(const tl_metrics *m, const int *group, int g) {
    double sum = 0;
    int k = 0;
    for (int c = 0; c < m->C; c++)
        if (group[c] == g && m->test_count[c] > 0) { sum += m->recall[c]; k++; }
    return k ? sum / k : NAN;
}

int tl_metrics_from_confusion(tl_metrics *m, tl_error *err) {
    int C = m->C;
    int64_t total = 0, correct = 0;
    for (int c = 0; c < C; c++) {
        if (m->train_count[c] < 0) return tl_fail(err, "metrics: negative training count for class %d", c);
        m->test_count[c] = m->pred_count[c] = 0;
    }
    for (int t = 0; t < C; t++)
        for (int p = 0; p < C; p++) {
            int64_t v = m->confusion[(size_t)t * C + p];
            if (v < 0) return tl_fail(err, "metrics: negative confusion count at [%d][%d]", t, p);
            m->test_count[t] += v;
            m->pred_count[p] += v;
            total += v;
        }
    if (total == 0) return tl_fail(err, "metrics: no test samples");
    for (int c = 0; c < C; c++) correct += m->confusion[(size_t)c * C + c];
    m->n = total;
    m->accuracy = (double)correct / (double)total;
    m->micro_f1 = m->accuracy;   /* single-label: micro P = micro R = accuracy */

    double fsum = 0;
    int fk = 0;
    for (int c = 0; c < C; c++) {
        double tp = (double)m->confusion[(size_t)c * C + c];
        double P = m->pred_count[c] ? tp / (double)m->pred_count[c] : 0.0;
        double R = m->test_count[c] ? tp / (double)m->test_count[c] : 0.0;
        m->precision[c] = P;
        m->recall[c] = m->test_count[c] ? R : NAN;
        if (m->test_count[c] || m->pred_count[c]) {
            m->f1[c] = P + R > 0 ? 2 * P * R / (P + R) : 0.0;
            fsum += m->f1[c]; fk++;
        } else {
            m->f1[c] = NAN;
        }
    }
    m->balanced_accuracy = tl_balanced_accuracy(m->confusion, (size_t)C + 1, m->test_count, C);
    m->macro_f1 = fsum / fk;

    tl_class_groups(m->shot, m->part, m->order, m->train_count, C);
    m->many = group_mean(m, m->shot, TL_SHOT_MANY);
    m->medium = group_mean(m, m->shot, TL_SHOT_MEDIUM);
    m->few = group_mean(m, m->shot, TL_SHOT_FEW);
    m->head = group_mean(m, m->part, TL_PART_HEAD);
    m->mid = group_mean(m, m->part, TL_PART_MID);
    m->tail = group_mean(m, m->part, TL_PART_TAIL);
    return 0;
}

/* Bin b of (b/15, (b+1)/15] holding conf, decided by the same comparisons as the reference
 * (conf > lower && conf <= upper) so values on a boundary land where the reference puts them. */
static int ece_bin(double conf) {
    int b = (int)ceil(conf * TL_ECE_BINS) - 1;
    if (b < 0) b = 0;
    if (b > TL_ECE_BINS - 1) b = TL_ECE_BINS - 1;
    while (b > 0 && conf <= (double)b / TL_ECE_BINS) b--;
    while (b < TL_ECE_BINS - 1 && conf > (double)(b + 1) / TL_ECE_BINS) b++;
    return b;
}

double tl_ece(const int *labels, const int *pred, const float *prob, int64_t n, int C) {
    int64_t count[TL_ECE_BINS] = {0};
    double ok[TL_ECE_BINS] = {0}, conf[TL_ECE_BINS] = {0};
    for (int64_t i = 0; i < n; i++) {
        const float *q = prob + (size_t)i * C;
        double mx = q[0];
        for (int j = 1; j < C; j++) if (q[j] > mx) mx = q[j];
        int b = ece_bin(mx);
        count[b]++;
        ok[b] += pred[i] == labels[i];
        conf[b] += mx;
    }
    double e = 0;
    for (int b = 0; b < TL_ECE_BINS; b++)
        if (count[b]) e += (double)count[b] / (double)n * fabs(ok[b] / (double)count[b] - conf[b] / (double)count[b]);
    return e;
}

int tl_metrics_compute(tl_metrics *m, const int *labels, const int *pred, const float *prob,
                       const int64_t *train_count, int64_t n, tl_error *err) {
    int C = m->C;
    if (n < 1) return tl_fail(err, "metrics: no test samples");
    memset(m->confusion, 0, (size_t)C * C * sizeof *m->confusion);
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= C)
            return tl_fail(err, "metrics: label %d of sample %lld outside 0..%d", labels[i], (long long)i, C - 1);
        if (pred[i] < 0 || pred[i] >= C)
            return tl_fail(err, "metrics: prediction %d of sample %lld outside 0..%d", pred[i], (long long)i, C - 1);
        m->confusion[(size_t)labels[i] * C + pred[i]]++;
    }
    memcpy(m->train_count, train_count, (size_t)C * sizeof *train_count);
    if (tl_metrics_from_confusion(m, err)) return -1;
    m->ece = prob ? tl_ece(labels, pred, prob, n, C) : NAN;
    return 0;
}
