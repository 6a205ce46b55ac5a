/* Squared Euclidean distances to learnable points, shared by the RPL and GCPL heads (docs/methods.md §13,
 * the `Dist` module of iCGY96/ARPL). points [C·M, D]: row k·M + m is point m of class k.
 *   dist[i,k] = (1/M) Σ_m ‖x_i − q_{k,m}‖² / D
 * computed as a direct sum of squared differences (not ‖x‖² − 2x·q + ‖q‖², which can go negative). */
#ifndef TL_HEADS_POINTS_H
#define TL_HEADS_POINTS_H

/* dist [N, C] from feat [N, D] and points [C·M, D]; sums in double. */
void tl_point_dist_forward(float *dist, const float *feat, const float *points, int N, int D, int C, int M,
                           int nthreads);
/* Given G = ∂L/∂dist [N, C], accumulates
 *   dfeat[i]    += (2/(M·D)) Σ_k G[i,k] Σ_m (x_i − q_{k,m})
 *   dpoints[km] −= (2/(M·D)) Σ_i G[i,k] (x_i − q_{k,m})
 * (torch autograd of the forward). dfeat or dpoints may be NULL. */
void tl_point_dist_backward(float *dfeat, float *dpoints, const float *G, const float *feat, const float *points,
                            int N, int D, int C, int M, int nthreads);

#endif
