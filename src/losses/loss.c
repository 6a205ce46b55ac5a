#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "losses/loss.h"
#include "losses/softmax.h"
#include "models/model.h"

static const tl_loss_ops *const losses[] = {&tl_loss_ce, &tl_loss_sigmoid, &tl_loss_focal, &tl_loss_ldam,
                                            &tl_loss_logit_adjust, &tl_loss_balanced_softmax};
#define NLOSSES ((int)(sizeof losses / sizeof *losses))

const char *const tl_loss_shared_keys = "weights=none|inverse|sqrt-inverse|effective,beta=0.9999,drw=0";

const tl_loss_ops *const *tl_loss_table(int *n) {
    *n = NLOSSES;
    return losses;
}

int tl_loss_default_head(const char *loss_text, const char *head_text, char *out, size_t size, tl_error *err) {
    tl_spec spec;
    int k = tl_spec_parse_ops(&spec, loss_text, "--loss", (const void *const *)losses, NLOSSES, err);
    if (k < 0) return -1;
    if (strcmp(head_text, "linear") || !losses[k]->default_head) {
        if ((size_t)snprintf(out, size, "%s", head_text) >= size) return tl_fail(err, "--head: too long");
        return 0;
    }
    return losses[k]->default_head(&spec, out, size, err);
}

void tl_loss_init_model(const tl_loss *l, struct tl_model *m) {
    if (l->ops->initialise) l->ops->initialise(l, m);
}

void tl_class_weights(double *w, const int64_t *count, int C, int kind, double beta) {
    double sum = 0;
    for (int c = 0; c < C; c++) {
        double n = (double)count[c];
        switch (kind) {
        case TL_WEIGHTS_INVERSE: w[c] = 1.0 / n; break;
        case TL_WEIGHTS_SQRT_INVERSE: w[c] = 1.0 / sqrt(n); break;
        case TL_WEIGHTS_EFFECTIVE: w[c] = (1.0 - beta) / -expm1(n * log(beta)); break;
        default: w[c] = 1.0; break;
        }
        sum += w[c];
    }
    for (int c = 0; c < C; c++) w[c] = w[c] * C / sum;
}

int tl_loss_create(tl_loss *l, const char *spec_text, int C, const int64_t *count, const tl_head *head, tl_error *err) {
    memset(l, 0, sizeof *l);
    tl_spec spec;
    int k = tl_spec_parse_ops(&spec, spec_text, "--loss", (const void *const *)losses, NLOSSES, err);
    if (k < 0) return -1;
    static const char *const kinds[] = {"none", "inverse", "sqrt-inverse", "effective"};   /* TL_WEIGHTS_* */
    l->ops = losses[k];
    l->C = C;
    l->count = count;
    l->head = head;
    if (tl_spec_choice(&spec, "weights", kinds, 4, TL_WEIGHTS_NONE, &l->weights, err) ||
        tl_spec_double(&spec, "beta", 0.9999, &l->beta, err) || tl_spec_int(&spec, "drw", 0, &l->drw, err))
        return -1;
    if (l->drw > 0 && l->weights == TL_WEIGHTS_NONE)
        return tl_spec_fail(err, &spec, "drw=%d defers class weights, but weights=none (give weights=inverse|sqrt-inverse|effective)", l->drw);
    for (int c = 0; c < C; c++)
        if (count[c] <= 0 && l->weights != TL_WEIGHTS_NONE)
            return tl_spec_fail(err, &spec, "class %d has no training images, so it has no weight", c);
    l->w = malloc((size_t)C * sizeof *l->w);
    if (!l->w) return tl_fail(err, "out of memory");
    tl_class_weights(l->w, count, C, l->weights, l->beta);
    if (l->ops->create(l, &spec, err) || tl_spec_check_unused(&spec, err)) { tl_loss_destroy(l); return -1; }
    tl_loss_epoch(l, 0);
    return 0;
}

void tl_loss_epoch(tl_loss *l, int epoch) { l->weights_on = l->weights != TL_WEIGHTS_NONE && epoch >= l->drw; }

double tl_loss_compute(tl_loss *l, float *dlogits, const float *logits, const int *y, int N) {
    return l->ops->compute(l, dlogits, logits, y, N, l->weights_on ? l->w : NULL);
}

void tl_loss_destroy(tl_loss *l) {
    if (l->ops && l->ops->destroy) l->ops->destroy(l);
    free(l->w);
    memset(l, 0, sizeof *l);
}

double tl_loss_shifted_ce(float *dlogits, const float *logits, const int *y, int N, int C, const double *w,
                          double wsum, const double *bias, const double *ybias) {
    double loss = 0;
    if (!(wsum > 0))
        for (int i = 0; i < N; i++) wsum += w ? w[y[i]] : 1.0;
    for (int i = 0; i < N; i++) {
        double wi = (w ? w[y[i]] : 1.0) / wsum;
        loss += wi * tl_softmax_ce_row(dlogits + (size_t)i * C, logits + (size_t)i * C, bias, ybias ? ybias[y[i]] : 0,
                                       y[i], C, wi);
    }
    return loss;
}
