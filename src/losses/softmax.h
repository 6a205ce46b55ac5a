/* Numerically stable softmax primitives (docs/methods.md §0.2) and softmax cross-entropy (§0.3). */
#ifndef TL_LOSSES_SOFTMAX_H
#define TL_LOSSES_SOFTMAX_H

/* log-sum-exp of z[0..C). */
double tl_logsumexp(const float *z, int C);
/* probs[N,C] = softmax(logits[N,C]) row-wise. */
void tl_softmax(float *probs, const float *logits, int N, int C);
/* The predicted class of one row of logits: the first index of the largest z[j] − shift[j], compared
 * in double (shift [C] may be NULL: the largest z[j] itself). Every prediction in tailor is this. */
int tl_argmax(const float *z, const double *shift, int C);

/* Mean softmax cross-entropy: torch.nn.functional.cross_entropy(logits, y) (reduction mean).
 * Writes dlogits[N,C] = (softmax(z) - onehot(y)) / N (written, not accumulated: a loss starts the
 * backward chain) and returns the loss. dlogits may be NULL (evaluation). */
double tl_softmax_ce(float *dlogits, const float *logits, const int *y, int N, int C);

/* One row of softmax cross-entropy on shifted logits u_j = z_j + bias[j] + ybias·1[j = y]
 * (bias may be NULL): the core of ce with weights, LDAM (ybias = -s·Δ_y), logit adjustment and
 * balanced softmax (bias = a). Writes d[j] = gscale·(softmax(u)_j - 1[j = y]) when d is not NULL
 * and returns CE = LSE(u) - u_y, all in double. */
double tl_softmax_ce_row(float *d, const float *z, const double *bias, double ybias, int y, int C, double gscale);

#endif
