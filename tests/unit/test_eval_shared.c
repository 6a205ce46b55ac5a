/* The evaluation pass shared by the ranks of an MPI job (train/trainer.h tl_eval_pass_shared). Run
 * alone it checks the one-rank case; under `mpirun -np N` (tests/cli/test_mpi.sh) every rank checks
 * that the gathered logits, probabilities, predictions and features are bit for bit those of the
 * whole pass run by this one process alone, for row counts that leave some ranks a short share or
 * none at all. */
#include <stdlib.h>
#include <string.h>
#include "core/dist.h"
#include "models/model.h"
#include "train/trainer.h"
#include "check.h"

enum { H = 6, W = 6, C = 5, B = 4 };

static int make_model(tl_model *m) {
    tl_model_cfg cfg;
    tl_error err = {{0}};
    if (tl_model_cfg_default(&cfg, "cnn", 1, H, W, C, &err) || tl_model_init(m, &cfg, B, 1, 7, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The whole pass in this process: the reference. */
static int whole_visit(void *p, tl_model *m, int got, int done) {
    memcpy((float *)p + (size_t)done * C, m->logits, (size_t)got * C * sizeof(float));
    return 0;
}

static int features_visit(void *p, tl_model *m, int got, int done) {
    size_t D = (size_t)m->cfg.feat_dim;
    memcpy((float *)p + (size_t)done * D, tl_model_features(m), (size_t)got * D * sizeof(float));
    return 0;
}

static void test_predict_and_features(void) {
    tl_model m;
    if (make_model(&m)) { CHECK(0); return; }
    const float mean[1] = {0.5f}, sd[1] = {0.25f};
    int sizes[] = {1, 3, 4, 9, 17};   /* fewer batches than ranks, a short last batch, several batches */
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int n = sizes[t];
        tl_error err = {{0}};
        tl_dataset d;
        CHECK(tl_dataset_alloc(&d, n, 1, H, W, C, "test", &err) == 0);
        for (int i = 0; i < n * H * W; i++) d.x[i] = (float)((i * 37) % 101) / 101.0f;
        for (int i = 0; i < n; i++) d.y[i] = i % C;
        size_t D = (size_t)m.cfg.feat_dim;
        float *ref = malloc((size_t)n * C * sizeof *ref), *logits = malloc((size_t)n * C * sizeof *logits);
        float *probs = malloc((size_t)n * C * sizeof *probs), *feat = malloc((size_t)n * D * sizeof *feat);
        float *feat_ref = malloc((size_t)n * D * sizeof *feat_ref);
        int *pred = malloc((size_t)n * sizeof *pred), *idx = malloc((size_t)n * sizeof *idx);
        for (int i = 0; i < n; i++) idx[i] = n - 1 - i;
        CHECK(tl_eval_pass(&m, &d, NULL, 0, mean, sd, 1, whole_visit, ref, &err) == 0);
        CHECK(tl_predict(&m, &d, mean, sd, logits, probs, pred, &err) == 0);
        CHECK_MSG(memcmp(ref, logits, (size_t)n * C * sizeof *ref) == 0, "n = %d: the logits differ", n);
        int bad = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            float s = 0;
            for (int k = 0; k < C; k++) { best = ref[i * C + k] > ref[i * C + best] ? k : best; s += probs[i * C + k]; }
            bad += pred[i] != best || s < 0.999f || s > 1.001f;
        }
        CHECK_MSG(bad == 0, "n = %d: %d rows with a wrong prediction or probabilities", n, bad);
        /* Features of rows in another order (idx): each rank's share of idx, gathered. */
        CHECK(tl_eval_features(&m, &d, idx, n, mean, sd, feat, &err) == 0);
        CHECK(tl_eval_pass(&m, &d, idx, n, mean, sd, 0, features_visit, feat_ref, &err) == 0);
        CHECK_MSG(memcmp(feat_ref, feat, (size_t)n * D * sizeof *feat) == 0, "n = %d: the features differ", n);
        free(ref); free(logits); free(probs); free(feat); free(feat_ref); free(pred); free(idx);
        tl_dataset_free(&d);
    }
    tl_model_free(&m);
}

int main(void) {
    tl_error err;
    if (tl_dist_init(&err)) { fprintf(stderr, "tl_dist_init: %s\n", err.msg); return 1; }
    RUN_TEST(test_predict_and_features);
    tl_dist_finalize();
    TEST_MAIN_END();
}
