/* Target-logit margin functions of the angular heads (docs/methods.md §4), scalar and in double. Each
 * returns φ(c) for the target cosine c and writes dφ/dc. Angles are taken after clamping c to
 * [−1+δ, 1−δ], δ = TL_MARGIN_DELTA (§0.2; the features are float32, so the float32 δ), and the clamp
 * passes no gradient outside that range (torch.clamp's rule: gradient 1 where −1+δ <= c <= 1−δ). */
#ifndef TL_HEADS_MARGIN_H
#define TL_HEADS_MARGIN_H

#define TL_MARGIN_DELTA 1e-7

/* ArcFace's rules for θ + m > π (§4.3, insightface arcface_torch losses.py commit 2e2e8c97):
 * hard: φ = cos(θ+m) if c > th = cos(π−m), else c − mm with mm = sin(π−m)·m;
 * easy: φ = cos(θ+m) if c > 0, else c;  none: φ = cos(θ+m) always (commit ede87b4a). */
enum { TL_ARC_HARD, TL_ARC_EASY, TL_ARC_NONE };
double tl_margin_arcface(double *dphi, double c, double m, int rule);

/* Combined margin φ = cos(m1·θ + m2) − m3 (§4.4). With fallback set, where m1·θ + m2 > π the linear
 * continuation φ = c − (c_th + 1 + m3), c_th = cos((π − m2)/m1), continuous at the switch. */
double tl_margin_combined(double *dphi, double c, double m1, double m2, double m3, int fallback);

/* SphereFace's ψ for integer m >= 1 (§4.1), without acos: ψ = (−1)^k T_m(c) − 2k, k = number of
 * j in 1..m−1 with c < cos(jπ/m), dψ/dc = (−1)^k T_m'(c) (Chebyshev polynomials by recurrence). */
double tl_margin_psi(double *dpsi, double c, int m);

/* ψ for real m >= 1 (§5.2b): θ = acos(c) clamped, k = min(⌊mθ/π⌋, ⌈m⌉ − 1),
 * ψ = (−1)^k cos(mθ) − 2k, dψ/dc = (−1)^k m sin(mθ)/sinθ. */
double tl_margin_psi_real(double *dpsi, double c, double m);

#endif
