/* Writes fixed random evaluation inputs and tailor's metrics of them, for test_metrics.py.
 * Usage: metrics_dump OUTDIR. For each case k: OUTDIR/case<k>.safetensors holds labels, pred, prob,
 * train_count, score and positive (metadata: auroc, aupr_in, aupr_out as %.17g), and
 * OUTDIR/case<k>.json is the report.json of the metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "core/rng.h"
#include "core/safetensors.h"
#include "eval/auc.h"
#include "eval/metrics.h"
#include "eval/report.h"

typedef struct {
    int C, n;
    double imbalance;       /* train counts n_max·(1/IF)^(c/(C−1)) */
    int n_max;
    int absent;             /* a class missing from the test labels, or -1 */
    int never;              /* a class never predicted, or -1 */
    int levels;             /* scores are quantised to this many levels (ties); 0 = none */
} dump_case;

static int dump(const char *dir, int k, const dump_case *dc, tl_error *err) {
    int C = dc->C, n = dc->n;
    int32_t *y = malloc((size_t)n * sizeof *y), *p = malloc((size_t)n * sizeof *p), *pos = malloc((size_t)n * sizeof *pos);
    int32_t *train32 = malloc((size_t)C * sizeof *train32);
    int *yi = malloc((size_t)n * sizeof *yi), *pi = malloc((size_t)n * sizeof *pi);
    int64_t *train = malloc((size_t)C * sizeof *train);
    float *prob = malloc((size_t)n * C * sizeof *prob), *score = malloc((size_t)n * sizeof *score);
    unsigned char *posb = malloc((size_t)n);
    int rc = -1;
    if (!y || !p || !pos || !train32 || !yi || !pi || !train || !prob || !score || !posb) goto done;
    tl_rng rng;
    tl_rng_seed(&rng, 1000 + (uint64_t)k, TL_RNG_DATA);
    for (int c = 0; c < C; c++) {
        train[c] = (int64_t)floor(dc->n_max * pow(1.0 / dc->imbalance, C > 1 ? c / (C - 1.0) : 0));
        train32[c] = (int32_t)train[c];
    }
    for (int i = 0; i < n; i++) {
        int label;
        do label = (int)tl_rng_below(&rng, (uint64_t)C); while (label == dc->absent);
        /* logits: noise, a bonus for the true class that grows with its training count */
        double z[64], mx = -INFINITY, s = 0;
        for (int j = 0; j < C; j++) {
            z[j] = 1.5 * tl_rng_normal(&rng) + (j == label) * 0.6 * log10(1.0 + (double)train[j]);
            if (j == dc->never) z[j] = -30;
            mx = fmax(mx, z[j]);
        }
        for (int j = 0; j < C; j++) s += exp(z[j] - mx);
        int arg = 0;
        for (int j = 0; j < C; j++) {
            prob[(size_t)i * C + j] = (float)(exp(z[j] - mx) / s);
            if (prob[(size_t)i * C + j] > prob[(size_t)i * C + arg]) arg = j;
        }
        y[i] = yi[i] = label;
        p[i] = pi[i] = arg;
        /* open-set style: the first half of the classes are "known"; score = max probability */
        posb[i] = label < C / 2;
        pos[i] = posb[i];
        float sc = prob[(size_t)i * C + arg];
        score[i] = dc->levels ? floorf(sc * dc->levels) / dc->levels : sc;
    }

    tl_metrics m;
    if (tl_metrics_init(&m, C, err)) goto done;
    double auroc, aupr_in, aupr_out;
    int bad = tl_metrics_compute(&m, yi, pi, prob, train, n, err) || tl_auroc(&auroc, score, posb, n, err) ||
              tl_aupr(&aupr_in, score, posb, n, err);
    for (int i = 0; i < n && !bad; i++) { score[i] = -score[i]; posb[i] = !posb[i]; }
    bad = bad || tl_aupr(&aupr_out, score, posb, n, err);
    for (int i = 0; i < n; i++) score[i] = -score[i];   /* store the known-ness score itself */
    char path[4096], v[3][40];
    if (!bad) {
        tl_report_info info;
        tl_report_info_init(&info);
        info.seed = 1000 + (uint64_t)k;
        snprintf(path, sizeof path, "%s/case%d.json", dir, k);
        bad = tl_report_write_json(path, &m, NULL, &info, err);
    }
    tl_metrics_free(&m);
    if (bad) goto done;
    snprintf(v[0], sizeof v[0], "%.17g", auroc);
    snprintf(v[1], sizeof v[1], "%.17g", aupr_in);
    snprintf(v[2], sizeof v[2], "%.17g", aupr_out);
    const char *meta[6] = {"auroc", v[0], "aupr_in", v[1], "aupr_out", v[2]};
    const tl_st_tensor t[6] = {
        {"labels", "I32", 1, {n}, y}, {"pred", "I32", 1, {n}, p}, {"prob", "F32", 2, {n, C}, prob},
        {"train_count", "I32", 1, {C}, train32}, {"score", "F32", 1, {n}, score}, {"positive", "I32", 1, {n}, pos}};
    snprintf(path, sizeof path, "%s/case%d.safetensors", dir, k);
    rc = tl_st_write(path, t, 6, meta, 3, err);
done:
    if (rc && err->msg[0] == 0) snprintf(err->msg, sizeof err->msg, "out of memory");
    free(y); free(p); free(pos); free(train32); free(yi); free(pi); free(train); free(prob); free(score); free(posb);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: metrics_dump OUTDIR\n"); return 2; }
    const dump_case cases[] = {
        {10, 3000, 100, 5000, -1, -1, 0},    /* CIFAR-10-LT-like: many and medium, no few */
        {20, 2500, 200, 1000, 3, 17, 16},    /* all three shot groups, an absent and a never-predicted class, ties */
        {7, 400, 1, 50, -1, -1, 8},          /* balanced: every class medium, heavy ties */
        {2, 300, 10, 500, -1, -1, 4},        /* C = 2: head and tail empty */
        {50, 5000, 100, 600, 49, 0, 32},
    };
    for (int k = 0; k < (int)(sizeof cases / sizeof *cases); k++) {
        tl_error err = {{0}};
        if (dump(argv[1], k, &cases[k], &err)) { fprintf(stderr, "metrics_dump: case %d: %s\n", k, err.msg); return 1; }
    }
    return 0;
}
