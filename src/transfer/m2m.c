/* M2m, major-to-minor translation (docs/methods.md §12): the kernels of m2m.h and the --synth m2m hook.
 *
 * The hook, from epoch `start` on: replaces --sampler with class-balanced over-sampling, and rewrites
 * each batch: rows drawn as generation slots get a seed from the same batch, are translated by `steps`
 * normalised gradient steps on CE(g(x), k) + λ·f_k0(x) (g = the frozen --teacher, f = the model being
 * trained, both in evaluation mode), and replaced by the result when g is confident (≥ γ) and the
 * seed's Bernoulli(P_accept) draw says yes; otherwise the original row stays (the fallback). All slots
 * of a batch run as one packed batch of the models' size, so a batch costs steps + 1 forwards and
 * steps backwards of g and of f. Every draw comes from the step's stream the trainer passes.
 *
 * Data-parallel (P ranks, each with b rows of the global batch of B = P·b): every rank gathers the
 * global batch's rows and labels, draws the plan, the random starts and the acceptance draws of all B
 * rows from the same stream (the one-process draws), and translates only the slots whose row is its
 * own, packed into its b-row batch; the translated slots are then gathered, so every rank keeps the
 * same counts and figure pairs. Each slot's translation depends on its own row only (both nets in
 * evaluation mode) and its step is normalised, so the result is the one process's up to rounding.
 *
 * At the end of the run the hook writes m2m.json (per-epoch counts of slots, generated and accepted
 * samples) and m2m_samples.png (up to 16 seed → generated pairs of the last generating epoch,
 * accepted ones first) into the run folder. Both cover the batches this job ran: after a resume,
 * the epochs before it are missing from the counts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"
#include "data/file.h"
#include "eval/plot_pairs.h"
#include "losses/softmax.h"
#include "train/hook.h"
#include "transfer/m2m.h"
#include "transfer/teacher.h"

/* ---- kernels ---- */

double tl_m2m_accept_prob(int64_t n_seed, int64_t n_target, double beta) {
    int64_t d = n_seed > n_target ? n_seed - n_target : 0;
    return 1.0 - pow(beta, (double)d);
}

int tl_m2m_plan(int *row, int *seed, double *accept, int *nslots, const int *y, int N, const int64_t *count, int C,
                double beta, tl_rng *rng) {
    int64_t nmax = 1;
    for (int c = 0; c < C; c++) nmax = count[c] > nmax ? count[c] : nmax;
    int n = 0;
    for (int i = 0; i < N; i++)
        if (tl_rng_uniform(rng) < 1.0 - (double)count[y[i]] / (double)nmax) row[n++] = i;
    *nslots = n;
    int S = 0;
    for (int s = 0; s < n; s++) {
        int64_t nk = count[y[row[s]]];
        double total = 0;
        for (int j = 0; j < N; j++) total += tl_m2m_accept_prob(count[y[j]], nk, beta);
        if (!(total > 0)) continue;
        double u = tl_rng_uniform(rng) * total, cum = 0;
        int pick = -1;
        for (int j = 0; j < N; j++) {
            double pa = tl_m2m_accept_prob(count[y[j]], nk, beta);
            if (pa <= 0) continue;
            pick = j;   /* the last candidate with mass, should rounding leave u ≥ the final cum */
            cum += pa;
            if (u < cum) break;
        }
        row[S] = row[s];
        seed[S] = pick;
        accept[S] = tl_m2m_accept_prob(count[y[pick]], nk, beta);
        S++;
    }
    return S;
}

void tl_m2m_random_start(float *p, const float *x0, int D, tl_rng *rng) {
    double ss = 0;
    for (int i = 0; i < D; i++) {
        p[i] = (float)(tl_rng_uniform(rng) - 0.5);
        ss += (double)p[i] * p[i];
    }
    double norm = sqrt(ss), f = norm > 0.5 ? 0.5 / (norm + 1e-7) : 1.0;
    for (int i = 0; i < D; i++) p[i] = fminf(fmaxf(x0[i] + (float)(f * p[i]), 0.0f), 1.0f);
}

void tl_m2m_step(float *p, const float *G, int S, int D, double eta) {
    for (int s = 0; s < S; s++) {
        float *ps = p + (size_t)s * D;
        const float *gs = G + (size_t)s * D;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)gs[i] * gs[i];
        float f = (float)(eta / (sqrt(ss) + 1e-10));
        for (int i = 0; i < D; i++) ps[i] = fminf(fmaxf(ps[i] - f * gs[i], 0.0f), 1.0f);
    }
}

/* Evaluation-mode forward of one net on the whole packed batch p, normalised its own way. */
static int net_forward(const tl_m2m_net *n, const float *p, float scale, tl_error *err) {
    tl_model *m = n->model;
    int c = m->cfg.in_c;
    size_t plane = (size_t)m->cfg.in_h * m->cfg.in_w;
    float *in = tl_model_input(m);
    for (int r = 0; r < m->N; r++)
        for (int ch = 0; ch < c; ch++) {
            float a = scale / n->std[ch], b = -n->mean[ch] / n->std[ch];
            size_t o = ((size_t)r * c + ch) * plane;
            for (size_t i = 0; i < plane; i++) in[o + i] = a * p[o + i] + b;
        }
    return tl_model_forward(m, 0, NULL, NULL, err);
}

/* After net_forward and with m->dlogits set: back to the input, G[rows < S] += ∂/∂p. */
static int net_input_grad(float *G, const tl_m2m_net *n, int S, float scale, tl_error *err) {
    tl_model *m = n->model;
    if (tl_model_input_grad(m, 0, err)) return -1;
    int c = m->cfg.in_c;
    size_t plane = (size_t)m->cfg.in_h * m->cfg.in_w;
    const float *dx = m->net.grad[0];
    for (int r = 0; r < S; r++)
        for (int ch = 0; ch < c; ch++) {
            float a = scale / n->std[ch];
            size_t o = ((size_t)r * c + ch) * plane;
            for (size_t i = 0; i < plane; i++) G[o + i] += a * dx[o + i];
        }
    return 0;
}

int tl_m2m_objective(double *loss, float *G, const tl_m2m_net *g, const tl_m2m_net *f, const float *p, const int *k,
                     const int *k0, int S, double lambda, float scale, tl_error *err) {
    tl_model *mf = f->model, *mg = g->model;
    int N = mf->N, C = mf->cfg.num_classes;
    size_t D = (size_t)mf->cfg.in_c * mf->cfg.in_h * mf->cfg.in_w;
    if (G) memset(G, 0, (size_t)N * D * sizeof *G);
    /* f first: g's logits stay for the caller */
    if (net_forward(f, p, scale, err)) return -1;
    double lf = 0;
    for (int j = 0; j < S; j++) lf += mf->logits[(size_t)j * C + k0[j]];
    if (G) {
        memset(mf->dlogits, 0, (size_t)N * C * sizeof *mf->dlogits);
        for (int j = 0; j < S; j++) mf->dlogits[(size_t)j * C + k0[j]] = (float)(lambda / S);
        if (net_input_grad(G, f, S, scale, err)) return -1;
    }
    if (net_forward(g, p, scale, err)) return -1;
    if (G) memset(mg->dlogits, 0, (size_t)N * C * sizeof *mg->dlogits);
    double ce = tl_softmax_ce(G ? mg->dlogits : NULL, mg->logits, k, S, C);
    if (G && net_input_grad(G, g, S, scale, err)) return -1;
    *loss = ce + lambda * lf / S;
    return 0;
}

/* ---- the hook ---- */

#define PAIRS 16          /* pairs kept for m2m_samples.png */
#define PIXEL_MAX 255.0f  /* image files hold pixels 0..255 (data/dataset.h) */

typedef struct {
    tl_teacher teacher;
    tl_m2m_net g, f;
    tl_sampler sampler;
    double beta, lambda, gamma, eta;
    int steps, start, epochs, N, C, D, c, h, w;
    int P, r, B;                         /* ranks, this rank's slice, the global batch P·N */
    const int64_t *count;
    const char *const *names;
    float *orig;                         /* [B, D]: the global batch as given */
    float *p, *G;                        /* [N, D]: this rank's packed slots, their gradient */
    float *rec;                          /* [B, D + 2]: each translated slot, its confidence and acceptance */
    float *scratch;                      /* [2, D]: a seed's pixels, another rank's random start */
    int *y, *row, *seed, *k, *k0;        /* [B]: the global labels, the plan */
    double *accept;                      /* [B] */
    int64_t (*counts)[3];                /* [epochs]: slots, generated, accepted */
    /* the pairs of the figure, from epoch pair_epoch */
    int npairs, pair_epoch;
    float *pair_seed, *pair_gen;         /* [PAIRS, D], [0, 1] pixels */
    int pair_k0[PAIRS], pair_k[PAIRS], pair_ok[PAIRS];
    float pair_conf[PAIRS];
} m2m_hook;

/* Normalised model input of f <-> [0, 1] pixels, per channel. */
static void to_pixels(const m2m_hook *h, float *p, const float *x) {
    size_t plane = (size_t)h->h * h->w;
    for (int ch = 0; ch < h->c; ch++)
        for (size_t i = 0; i < plane; i++)
            p[ch * plane + i] = (x[ch * plane + i] * h->f.std[ch] + h->f.mean[ch]) / PIXEL_MAX;
}

static void from_pixels(const m2m_hook *h, float *x, const float *p) {
    size_t plane = (size_t)h->h * h->w;
    for (int ch = 0; ch < h->c; ch++)
        for (size_t i = 0; i < plane; i++)
            x[ch * plane + i] = (PIXEL_MAX * p[ch * plane + i] - h->f.mean[ch]) / h->f.std[ch];
}

/* Keeps a pair for the figure: the first PAIRS of the epoch, accepted ones replacing rejected ones. */
static void keep_pair(m2m_hook *h, int epoch, const float *seed_x, const float *gen, int k0, int k, float conf,
                      int ok) {
    if (h->pair_epoch != epoch) { h->npairs = 0; h->pair_epoch = epoch; }
    int at = h->npairs < PAIRS ? h->npairs++ : -1;
    for (int i = 0; at < 0 && ok && i < PAIRS; i++) if (!h->pair_ok[i]) at = i;
    if (at < 0) return;
    to_pixels(h, h->pair_seed + (size_t)at * h->D, seed_x);
    memcpy(h->pair_gen + (size_t)at * h->D, gen, (size_t)h->D * sizeof *gen);
    h->pair_k0[at] = k0;
    h->pair_k[at] = k;
    h->pair_conf[at] = conf;
    h->pair_ok[at] = ok;
}

static int m2m_create(tl_hook *k, tl_spec *spec, const tl_hook_env *env, tl_error *err) {
    m2m_hook *h = calloc(1, sizeof *h);
    if (!h) return tl_fail(err, "out of memory");
    k->priv = h;
    int start_def = (2 * 160 * env->epochs + 200) / 400;   /* epoch 160 of 200, rounded half up (§0.6) */
    if (tl_spec_double(spec, "beta", 0.999, &h->beta, err) || tl_spec_double(spec, "lambda", 0.5, &h->lambda, err) ||
        tl_spec_double(spec, "gamma", 0.9, &h->gamma, err) || tl_spec_int(spec, "steps", 10, &h->steps, err) ||
        tl_spec_double(spec, "eta", 0.1, &h->eta, err) || tl_spec_int(spec, "start", start_def, &h->start, err))
        return -1;
    const tl_dataset *d = env->train;
    if (!d->images)
        return tl_spec_fail(err, spec, "needs image data (pixels 0..255); the data set has %d features per row", d->c);
    tl_model *m = env->model;
    h->N = m->N;
    h->C = m->cfg.num_classes;
    h->c = m->cfg.in_c;
    h->h = m->cfg.in_h;
    h->w = m->cfg.in_w;
    h->D = h->c * h->h * h->w;
    h->P = tl_model_slices(m);
    h->r = m->net.slice;
    h->B = h->P * h->N;
    h->epochs = env->epochs;
    h->count = env->count;
    h->names = (const char *const *)d->class_names;
    h->pair_epoch = -1;
    size_t nd = (size_t)h->N * h->D, bd = (size_t)h->B * h->D;
    h->orig = malloc(bd * sizeof(float));
    h->p = malloc(nd * sizeof(float));
    h->G = malloc(nd * sizeof(float));
    h->rec = malloc((bd + 2 * (size_t)h->B) * sizeof(float));
    h->scratch = malloc(2 * (size_t)h->D * sizeof(float));
    h->y = malloc(5 * (size_t)h->B * sizeof(int));
    h->accept = malloc((size_t)h->B * sizeof(double));
    h->counts = calloc((size_t)h->epochs, sizeof *h->counts);
    h->pair_seed = malloc(2 * (size_t)PAIRS * h->D * sizeof(float));
    if (!h->orig || !h->p || !h->G || !h->rec || !h->scratch || !h->y || !h->accept || !h->counts || !h->pair_seed)
        return tl_fail(err, "out of memory");
    h->row = h->y + h->B;
    h->seed = h->row + h->B;
    h->k = h->seed + h->B;
    h->k0 = h->k + h->B;
    h->pair_gen = h->pair_seed + (size_t)PAIRS * h->D;
    if (tl_sampler_create(&h->sampler, "class", d->y, d->n, h->C, env->count, env->epochs, err)) return -1;
    k->capacity = h->sampler.capacity;
    if (tl_teacher_for_hook(&h->teacher, spec, env, 1, err)) return -1;
    h->g = (tl_m2m_net){&h->teacher.model, h->teacher.mean, h->teacher.std};
    h->f = (tl_m2m_net){m, env->mean, env->std};
    return 0;
}

static tl_sampler *m2m_sampler(tl_hook *k, int epoch) {
    m2m_hook *h = k->priv;
    return epoch >= h->start ? &h->sampler : NULL;
}

static int m2m_batch(tl_hook *k, tl_model *m, float *x, int *y, int epoch, tl_rng *rng, tl_error *err) {
    (void)m;
    m2m_hook *h = k->priv;
    if (epoch < h->start) return 0;
    size_t D = (size_t)h->D, rec = D + 2;
    /* x may be f's input buffer, which f's passes overwrite: the global batch is kept in orig. */
    if (tl_dist_allgather(x, (size_t)h->N * D * sizeof *x, h->orig, err) ||
        tl_dist_allgather(y, (size_t)h->N * sizeof *y, h->y, err))
        return tl_fail_prefix(err, "--synth m2m");
    int nslots, S = tl_m2m_plan(h->row, h->seed, h->accept, &nslots, h->y, h->B, h->count, h->C, h->beta, rng);
    int64_t *cnt = h->counts[epoch];
    cnt[0] += nslots;
    cnt[1] += S;
    if (S == 0) return 0;
    /* This rank's slots [s0, s1): those whose row is in its slice (rows ascend with s). */
    int lo = h->r * h->N, s0 = 0, s1;
    while (s0 < S && h->row[s0] < lo) s0++;
    for (s1 = s0; s1 < S && h->row[s1] < lo + h->N; s1++) {}
    int Sr = s1 - s0;
    for (int s = 0; s < S; s++) {
        to_pixels(h, h->scratch, h->orig + h->seed[s] * D);
        float *start = s >= s0 && s < s1 ? h->p + (s - s0) * D : h->scratch + D;
        tl_m2m_random_start(start, h->scratch, h->D, rng);
        h->k[s] = h->y[h->row[s]];
        h->k0[s] = h->y[h->seed[s]];
    }
    memset(h->p + Sr * D, 0, (size_t)(h->N - Sr) * D * sizeof *h->p);
    for (int t = 0; t < h->steps && Sr > 0; t++) {
        double L;
        if (tl_m2m_objective(&L, h->G, &h->g, &h->f, h->p, h->k + s0, h->k0 + s0, Sr, h->lambda, PIXEL_MAX, err))
            return tl_fail_prefix(err, "--synth m2m");
        tl_m2m_step(h->p, h->G, Sr, h->D, h->eta);
    }
    if (Sr > 0 && net_forward(&h->g, h->p, PIXEL_MAX, err)) return tl_fail_prefix(err, "--synth m2m");
    memcpy(x, h->orig + (size_t)lo * D, (size_t)h->N * D * sizeof *x);
    /* Every slot's acceptance draw, in slot order on every rank; this rank's slots recorded. */
    for (int s = 0; s < S; s++) {
        double u = tl_rng_uniform(rng);
        if (s < s0 || s >= s1) continue;
        const float *z = h->g.model->logits + (size_t)(s - s0) * h->C;
        float conf = (float)exp(z[h->k[s]] - tl_logsumexp(z, h->C)), *o = h->rec + s * rec;
        memcpy(o, h->p + (s - s0) * D, D * sizeof *o);
        o[D] = conf;
        o[D + 1] = u < h->accept[s] && conf >= h->gamma;
    }
    size_t counts[h->P];
    for (int q = 0, s = 0; q < h->P; q++) {
        int e = s;
        while (e < S && h->row[e] < (q + 1) * h->N) e++;
        counts[q] = (size_t)(e - s) * rec * sizeof *h->rec;
        s = e;
    }
    if (tl_dist_allgatherv(h->rec + s0 * rec, counts, h->rec, err)) return tl_fail_prefix(err, "--synth m2m");
    for (int s = 0; s < S; s++) {
        const float *o = h->rec + s * rec;
        int ok = o[D + 1] != 0;
        if (ok) {
            if (s >= s0 && s < s1) from_pixels(h, x + (h->row[s] - lo) * D, o);
            cnt[2]++;
        }
        keep_pair(h, epoch, h->orig + h->seed[s] * D, o, h->k0[s], h->k[s], o[D], ok);
    }
    return 0;
}

static int write_counts(const m2m_hook *h, const char *path, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    fprintf(af.f, "{\"start\": %d, \"epochs\": [", h->start);
    int first = 1;
    for (int e = h->start; e < h->epochs; e++) {
        const int64_t *c = h->counts[e];
        if (!c[0] && !c[1] && !c[2]) continue;
        fprintf(af.f, "%s\n  {\"epoch\": %d, \"slots\": %lld, \"generated\": %lld, \"accepted\": %lld}",
                first ? "" : ",", e, (long long)c[0], (long long)c[1], (long long)c[2]);
        first = 0;
    }
    fprintf(af.f, "%s]}\n", first ? "" : "\n");
    return tl_atomic_commit(&af, err);
}

static int write_figure(const m2m_hook *h, const char *path, tl_error *err) {
    char cap[2][PAIRS][96], name[2][64], title[160];
    const char *ca[PAIRS], *cb[PAIRS];
    for (int i = 0; i < h->npairs; i++) {
        for (int j = 0; j < 2; j++) {
            int c = j ? h->pair_k[i] : h->pair_k0[i];
            if (h->names) snprintf(name[j], sizeof name[j], "%s", h->names[c]);
            else snprintf(name[j], sizeof name[j], "class %d", c);
        }
        snprintf(cap[0][i], sizeof cap[0][i], "%s", name[0]);
        snprintf(cap[1][i], sizeof cap[1][i], "%s (g: %.2f)", name[1], h->pair_conf[i]);
        ca[i] = cap[0][i];
        cb[i] = cap[1][i];
    }
    const int64_t *c = h->counts[h->pair_epoch];
    snprintf(title, sizeof title, "M2m, epoch %d: seed → generated (green: accepted, red: rejected; %lld of %lld accepted)",
             h->pair_epoch + 1, (long long)c[2], (long long)c[1]);
    return tl_plot_image_pairs(path, h->pair_seed, h->pair_gen, h->npairs, h->c, h->h, h->w, ca, cb, h->pair_ok,
                               title, err);
}

static int m2m_finish(tl_hook *k, const char *dir, tl_error *err) {
    m2m_hook *h = k->priv;
    char path[4200];
    if (tl_path_join(path, sizeof path, dir, "m2m.json", err) || write_counts(h, path, err)) return -1;
    if (h->npairs == 0) return 0;
    return tl_path_join(path, sizeof path, dir, "m2m_samples.png", err) || write_figure(h, path, err) ? -1 : 0;
}

static void m2m_destroy(tl_hook *k) {
    m2m_hook *h = k->priv;
    if (!h) return;
    tl_teacher_close(&h->teacher);
    tl_sampler_destroy(&h->sampler);
    free(h->orig);
    free(h->p);
    free(h->G);
    free(h->rec);
    free(h->scratch);
    free(h->y);
    free(h->accept);
    free(h->counts);
    free(h->pair_seed);
    free(h);
}

const tl_hook_ops tl_hook_m2m = {.name = "m2m", .option = "--synth", .create = m2m_create, .sampler = m2m_sampler,
                                 .batch = m2m_batch, .finish = m2m_finish, .destroy = m2m_destroy,
    .keys = "beta=0.999,lambda=0.5,gamma=0.9,steps=10,eta=0.1,start=E",
    .help = "major-to-minor translation: from epoch start (E: 160/200 of the run), batch rows become minority samples translated from majority seeds by --teacher"};
