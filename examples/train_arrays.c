/* train_arrays: libtailor from a program of your own, built against the installed header alone:
 *
 *     cc train_arrays.c $(pkg-config --cflags --libs tailor) -o train_arrays && ./train_arrays
 *
 * It makes a long-tailed training set of five Gaussian blobs in 8-D (500 rows of class 0 down to 5 of
 * class 4) and a balanced test set, trains a small MLP on it twice (plain cross-entropy, then balanced
 * softmax), prints each one's accuracy and balanced accuracy on the test set, and the predicted
 * classes and probabilities of the first test rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <tailor.h>

enum { DIM = 8, CLASSES = 5, TEST_PER_CLASS = 100 };

/* A fixed-seed generator, so every run of the example prints the same numbers. */
static unsigned long long state = 42;
static double uniform(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

/* Rows of class c sit around 1.5 * e_c, with unit noise. */
static int blobs(float *x, int *y, const int *per_class) {
    int n = 0;
    for (int c = 0; c < CLASSES; c++)
        for (int i = 0; i < per_class[c]; i++, n++) {
            for (int j = 0; j < DIM; j++) x[(size_t)n * DIM + j] = (float)(gauss() + (j == c ? 1.5 : 0.0));
            y[n] = c;
        }
    return n;
}

static int fail(const char *what, const tl_error *err) {
    fprintf(stderr, "train_arrays: %s: %s\n", what, err->msg);
    return 1;
}

/* Prints "epoch E: loss L" as each epoch ends; returning 0 lets training go on. */
static int progress(void *user, const tl_train_status *s) {
    (void)user;
    if (s->epoch_end) fprintf(stderr, "  epoch %d/%d: loss %.4f\n", s->epoch + 1, s->epochs, s->train_loss);
    return 0;
}

int main(void) {
    static const int train_per[CLASSES] = {500, 160, 50, 16, 5};
    static const int test_per[CLASSES] = {TEST_PER_CLASS, TEST_PER_CLASS, TEST_PER_CLASS, TEST_PER_CLASS, TEST_PER_CLASS};
    static float xtrain[731 * DIM], xtest[CLASSES * TEST_PER_CLASS * DIM];
    static int ytrain[731], ytest[CLASSES * TEST_PER_CLASS];
    int ntrain = blobs(xtrain, ytrain, train_per), ntest = blobs(xtest, ytest, test_per);
    tl_error err;

    printf("libtailor %s\n", tl_version());
    tl_data *data = tl_data_new_features(DIM, CLASSES, &err);
    if (!data) return fail("data", &err);
    if (tl_data_set_features(data, TL_SPLIT_TRAIN, xtrain, ytrain, ntrain, &err) ||
        tl_data_set_features(data, TL_SPLIT_TEST, xtest, ytest, ntest, &err))
        return fail("data", &err);

    static const char *const losses[] = {"ce", "balanced-softmax"};
    for (int k = 0; k < 2; k++) {
        tl_config *cfg = tl_config_new(&err);
        if (!cfg) return fail("config", &err);
        /* The options and values of `tailor train` (docs/cli.md). */
        if (tl_config_set(cfg, "model", "mlp", &err) || tl_config_set(cfg, "hidden", "32", &err) ||
            tl_config_set(cfg, "epochs", "8", &err) || tl_config_set(cfg, "batch", "64", &err) ||
            tl_config_set(cfg, "threads", "1", &err) || tl_config_set(cfg, "loss", losses[k], &err))
            return fail("config", &err);
        fprintf(stderr, "--loss %s\n", losses[k]);
        tl_run *run = tl_train(cfg, data, progress, NULL, NULL, &err);
        tl_config_free(cfg);
        if (!run) return fail("train", &err);

        tl_evaluation *ev = tl_evaluate(run, data, TL_SPLIT_TEST, NULL, &err);
        if (!ev) return fail("evaluate", &err);
        printf("--loss %-16s accuracy %.2f%%  balanced accuracy %.2f%%  rarest class %.2f%%\n", losses[k],
               100 * tl_evaluation_metric(ev, "accuracy"), 100 * tl_evaluation_metric(ev, "balanced_accuracy"),
               100 * tl_evaluation_class_recall(ev, CLASSES - 1));
        tl_evaluation_free(ev);

        /* Predictions into our own buffers: the first three test rows of the rarest class. */
        const float *rows = xtest + (size_t)(CLASSES - 1) * TEST_PER_CLASS * DIM;
        float probs[3 * CLASSES];
        int labels[3];
        if (tl_run_predict_features(run, rows, 3, NULL, NULL, probs, labels, &err)) return fail("predict", &err);
        for (int i = 0; i < 3; i++)
            printf("  row of class %d: predicted %d with probability %.3f\n", CLASSES - 1, labels[i],
                   probs[i * CLASSES + labels[i]]);
        tl_run_free(run);
    }
    tl_data_free(data);
    return 0;
}
