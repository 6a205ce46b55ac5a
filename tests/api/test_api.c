/* The public API, used as a program outside the project would: this file includes <tailor.h> alone
 * (the build gives it -Iinclude and no -Isrc). Data from arrays and from a spec, configuration by
 * name, training in memory with progress and cancellation, prediction into buffers, evaluation,
 * saving and reopening a run folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tailor.h>
#include "../unit/check.h"
#include "../unit/tmpfiles.h"

#define D 4
#define C 3

/* A long-tailed training set of three Gaussian blobs in 4-D (300, 60, 12 rows), a balanced test set
 * (40 per class), from a fixed linear congruential generator. */
static unsigned long long lcg = 12345;
static double uniform(void) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((lcg >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static int make_rows(float *x, int *y, const int *per_class) {
    int n = 0;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < per_class[c]; i++, n++) {
            for (int j = 0; j < D; j++) x[n * D + j] = (float)(gauss() * 0.7 + (j == c ? 2.0 : 0.0));
            y[n] = c;
        }
    return n;
}

static const int train_per[C] = {300, 60, 12}, test_per[C] = {40, 40, 40};
static float xtr[372 * D], xte[120 * D];
static int ytr[372], yte[120], ntr, nte;

static tl_data *arrays(void) {
    tl_error err = {{0}};
    tl_data *d = tl_data_new_features(D, C, &err);
    CHECK_MSG(d != NULL, "%s", err.msg);
    if (!d) return NULL;
    CHECK(tl_data_set_features(d, TL_SPLIT_TRAIN, xtr, ytr, ntr, &err) == 0);
    CHECK(tl_data_set_features(d, TL_SPLIT_TEST, xte, yte, nte, &err) == 0);
    return d;
}

static tl_config *small_config(void) {
    tl_error err = {{0}};
    tl_config *c = tl_config_new(&err);
    const char *kv[][2] = {{"model", "mlp"}, {"hidden", "16"}, {"epochs", "3"}, {"batch", "32"}, {"threads", "1"},
                           {"workers", "0"}, {"optim", "sgd:lr=0.05,momentum=0.9,wd=5e-4"}};
    for (size_t i = 0; c && i < sizeof kv / sizeof *kv; i++)
        CHECK_MSG(tl_config_set(c, kv[i][0], kv[i][1], &err) == 0, "%s", err.msg);
    return c;
}

typedef struct { int steps, epochs, stop_at; double last_val; } progress_log;

static int on_progress(void *user, const tl_train_status *s) {
    progress_log *p = user;
    if (s->epoch_end) { p->epochs++; p->last_val = s->train_accuracy; }
    else p->steps++;
    return p->stop_at && p->steps >= p->stop_at;
}

static void test_version(void) {
    CHECK(!strcmp(tl_version(), TL_VERSION));
    CHECK(tl_version_number() == TL_VERSION_NUMBER);
    CHECK(TL_VERSION_NUMBER == TL_VERSION_MAJOR * 10000 + TL_VERSION_MINOR * 100 + TL_VERSION_PATCH);
}

static void test_config(void) {
    tl_error err = {{0}};
    tl_config *c = tl_config_new(&err);
    CHECK(c != NULL);
    if (!c) return;
    CHECK(!strcmp(tl_config_get(c, "epochs"), "15"));
    CHECK(!strcmp(tl_config_get(c, "loss"), "ce"));
    CHECK(!strcmp(tl_config_get(c, "data"), ""));
    CHECK(tl_config_get(c, "no-such") == NULL);
    CHECK(tl_config_set(c, "loss", "ldam:max_m=0.5,s=30", &err) == 0);
    CHECK(!strcmp(tl_config_get(c, "loss"), "ldam:max_m=0.5,s=30"));
    CHECK(tl_config_set(c, "no-such", "1", &err) == -1);
    CHECK_MSG(strstr(err.msg, "unknown option 'no-such'") && strstr(err.msg, "sampler"), "%s", err.msg);
    CHECK(tl_config_set(c, "out", "x", &err) == -1);
    CHECK_MSG(strstr(err.msg, "option of the tailor command"), "%s", err.msg);
    int n = tl_config_count(), seen_loss = 0;
    for (int i = 0; i < n; i++) {
        CHECK(tl_config_name(i) && tl_config_help(i) && *tl_config_help(i));
        CHECK(tl_config_get(c, tl_config_name(i)) != NULL);
        seen_loss |= !strcmp(tl_config_name(i), "loss");
        CHECK(strcmp(tl_config_name(i), "out") && strcmp(tl_config_name(i), "quiet"));
    }
    CHECK(seen_loss && tl_config_name(n) == NULL && tl_config_name(-1) == NULL);
    char *json = tl_config_json(c, &err);
    CHECK(json && strstr(json, "\"loss\": \"ldam:max_m=0.5,s=30\""));
    tl_config *copy = tl_config_copy(c, &err);
    CHECK(copy && !strcmp(tl_config_get(copy, "loss"), "ldam:max_m=0.5,s=30"));
    /* config.json read back over a fresh configuration */
    FILE *f = fopen(tmp("config.json"), "w");
    if (f && json) { fputs(json, f); fclose(f); }
    tl_config *back = tl_config_new(&err);
    CHECK(back && tl_config_read(back, tmp("config.json"), &err) == 0);
    CHECK(back && !strcmp(tl_config_get(back, "loss"), "ldam:max_m=0.5,s=30"));
    CHECK(back && tl_config_read(back, tmp("missing.json"), &err) == -1 && strstr(err.msg, "missing.json"));
    tl_free(json);
    tl_config_free(back);
    tl_config_free(copy);
    tl_config_free(c);
    tl_config_free(NULL);
}

static void test_data_errors(void) {
    tl_error err = {{0}};
    tl_data *d = tl_data_new_features(D, C, &err);
    int bad[2] = {0, 3};
    CHECK(d && tl_data_set_features(d, TL_SPLIT_TRAIN, xtr, bad, 2, &err) == -1);
    CHECK_MSG(strstr(err.msg, "train row 1 has label 3"), "%s", err.msg);
    float nan_row[D] = {0, NAN, 0, 0};
    CHECK(tl_data_set_features(d, TL_SPLIT_TEST, nan_row, bad, 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, "test row 0, column 1 is not a finite number"), "%s", err.msg);
    CHECK(tl_data_set_pixels(d, TL_SPLIT_TRAIN, (const uint8_t *)"", NULL, 0, &err) == -1 && strstr(err.msg, "feature rows"));
    CHECK(tl_data_set_features(d, 7, xtr, ytr, 1, &err) == -1);
    CHECK(tl_data_new_features(D, 1, &err) == NULL && strstr(err.msg, "num_classes 1"));
    CHECK(tl_data_open("csv:/nonexistent/train.csv", NULL, 0, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "/nonexistent/train.csv"), "%s", err.msg);
    /* training on a data set whose class 2 has no rows */
    CHECK(tl_data_set_features(d, TL_SPLIT_TRAIN, xtr, ytr, 360, &err) == 0);
    tl_config *c = small_config();
    CHECK(tl_train(c, d, NULL, NULL, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "class 2 has no training rows"), "%s", err.msg);
    tl_config_set(c, "loss", "nope", &err);
    CHECK(tl_data_set_features(d, TL_SPLIT_TRAIN, xtr, ytr, ntr, &err) == 0);
    CHECK(tl_train(c, d, NULL, NULL, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "--loss") && strstr(err.msg, "nope"), "%s", err.msg);
    CHECK(tl_run_open(tmp("no-run"), 1, &err) == NULL && strstr(err.msg, "no such run folder"));
    tl_config_free(c);
    tl_data_free(d);
}

/* Train, predict, evaluate, save, reopen: the same numbers all the way. */
static void test_arrays_round_trip(void) {
    tl_error err = {{0}};
    tl_data *d = arrays();
    tl_config *c = small_config();
    progress_log p = {0};
    tl_run *r = d && c ? tl_train(c, d, on_progress, &p, NULL, &err) : NULL;
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (!r) { tl_config_free(c); tl_data_free(d); return; }
    int steps = ntr / 32;   /* the trainer drops the short last batch */
    CHECK_MSG(p.steps == 3 * steps && p.epochs == 3, "%d steps, %d epochs", p.steps, p.epochs);
    CHECK(tl_run_num_classes(r) == C && tl_run_feature_dim(r) == 16);
    int ic, ih, iw;
    tl_run_input_shape(r, &ic, &ih, &iw);
    CHECK(ic == D && ih == 1 && iw == 1);
    CHECK(tl_data_rows(d, TL_SPLIT_TEST) == nte && tl_data_rows(d, TL_SPLIT_VAL) == 0 && tl_data_num_classes(d) == C);
    int64_t counts[C];
    CHECK(tl_data_class_counts(d, counts, &err) == 0 && counts[0] == 300 && counts[1] == 60 && counts[2] == 12);

    float *logits = malloc(sizeof(float) * nte * C), *probs = malloc(sizeof(float) * nte * C);
    float *logits2 = malloc(sizeof(float) * nte * C), *feat = malloc(sizeof(float) * nte * 16);
    int *labels = malloc(sizeof(int) * nte), *labels2 = malloc(sizeof(int) * nte);
    CHECK(tl_run_predict(r, d, TL_SPLIT_TEST, NULL, logits, probs, labels, &err) == 0);
    int correct = 0, ok_argmax = 1, ok_sum = 1;
    for (int i = 0; i < nte; i++) {
        double s = 0;
        int best = 0;
        for (int k = 0; k < C; k++) { s += probs[i * C + k]; if (logits[i * C + k] > logits[i * C + best]) best = k; }
        ok_sum &= fabs(s - 1) < 1e-5;
        ok_argmax &= best == labels[i];
        correct += labels[i] == yte[i];
    }
    CHECK(ok_sum && ok_argmax);
    CHECK_MSG(correct > nte / 2, "only %d of %d right", correct, nte);
    /* The caller's rows give the same logits as the data set's split. */
    CHECK(tl_run_predict_features(r, xte, nte, NULL, logits2, NULL, labels2, &err) == 0);
    CHECK(!memcmp(logits, logits2, sizeof(float) * nte * C) && !memcmp(labels, labels2, sizeof(int) * nte));
    CHECK(tl_run_features(r, d, TL_SPLIT_TEST, feat, &err) == 0);
    /* An inference rule: logit adjustment with tau 1 moves predictions toward the rare classes. */
    CHECK(tl_run_predict(r, d, TL_SPLIT_TEST, "logit-adjust:tau=1", logits2, NULL, labels2, &err) == 0);
    int rare = 0, rare_la = 0;
    for (int i = 0; i < nte; i++) { rare += labels[i] == 2; rare_la += labels2[i] == 2; }
    CHECK_MSG(rare_la >= rare, "%d vs %d", rare_la, rare);
    CHECK(tl_run_predict(r, d, TL_SPLIT_TEST, "logit-adjust:tau=auto", logits2, NULL, labels2, &err) == -1);
    CHECK_MSG(strstr(err.msg, "tau=auto needs the run's validation set"), "%s", err.msg);
    CHECK(tl_run_predict(r, d, TL_SPLIT_TEST, "bogus", logits2, NULL, labels2, &err) == -1 && strstr(err.msg, "--posthoc"));

    tl_evaluation *e = tl_evaluate(r, d, TL_SPLIT_TEST, NULL, &err);
    CHECK_MSG(e != NULL, "%s", err.msg);
    if (e) {
        CHECK_CLOSE(tl_evaluation_metric(e, "accuracy"), (double)correct / nte, 1e-12);
        double bal = 0;
        for (int k = 0; k < C; k++) bal += tl_evaluation_class_recall(e, k) / C;
        CHECK_CLOSE(tl_evaluation_metric(e, "balanced_accuracy"), bal, 1e-12);
        CHECK(isnan(tl_evaluation_metric(e, "no-such")) && isnan(tl_evaluation_class_recall(e, C)));
        char *json = tl_evaluation_json(e, &err);
        CHECK(json && strstr(json, "\"balanced_accuracy\"") && strstr(json, "\"model\": \"mlp\""));
        tl_free(json);
        CHECK(tl_evaluation_write(e, tmpdir, &err) == 0);
        FILE *f = fopen(tmp("report.json"), "r");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    /* Save, reopen: the same logits, bit for bit. */
    CHECK_MSG(tl_run_save(r, tmp("run"), &err) == 0, "%s", err.msg);
    CHECK(tl_run_save(r, tmp("run"), &err) == -1 && strstr(err.msg, "already exists"));
    tl_run *o = tl_run_open(tmp("run"), 1, &err);
    CHECK_MSG(o != NULL, "%s", err.msg);
    if (o) {
        CHECK(!strcmp(tl_config_get(tl_run_config(o), "hidden"), "16"));
        /* Saved again, the model file is the same bytes (num_batches_tracked included). */
        CHECK_MSG(tl_run_save(o, tmp("run2"), &err) == 0, "%s", err.msg);
        FILE *f1 = fopen(tmp("run/model.safetensors"), "rb"), *f2 = fopen(tmp("run2/model.safetensors"), "rb");
        int same = f1 && f2;
        for (int a = 0, b = 0; same && a != EOF; ) { a = fgetc(f1); b = fgetc(f2); same = a == b; }
        CHECK(same);
        if (f1) fclose(f1);
        if (f2) fclose(f2);
        CHECK(tl_run_predict(o, d, TL_SPLIT_TEST, NULL, logits2, NULL, labels2, &err) == 0);
        CHECK(!memcmp(logits, logits2, sizeof(float) * nte * C));
        /* A rule that needs the training counts works on the reopened run alone (its train_counts.json)
         * and gives what it gave on the original with the data set's counts. */
        int *la = malloc(sizeof(int) * nte), *la2 = malloc(sizeof(int) * nte);
        CHECK(la && la2 && tl_run_predict(r, d, TL_SPLIT_TEST, "logit-adjust:tau=1", NULL, NULL, la, &err) == 0);
        CHECK_MSG(la && la2 && tl_run_predict_features(o, xte, nte, "logit-adjust:tau=1", NULL, NULL, la2, &err) == 0, "%s", err.msg);
        CHECK(la && la2 && !memcmp(la, la2, sizeof(int) * nte));
        free(la);
        free(la2);
        FILE *fc = fopen(tmp("run2/train_counts.json"), "r");
        CHECK(fc != NULL);   /* saved again from the reopened run, the counts go along */
        if (fc) fclose(fc);
        /* Another batch size may change the order of the float sums inside the matrix products (the
         * kernel and thread split the BLAS picks for the problem size; include/tailor.h,
         * tl_run_set_batch): float32 rounding, within 1e-5 of the largest logit, never more. */
        float lmax = 0, dmax = 0;
        for (int i = 0; i < nte * C; i++) lmax = fmaxf(lmax, fabsf(logits[i]));
        static const int batches[] = {1, 3, 33, 256};
        for (int b = 0; b < 4; b++) {
            CHECK(tl_run_set_batch(o, batches[b], &err) == 0 && tl_run_batch(o) == batches[b] &&
                  tl_run_predict(o, d, TL_SPLIT_TEST, NULL, logits2, NULL, NULL, &err) == 0);
            for (int i = 0; i < nte * C; i++) dmax = fmaxf(dmax, fabsf(logits2[i] - logits[i]));
        }
        CHECK_MSG(dmax <= 1e-5f * fmaxf(1, lmax), "batch sizes 1, 3, 33, 256: a logit moved by %g (largest %g)", dmax, lmax);
        CHECK(tl_run_set_batch(o, 256, &err) == 0);
        /* Without report.json the training counts come from the data set's training split. */
        tl_evaluation *e2 = tl_evaluate(o, d, TL_SPLIT_TEST, NULL, &err);
        CHECK(e2 && e && tl_evaluation_metric(e2, "balanced_accuracy") == tl_evaluation_metric(e, "balanced_accuracy"));
        tl_evaluation_free(e2);
    }
    /* Stage 2 on the frozen backbone: cRT (a new linear head, class-balanced) and NCM. */
    const char *opts[] = {"epochs", "2", "threads", "1", NULL};
    tl_run *crt = tl_retrain(r, d, "crt", opts, &err);
    CHECK_MSG(crt != NULL, "%s", err.msg);
    tl_evaluation *ec = crt ? tl_evaluate(crt, d, TL_SPLIT_TEST, NULL, &err) : NULL;
    CHECK_MSG(ec && tl_evaluation_metric(ec, "balanced_accuracy") > 0.5, "%s", err.msg);
    CHECK(crt && !strcmp(tl_config_get(tl_run_config(crt), "head"), "linear") && tl_run_num_classes(crt) == C);
    tl_evaluation_free(ec);
    tl_run *ncm = tl_retrain(r, d, "ncm:metric=cosine", NULL, &err);
    CHECK_MSG(ncm && !strcmp(tl_config_get(tl_run_config(ncm), "head"), "ncm:metric=cosine"), "%s", err.msg);
    CHECK(ncm && tl_run_predict(ncm, d, TL_SPLIT_TEST, NULL, logits2, NULL, labels2, &err) == 0);
    tl_run_free(crt);
    tl_run_free(ncm);
    CHECK(tl_retrain(r, d, "nope", NULL, &err) == NULL && strstr(err.msg, "--method") && strstr(err.msg, "crt"));
    CHECK(tl_retrain(r, d, "tau", NULL, &err) == NULL);
    const char *bad[] = {"out", "x", NULL};
    CHECK(tl_retrain(r, d, "crt", bad, &err) == NULL && strstr(err.msg, "unknown option 'out'"));
    /* Retraining from the same configuration gives the same model. */
    tl_run *r2 = tl_train(c, d, NULL, NULL, NULL, &err);
    CHECK(r2 && tl_run_predict(r2, d, TL_SPLIT_TEST, NULL, logits2, NULL, NULL, &err) == 0);
    CHECK(r2 && !memcmp(logits, logits2, sizeof(float) * nte * C));
    tl_run_free(r2);
    tl_run_free(o);
    tl_evaluation_free(e);
    free(logits); free(probs); free(logits2); free(feat); free(labels); free(labels2);
    tl_run_free(r);
    tl_config_free(c);
    tl_data_free(d);
}

static void test_cancel(void) {
    tl_error err = {{0}};
    tl_data *d = arrays();
    tl_config *c = small_config();
    progress_log p = {.stop_at = 2};
    CHECK(tl_train(c, d, on_progress, &p, NULL, &err) == NULL);
    CHECK_MSG(!strcmp(err.msg, "training stopped at epoch 0, step 2"), "%s", err.msg);
    volatile int cancel = 1;
    CHECK(tl_train(c, d, NULL, NULL, &cancel, &err) == NULL);
    CHECK_MSG(!strcmp(err.msg, "training stopped at epoch 0, step 1"), "%s", err.msg);
    tl_config_free(c);
    tl_data_free(d);
}

/* Images from pixels and a data set from a spec (a CSV file) with its long-tailed view. */
static void test_pixels_and_spec(void) {
    tl_error err = {{0}};
    enum { N = 90, S = 8 };
    uint8_t *px = malloc(N * S * S);
    int y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        for (int j = 0; j < S * S; j++) px[i * S * S + j] = (uint8_t)((j / S == y[i] * 3 ? 200 : 20) + (uniform() * 30));
    }
    tl_data *d = tl_data_new_pixels(S, S, 1, 3, &err);
    CHECK(d && tl_data_set_pixels(d, TL_SPLIT_TRAIN, px, y, N, &err) == 0 && tl_data_set_pixels(d, TL_SPLIT_TEST, px, y, N, &err) == 0);
    const char *names[3] = {"top", "middle", "bottom"};
    CHECK(d && tl_data_set_class_names(d, names, &err) == 0 && !strcmp(tl_data_class_name(d, 1), "middle"));
    tl_config *c = small_config();
    tl_config_set(c, "model", "cnn", &err);
    tl_run *r = d ? tl_train(c, d, NULL, NULL, NULL, &err) : NULL;
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(!strcmp(tl_run_class_name(r, 2), "bottom"));
        int a[N], b[N];
        CHECK(tl_run_predict(r, d, TL_SPLIT_TEST, NULL, NULL, NULL, a, &err) == 0);
        CHECK(tl_run_predict_pixels(r, px, N, NULL, NULL, NULL, b, &err) == 0);
        CHECK(!memcmp(a, b, sizeof a));
        CHECK(tl_run_predict_features(r, NULL, 1, NULL, NULL, NULL, b, &err) == -1);
    }
    tl_run_free(r);
    /* A spec: the same rows as CSV, cut to exp:10 with 2 rows of each class held out. */
    FILE *f = fopen(tmp("train.csv"), "w");
    if (f) {
        fputs("a,b,c,d,label\n", f);
        for (int i = 0; i < ntr; i++) fprintf(f, "%.9g,%.9g,%.9g,%.9g,%d\n", xtr[i * D], xtr[i * D + 1], xtr[i * D + 2], xtr[i * D + 3], ytr[i]);
        fclose(f);
    }
    char spec[600];
    snprintf(spec, sizeof spec, "csv:%s", tmp("train.csv"));
    tl_data *s = tl_data_open(spec, "exp:10", 2, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (s) {
        int64_t counts[C];
        tl_data_class_counts(s, counts, &err);
        CHECK_MSG(counts[0] == 298 && counts[1] == 58 && counts[2] == 10, "%lld %lld %lld", (long long)counts[0],
                  (long long)counts[1], (long long)counts[2]);
        CHECK(tl_data_rows(s, TL_SPLIT_VAL) == 6);
        tl_config_set(c, "model", "mlp", &err);
        tl_run *rs = tl_train(c, s, NULL, NULL, NULL, &err);
        CHECK_MSG(rs != NULL, "%s", err.msg);
        if (rs) {
            CHECK(!strcmp(tl_config_get(tl_run_config(rs), "data"), spec) && !strcmp(tl_config_get(tl_run_config(rs), "lt"), "exp:10"));
            tl_evaluation *e = tl_evaluate(rs, s, TL_SPLIT_VAL, "logit-adjust:tau=auto", &err);
            CHECK_MSG(e != NULL, "%s", err.msg);
            char *json = e ? tl_evaluation_json(e, &err) : NULL;
            CHECK(json && strstr(json, "\"posthoc\": \"logit-adjust:tau="));
            tl_free(json);
            tl_evaluation_free(e);
        }
        tl_run_free(rs);
        /* The same view of the arrays. */
        tl_data *a = arrays(), *v = a ? tl_data_view(a, "exp:10", 2, NULL, &err) : NULL;
        CHECK_MSG(v != NULL, "%s", err.msg);
        int64_t vc[C];
        if (v) tl_data_class_counts(v, vc, &err);
        CHECK(v && !memcmp(vc, counts, sizeof vc) && tl_data_rows(v, TL_SPLIT_TEST) == nte);
        tl_data_free(v);
        tl_data_free(a);
    }
    tl_data_free(s);
    tl_config_free(c);
    tl_data_free(d);
    free(px);
}

/* --open through the API: class 2 held out of training, back as unknown at test time. */
static void test_open_set(void) {
    tl_error err = {{0}};
    tl_data *a = arrays(), *v = a ? tl_data_view(a, NULL, 0, "2", &err) : NULL;
    CHECK_MSG(v != NULL, "%s", err.msg);
    if (!v) { tl_data_free(a); return; }
    CHECK(tl_data_num_classes(v) == 2 && tl_data_rows(v, TL_SPLIT_UNKNOWN) == test_per[2]);
    CHECK(tl_data_rows(v, TL_SPLIT_TEST) == test_per[0] + test_per[1] && tl_data_rows(v, TL_SPLIT_TRAIN) == 360);
    tl_config *c = small_config();
    tl_run *r = tl_train(c, v, NULL, NULL, NULL, &err);
    CHECK_MSG(r && tl_run_num_classes(r) == 2, "%s", err.msg);
    tl_evaluation *e = r ? tl_evaluate(r, v, TL_SPLIT_TEST, NULL, &err) : NULL;
    CHECK_MSG(e != NULL, "%s", err.msg);
    char *json = e ? tl_evaluation_json(e, &err) : NULL;
    CHECK(json && strstr(json, "\"open_set\": {") && strstr(json, "\"auroc\""));
    CHECK(json && strstr(json, "\"open\": \"2\""));
    tl_free(json);
    FILE *f = tmpfile();
    if (f && e) {
        tl_evaluation_print(f, e);
        long n = ftell(f);
        CHECK(n > 0);
        fclose(f);
    }
    tl_evaluation_free(e);
    tl_run_free(r);
    tl_config_free(c);
    tl_data_free(v);
    tl_data_free(a);
}

static int log_lines;
static void on_log(void *user, int level, const char *msg) { (void)user; (void)level; (void)msg; log_lines++; }

int main(void) {
    if (tmpfiles_open("api")) return 1;
    tl_log_set_callback(on_log, NULL);
    ntr = make_rows(xtr, ytr, train_per);
    nte = make_rows(xte, yte, test_per);
    RUN_TEST(test_version);
    RUN_TEST(test_config);
    RUN_TEST(test_data_errors);
    RUN_TEST(test_arrays_round_trip);
    RUN_TEST(test_cancel);
    RUN_TEST(test_pixels_and_spec);
    RUN_TEST(test_open_set);
    tmpfiles_close();
    TEST_MAIN_END();
}
