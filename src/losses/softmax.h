/* Numerically stable softmax primitives (methods.md §0.2) and softmax cross-entropy (§0.3). */
#ifndef TL_LOSSES_SOFTMAX_H
#define TL_LOSSES_SOFTMAX_H

/* log-sum-exp of z[0..C). */
double tl_logsumexp(const float *z, int C);
/* probs[N,C] = softmax(logits[N,C]) row-wise. */
void tl_softmax(float *probs, const float *logits, int N, int C);

/* Mean softmax cross-entropy: torch.nn.functional.cross_entropy(logits, y) (reduction mean).
 * Writes dlogits[N,C] = (softmax(z) - onehot(y)) / N (written, not accumulated: a loss starts the
 * backward chain) and returns the loss. dlogits may be NULL (evaluation). */
double tl_softmax_ce(float *dlogits, const float *logits, const int *y, int N, int C);

#endif
