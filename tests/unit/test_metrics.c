/* Evaluation: metrics on hand-computed cases, AUROC/AUPR with ties against brute force, the
 * report.json round trip, metrics.jsonl lines, and the PNG figures (valid files, nothing printed). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "core/json.h"
#include "core/rng.h"
#include "eval/auc.h"
#include "eval/epoch_log.h"
#include "eval/metrics.h"
#include "eval/plot.h"
#include "eval/report.h"

static char tmpdir[64];

/* Under LeakSanitizer: fontconfig and pango (behind PLplot's cairo driver) keep process-lifetime
 * font caches that they never free; they are not leaks of tailor's. Unused in normal builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libpango\n"; }

static void path_in_tmp(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmpdir, name); }

/* C = 4: class 2 is never predicted, class 3 is neither in the labels nor predicted.
 * Confusion rows: [3 1 0 0], [1 2 0 0], [1 1 0 0], [0 0 0 0]. */
static const int caseA_y[9] = {0, 0, 0, 0, 1, 1, 1, 2, 2};
static const int caseA_p[9] = {0, 0, 0, 1, 1, 1, 0, 0, 1};
static const int64_t caseA_train[4] = {500, 50, 5, 50};

static void test_confusion_and_headline(void) {
    tl_metrics m;
    tl_error err;
    CHECK(tl_metrics_init(&m, 4, &err) == 0);
    CHECK(tl_metrics_compute(&m, caseA_y, caseA_p, NULL, caseA_train, 9, &err) == 0);
    const int64_t want[16] = {3, 1, 0, 0, 1, 2, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++) CHECK_MSG(m.confusion[i] == want[i], "confusion[%d] = %lld", i, (long long)m.confusion[i]);
    CHECK(m.n == 9);
    CHECK(m.test_count[0] == 4 && m.test_count[1] == 3 && m.test_count[2] == 2 && m.test_count[3] == 0);
    CHECK(m.pred_count[0] == 5 && m.pred_count[1] == 4 && m.pred_count[2] == 0 && m.pred_count[3] == 0);
    CHECK_CLOSE(m.accuracy, 5.0 / 9, 1e-15);
    CHECK_CLOSE(m.micro_f1, 5.0 / 9, 1e-15);
    CHECK_CLOSE(m.recall[0], 0.75, 1e-15);
    CHECK_CLOSE(m.recall[1], 2.0 / 3, 1e-15);
    CHECK(m.recall[2] == 0);
    CHECK(isnan(m.recall[3]));
    CHECK_CLOSE(m.precision[0], 0.6, 1e-15);
    CHECK_CLOSE(m.precision[1], 0.5, 1e-15);
    CHECK(m.precision[2] == 0 && m.precision[3] == 0);
    CHECK_CLOSE(m.f1[0], 2.0 / 3, 1e-15);
    CHECK_CLOSE(m.f1[1], 4.0 / 7, 1e-15);
    CHECK(m.f1[2] == 0);
    CHECK(isnan(m.f1[3]));
    CHECK_CLOSE(m.balanced_accuracy, 17.0 / 36, 1e-15);   /* (3/4 + 2/3 + 0) / 3 */
    CHECK_CLOSE(m.macro_f1, 26.0 / 63, 1e-15);            /* (2/3 + 4/7 + 0) / 3: class 3 excluded */
    CHECK(isnan(m.ece));
    /* shots: 500 many, 50 medium, 5 few, 50 medium (absent from the test set) */
    CHECK(m.shot[0] == TL_SHOT_MANY && m.shot[1] == TL_SHOT_MEDIUM && m.shot[2] == TL_SHOT_FEW && m.shot[3] == TL_SHOT_MEDIUM);
    CHECK_CLOSE(m.many, 0.75, 1e-15);
    CHECK_CLOSE(m.medium, 2.0 / 3, 1e-15);
    CHECK(m.few == 0);
    /* thirds of 4 classes: 1 head, 2 mid, 1 tail; order 0 (500), 1 (50), 3 (50, tie after 1), 2 (5) */
    CHECK(m.order[0] == 0 && m.order[1] == 1 && m.order[2] == 3 && m.order[3] == 2);
    CHECK(m.part[0] == TL_PART_HEAD && m.part[1] == TL_PART_MID && m.part[3] == TL_PART_MID && m.part[2] == TL_PART_TAIL);
    CHECK_CLOSE(m.head, 0.75, 1e-15);
    CHECK_CLOSE(m.mid, 2.0 / 3, 1e-15);
    CHECK(m.tail == 0);
    tl_metrics_free(&m);
}

/* A class predicted but absent from the labels counts in macro F1 with F1 = 0 (sklearn). */
static void test_macro_f1_predicted_only(void) {
    const int y[4] = {0, 0, 1, 1}, p[4] = {0, 2, 1, 1};
    const int64_t train[3] = {10, 10, 10};
    tl_metrics m;
    tl_error err;
    CHECK(tl_metrics_init(&m, 3, &err) == 0 && tl_metrics_compute(&m, y, p, NULL, train, 4, &err) == 0);
    /* F1_0 = 2·1·0.5/1.5 = 2/3, F1_1 = 1, F1_2 = 0 (P = 0, R undefined -> 0) */
    CHECK(isnan(m.recall[2]));
    CHECK(m.f1[2] == 0);
    CHECK_CLOSE(m.macro_f1, (2.0 / 3 + 1 + 0) / 3, 1e-15);
    CHECK_CLOSE(m.balanced_accuracy, 0.75, 1e-15);
    tl_metrics_free(&m);
}

static void test_empty_groups_are_nan(void) {
    const int y[4] = {0, 1, 0, 1}, p[4] = {0, 1, 1, 1};
    const int64_t train[2] = {5000, 101};
    tl_metrics m;
    tl_error err;
    CHECK(tl_metrics_init(&m, 2, &err) == 0 && tl_metrics_compute(&m, y, p, NULL, train, 4, &err) == 0);
    CHECK_CLOSE(m.many, 0.75, 1e-15);
    CHECK(isnan(m.medium) && isnan(m.few));
    /* C = 2: floor(2/3) = 0, so head and tail are empty and mid holds both classes */
    CHECK(isnan(m.head) && isnan(m.tail));
    CHECK_CLOSE(m.mid, 0.75, 1e-15);
    CHECK(m.part[0] == TL_PART_MID && m.part[1] == TL_PART_MID);
    tl_metrics_free(&m);
}

static void test_head_mid_tail_ties(void) {
    int shot[7], part[7], order[7];
    const int64_t equal[6] = {10, 10, 10, 10, 10, 10};
    tl_class_groups(shot, part, order, equal, 6);
    for (int c = 0; c < 6; c++) {
        CHECK(order[c] == c);
        CHECK(part[c] == (c < 2 ? TL_PART_HEAD : c < 4 ? TL_PART_MID : TL_PART_TAIL));
        CHECK(shot[c] == TL_SHOT_FEW);
    }
    /* boundaries of the shot groups: 100 and 20 are medium, 101 many, 19 few */
    const int64_t t[7] = {19, 100, 20, 101, 100, 0, 101};
    tl_class_groups(shot, part, order, t, 7);
    CHECK(shot[0] == TL_SHOT_FEW && shot[1] == TL_SHOT_MEDIUM && shot[2] == TL_SHOT_MEDIUM &&
          shot[3] == TL_SHOT_MANY && shot[5] == TL_SHOT_FEW);
    /* order: 101 (3), 101 (6), 100 (1), 100 (4), 20 (2), 19 (0), 0 (5); thirds of 7: 2 / 3 / 2 */
    const int want_order[7] = {3, 6, 1, 4, 2, 0, 5};
    for (int r = 0; r < 7; r++) CHECK(order[r] == want_order[r]);
    CHECK(part[3] == TL_PART_HEAD && part[6] == TL_PART_HEAD);
    CHECK(part[1] == TL_PART_MID && part[4] == TL_PART_MID && part[2] == TL_PART_MID);
    CHECK(part[0] == TL_PART_TAIL && part[5] == TL_PART_TAIL);
}

static void test_ece_by_hand(void) {
    /* conf .75 (bin 11, ok), .75 (bin 11, wrong), .5 (bin 7, ok), 1.0 (bin 14, ok), .875 (bin 13, wrong):
     * ECE = 2/5·|1/2 − 3/4| + 1/5·|1 − 1/2| + 1/5·|1 − 1| + 1/5·|0 − 7/8| = 0.1 + 0.1 + 0 + 0.175 */
    const float prob[10] = {0.75f, 0.25f, 0.75f, 0.25f, 0.5f, 0.5f, 0, 1, 0.125f, 0.875f};
    const int y[5] = {0, 1, 0, 1, 0}, p[5] = {0, 0, 0, 1, 1};
    CHECK_CLOSE(tl_ece(y, p, prob, 5, 2), 0.375, 1e-15);
    const int64_t train[2] = {3, 2};
    tl_metrics m;
    tl_error err;
    CHECK(tl_metrics_init(&m, 2, &err) == 0 && tl_metrics_compute(&m, y, p, prob, train, 5, &err) == 0);
    CHECK_CLOSE(m.ece, 0.375, 1e-15);
    tl_metrics_free(&m);
    /* right-closed bins: a confidence just above 1/15·k goes to bin k, exactly 1 to the last bin */
    const float one[2] = {1.0f, 0}, low[2] = {0.0667f, 0.0f};
    const int z[1] = {0};
    CHECK_CLOSE(tl_ece(z, z, one, 1, 2), 0.0, 1e-15);
    CHECK_CLOSE(tl_ece(z, z, low, 1, 2), 1 - (double)0.0667f, 1e-15);
}

static void test_bad_input(void) {
    tl_metrics m;
    tl_error err;
    const int y[2] = {0, 3}, p[2] = {0, 1}, q[2] = {0, -1};
    const int64_t train[3] = {1, 1, 1}, neg[3] = {1, -1, 1};
    CHECK(tl_metrics_init(&m, 0, &err) == -1);
    CHECK(tl_metrics_init(&m, 3, &err) == 0);
    CHECK(tl_metrics_compute(&m, y, p, NULL, train, 2, &err) == -1 && strstr(err.msg, "label 3"));
    CHECK(tl_metrics_compute(&m, p, q, NULL, train, 2, &err) == -1 && strstr(err.msg, "prediction -1"));
    CHECK(tl_metrics_compute(&m, p, p, NULL, neg, 2, &err) == -1 && strstr(err.msg, "negative training count"));
    CHECK(tl_metrics_compute(&m, p, p, NULL, train, 0, &err) == -1);
    tl_metrics_free(&m);
}

/* ------------------------------------------------------------------ AUROC / AUPR */

static void test_auc_by_hand(void) {
    /* positives 0.9, 0.5, 0.5; negatives 0.5, 0.1. Pairs: 1 + 1 + ½ + 1 + ½ + 1 = 5 of 6.
     * AP: thresholds 0.9 (TP 1, FP 0), 0.5 (TP 3, FP 1), 0.1 (TP 3, FP 2): 1/3·1 + 2/3·3/4 = 5/6. */
    const float s[5] = {0.5f, 0.9f, 0.1f, 0.5f, 0.5f};
    const unsigned char pos[5] = {1, 1, 0, 0, 1};
    double v;
    tl_error err;
    CHECK(tl_auroc(&v, s, pos, 5, &err) == 0);
    CHECK_CLOSE(v, 5.0 / 6, 1e-15);
    CHECK(tl_aupr(&v, s, pos, 5, &err) == 0);
    CHECK_CLOSE(v, 5.0 / 6, 1e-15);
    /* AUPR-Out: the negatives as positives, scores negated: thresholds −0.1 (TP 1), −0.5 (TP 2, FP 3),
     * −0.9 (FP 4): 1/2·1 + 1/2·2/4 = 3/4 */
    const float ns[5] = {-0.5f, -0.9f, -0.1f, -0.5f, -0.5f};
    const unsigned char neg[5] = {0, 0, 1, 1, 0};
    CHECK(tl_aupr(&v, ns, neg, 5, &err) == 0);
    CHECK_CLOSE(v, 0.75, 1e-15);
    /* all tied: AUROC ½, AP = the positive rate */
    const float t[4] = {1, 1, 1, 1};
    const unsigned char tp[4] = {1, 0, 0, 0};
    CHECK(tl_auroc(&v, t, tp, 4, &err) == 0 && v == 0.5);
    CHECK(tl_aupr(&v, t, tp, 4, &err) == 0 && v == 0.25);
    /* undefined cases are errors */
    const unsigned char none[4] = {0, 0, 0, 0}, all[4] = {1, 1, 1, 1};
    CHECK(tl_auroc(&v, t, none, 4, &err) == -1 && strstr(err.msg, "AUROC"));
    CHECK(tl_auroc(&v, t, all, 4, &err) == -1);
    CHECK(tl_aupr(&v, t, none, 4, &err) == -1 && strstr(err.msg, "AUPR"));
    const float bad[2] = {0, NAN};
    CHECK(tl_auroc(&v, bad, tp, 2, &err) == -1 && strstr(err.msg, "NaN"));
}

/* O(n^2) definitions: the pair count of §14.3 and AP over distinct thresholds of §14.4. */
static double brute_auroc(const float *s, const unsigned char *pos, int n) {
    double sum = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) { na += pos[i]; nb += !pos[i]; }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            if (pos[a] && !pos[b]) sum += s[a] > s[b] ? 1 : s[a] == s[b] ? 0.5 : 0;
    return sum / (na * nb);
}

static double brute_ap(const float *s, const unsigned char *pos, int n) {
    double npos = 0, ap = 0, prev_r = 0;
    for (int i = 0; i < n; i++) npos += pos[i];
    /* thresholds: distinct scores, visited from the highest down */
    float thr = INFINITY;
    for (;;) {
        float next = -INFINITY;
        int found = 0;
        for (int i = 0; i < n; i++) if (s[i] < thr && (!found || s[i] > next)) { next = s[i]; found = 1; }
        if (!found) break;
        thr = next;
        double tp = 0, all = 0;
        for (int i = 0; i < n; i++) if (s[i] >= thr) { all++; tp += pos[i]; }
        double r = tp / npos;
        ap += (r - prev_r) * (tp / all);
        prev_r = r;
    }
    return ap;
}

static void test_auc_brute_force(void) {
    tl_rng rng;
    tl_rng_seed(&rng, 7, TL_RNG_DATA);
    float s[300];
    unsigned char pos[300];
    tl_error err;
    for (int trial = 0; trial < 20; trial++) {
        int n = 5 + (int)tl_rng_below(&rng, 290), levels = 1 + (int)tl_rng_below(&rng, 12);
        for (int i = 0; i < n; i++) {
            pos[i] = tl_rng_uniform(&rng) < 0.4;
            /* few score levels -> many ties; positives slightly higher on average */
            s[i] = (float)((int)tl_rng_below(&rng, (uint64_t)levels) + pos[i] * (int)tl_rng_below(&rng, 3)) / 4.0f;
        }
        pos[0] = 1;
        pos[1] = 0;
        double a, p;
        CHECK(tl_auroc(&a, s, pos, n, &err) == 0);
        CHECK(tl_aupr(&p, s, pos, n, &err) == 0);
        CHECK_CLOSE(a, brute_auroc(s, pos, n), 1e-12);
        CHECK_CLOSE(p, brute_ap(s, pos, n), 1e-12);
    }
}

/* ------------------------------------------------------------------ report */

static const char *const names4[4] = {"zero", "one|pipe", "two \"quoted\"", "three#"};

static void test_report_round_trip(void) {
    tl_metrics m;
    tl_error err;
    CHECK(tl_metrics_init(&m, 4, &err) == 0);
    float p4[36];
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 4; j++) p4[i * 4 + j] = j == caseA_p[i] ? 0.7f : 0.1f;
    CHECK(tl_metrics_compute(&m, caseA_y, caseA_p, p4, caseA_train, 9, &err) == 0);
    tl_report_info info;
    tl_report_info_init(&info);
    info.seed = 42;
    info.threads = 2;
    info.train_seconds = 12.5;
    CHECK(tl_report_info_set(&info, "model", "cnn", &err) == 0);
    CHECK(tl_report_info_set(&info, "loss", "focal:gamma=1", &err) == 0);
    CHECK(tl_report_info_set(&info, "loss", "ce", &err) == 0);         /* replaces */
    CHECK(tl_report_info_set(&info, "seed", "x", &err) == -1);         /* fixed field */
    CHECK(info.nkv == 2 && !strcmp(tl_report_info_get(&info, "loss"), "ce"));
    CHECK(tl_report_write(tmpdir, &m, names4, &info, &err) == 0);

    /* raw JSON: fields present, null where undefined */
    char path[128];
    path_in_tmp(path, sizeof path, "report.json");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    char buf[1 << 14];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    tl_json *root = tl_json_parse(buf, len, path, &err);
    CHECK(root != NULL);
    if (root) {
        CHECK_CLOSE(tl_json_get(root, "accuracy")->num, 5.0 / 9, 1e-17);
        CHECK(tl_json_get(root, "balanced_accuracy")->num == m.balanced_accuracy);
        CHECK(tl_json_get(root, "macro_f1")->num == m.macro_f1);
        CHECK(tl_json_get(root, "ece")->num == m.ece);
        const char *keys[] = {"micro_f1", "many", "medium", "few", "head", "mid", "tail", "classes", "test_samples"};
        for (int i = 0; i < 9; i++) CHECK_MSG(tl_json_get(root, keys[i]) != NULL, "%s", keys[i]);
        const tl_json *run = tl_json_get(root, "run");
        CHECK(tl_json_get(run, "seed")->num == 42 && tl_json_get(run, "threads")->num == 2);
        CHECK(tl_json_get(run, "images_per_second")->type == TL_JSON_NULL);
        CHECK(!strcmp(tl_json_get(run, "model")->str, "cnn"));
        const tl_json *pc = tl_json_get(root, "per_class");
        CHECK(pc->type == TL_JSON_ARRAY && pc->count == 4);
        const tl_json *c3 = pc->child->next->next->next;
        CHECK(!strcmp(tl_json_get(c3, "name")->str, "three#"));
        CHECK(tl_json_get(c3, "recall")->type == TL_JSON_NULL);
        CHECK(tl_json_get(c3, "f1")->type == TL_JSON_NULL);
        CHECK(tl_json_get(c3, "train_count")->num == 50 && tl_json_get(c3, "test_count")->num == 0);
        CHECK(!strcmp(tl_json_get(c3, "shot")->str, "medium") && !strcmp(tl_json_get(c3, "part")->str, "mid"));
        CHECK(!strcmp(tl_json_get(pc->child->next, "name")->str, "one|pipe"));
        const tl_json *cf = tl_json_get(root, "confusion");
        CHECK(cf->count == 4 && cf->child->count == 4 && cf->child->child->num == 3);
        tl_json_free(root);
    }

    /* reader: back into tl_metrics */
    tl_report r;
    CHECK(tl_report_read(&r, path, &err) == 0);
    CHECK(r.m.C == 4 && r.m.n == 9);
    for (int i = 0; i < 16; i++) CHECK(r.m.confusion[i] == m.confusion[i]);
    CHECK(r.m.accuracy == m.accuracy && r.m.balanced_accuracy == m.balanced_accuracy && r.m.ece == m.ece);
    CHECK(r.m.many == m.many && r.m.tail == m.tail);
    CHECK(isnan(r.m.recall[3]) && r.m.train_count[2] == 5);
    CHECK(r.names && !strcmp(r.names[2], "two \"quoted\""));
    CHECK(r.info.seed == 42 && r.info.threads == 2 && r.info.train_seconds == 12.5 && isnan(r.info.images_per_second));
    CHECK(r.info.nkv == 2 && !strcmp(tl_report_info_get(&r.info, "model"), "cnn"));

    /* side by side: prints both columns and the difference */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    CHECK(tl_report_print_compare(mf, &m, "baseline", &r.m, "method", names4, &err) == 0);
    fclose(mf);
    CHECK(text && strstr(text, "baseline") && strstr(text, "method") && strstr(text, "+0.00"));
    CHECK(text && strstr(text, "one\\|pipe"));
    free(text);
    tl_report_free(&r);
    tl_metrics small;
    CHECK(tl_metrics_init(&small, 2, &err) == 0);
    mf = open_memstream(&text, &tlen);
    CHECK(tl_report_print_compare(mf, &m, "a", &small, "b", NULL, &err) == -1 && strstr(err.msg, "classes"));
    fclose(mf);
    free(text);
    tl_metrics_free(&small);

    /* report.md: headline and the per-class table sorted by training count */
    path_in_tmp(path, sizeof path, "report.md");
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        len = fread(buf, 1, sizeof buf - 1, f);
        buf[len] = 0;
        fclose(f);
        char *a = strstr(buf, "| 0 zero"), *b = strstr(buf, "| 1 one\\|pipe"), *c = strstr(buf, "| 3 three#"),
             *d = strstr(buf, "| 2 two");
        CHECK(strstr(buf, "balanced accuracy") && strstr(buf, "`ce`"));
        CHECK(a && b && c && d && a < b && b < c && c < d);
    }

    /* a tampered report is rejected, naming the field */
    path_in_tmp(path, sizeof path, "report.json");
    f = fopen(path, "rb");
    len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    fclose(f);
    char *acc = strstr(buf, "\"accuracy\": 0.5");
    CHECK(acc != NULL);
    if (acc) {
        acc[strlen("\"accuracy\": 0.")] = '6';
        char bad[128];
        path_in_tmp(bad, sizeof bad, "tampered.json");
        f = fopen(bad, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        CHECK(tl_report_read(&r, bad, &err) == -1 && strstr(err.msg, "accuracy") && strstr(err.msg, "tampered.json"));
        remove(bad);
    }
    CHECK(tl_report_read(&r, "/nonexistent/report.json", &err) == -1 && strstr(err.msg, "/nonexistent/report.json"));
    tl_metrics_free(&m);
}

static void test_epoch_log_lines(void) {
    char path[128];
    path_in_tmp(path, sizeof path, "metrics.jsonl");
    FILE *f = fopen(path, "wb");
    tl_epoch_log a = {0, 0.1, 2.25, 0.5, NAN, NAN, 3.5, 1000};
    tl_epoch_log b = {1, 0.05, 1.125, 0.75, 0.625, 0.5, 3.25, 1100.5};
    CHECK(tl_metrics_line_write(f, &a) == 0 && tl_metrics_line_write(f, &b) == 0);
    fclose(f);
    f = fopen(path, "rb");
    char line[512];
    CHECK(fgets(line, sizeof line, f) != NULL);
    CHECK(!strcmp(line, "{\"epoch\":0,\"lr\":0.10000000000000001,\"train_loss\":2.25,\"train_acc\":0.5,"
                        "\"val_accuracy\":null,\"val_balanced_accuracy\":null,\"seconds\":3.5,"
                        "\"images_per_second\":1000}\n"));
    fclose(f);
    tl_epoch_log *logs;
    int n;
    tl_error err;
    CHECK(tl_epoch_log_read(&logs, &n, path, &err) == 0);
    CHECK(n == 2);
    if (n == 2) {
        CHECK(logs[0].epoch == 0 && logs[0].lr == 0.1 && isnan(logs[0].val_accuracy));
        CHECK(logs[1].epoch == 1 && logs[1].val_balanced_accuracy == 0.5 && logs[1].images_per_second == 1100.5);
    }
    free(logs);
    f = fopen(path, "ab");
    fputs("{\"epoch\": 2, \"lr\": oops}\n", f);
    fclose(f);
    CHECK(tl_epoch_log_read(&logs, &n, path, &err) == -1 && strstr(err.msg, "line 3"));
}

/* ------------------------------------------------------------------ plots */

static int is_png(const char *path) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t k = fread(head, 1, 8, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return k == 8 && !memcmp(head, sig, 8) && size > 1000;
}

/* The plots run with stdout and stderr sent to a file, which must stay empty. */
static void test_plots(void) {
    char out[128], p1[128], p2[128], p3[128], p4[128];
    path_in_tmp(out, sizeof out, "printed.txt");
    path_in_tmp(p1, sizeof p1, "per_class_accuracy.png");
    path_in_tmp(p2, sizeof p2, "confusion.png");
    path_in_tmp(p3, sizeof p3, "training_curves.png");
    path_in_tmp(p4, sizeof p4, "confusion_big.png");

    tl_metrics m, big;
    tl_error err;
    CHECK(tl_metrics_init(&m, 4, &err) == 0 && tl_metrics_compute(&m, caseA_y, caseA_p, NULL, caseA_train, 9, &err) == 0);
    /* 30 classes with long-tailed counts */
    enum { BC = 30, BN = 3000 };
    static int by[BN], bp[BN];
    int64_t bt[BC];
    tl_rng rng;
    tl_rng_seed(&rng, 3, TL_RNG_DATA);
    for (int c = 0; c < BC; c++) bt[c] = (int64_t)(5000 * pow(0.002, c / (BC - 1.0)));
    for (int i = 0; i < BN; i++) {
        by[i] = i % BC;
        bp[i] = tl_rng_uniform(&rng) < 0.9 - 0.02 * by[i] ? by[i] : (int)tl_rng_below(&rng, BC);
    }
    CHECK(tl_metrics_init(&big, BC, &err) == 0 && tl_metrics_compute(&big, by, bp, NULL, bt, BN, &err) == 0);
    tl_epoch_log logs[12];
    for (int e = 0; e < 12; e++)
        logs[e] = (tl_epoch_log){e, 0.1, 2.0 / (e + 1), 1 - 0.5 / (e + 1), e % 2 ? NAN : 0.8 - 0.4 / (e + 1),
                                 0.7 - 0.4 / (e + 1), 2, 5000};

    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2), fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    int r1 = tl_plot_per_class(p1, &m, names4, NULL, &err);
    int r2 = tl_plot_confusion(p2, &m, names4, "confusion #1", &err);
    int r3 = tl_plot_training_curves(p3, logs, 12, "curves", &err);
    int r4 = tl_plot_confusion(p4, &big, NULL, NULL, &err);
    int r5 = tl_plot_per_class(p4, &big, NULL, NULL, &err);
    int r6 = tl_plot_training_curves(p3, logs, 1, NULL, &err);
    tl_error bad;
    int r7 = tl_plot_confusion("/nonexistent/dir/confusion.png", &m, NULL, NULL, &bad);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(fd);
    CHECK(r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0 && r5 == 0 && r6 == 0);
    CHECK(r7 == -1 && strstr(bad.msg, "/nonexistent/dir/confusion.png"));
    struct stat st;
    CHECK(stat(out, &st) == 0 && st.st_size == 0);
    CHECK(is_png(p1) && is_png(p2) && is_png(p3) && is_png(p4));
    /* no temporary file is left behind */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", p1, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    tl_metrics_free(&m);
    tl_metrics_free(&big);
}

static void cleanup(void) {
    const char *files[] = {"report.json", "report.md", "metrics.jsonl", "printed.txt", "per_class_accuracy.png",
                           "confusion.png", "training_curves.png", "confusion_big.png"};
    char p[128];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) { path_in_tmp(p, sizeof p, files[i]); remove(p); }
    rmdir(tmpdir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tl_test_metrics_XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    RUN_TEST(test_confusion_and_headline);
    RUN_TEST(test_macro_f1_predicted_only);
    RUN_TEST(test_empty_groups_are_nan);
    RUN_TEST(test_head_mid_tail_ties);
    RUN_TEST(test_ece_by_hand);
    RUN_TEST(test_bad_input);
    RUN_TEST(test_auc_by_hand);
    RUN_TEST(test_auc_brute_force);
    RUN_TEST(test_report_round_trip);
    RUN_TEST(test_epoch_log_lines);
    RUN_TEST(test_plots);
    if (getenv("TL_KEEP_TMP")) printf("kept %s\n", tmpdir);
    else cleanup();
    TEST_MAIN_END();
}
