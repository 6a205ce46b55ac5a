#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/clock.h"
#include "core/dist.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "eval/metrics.h"
#include "losses/softmax.h"
#include "models/model_io.h"
#include "train/trainer.h"

/* A batch's mean loss above this has diverged: the losses here start near log C (< 12 for the
 * 100000 classes a data set may have) and, with the largest published weights (margin scales,
 * KD's T^2, RKD's 25/50), stay within a few thousand. NaN and Inf go to the NaN trap below. */
#define TL_LOSS_DIVERGED 1e6

/* Streams derived from (seed, epoch, step), so a resumed run draws exactly what an uninterrupted one would. */
static void derive(tl_rng *r, uint64_t seed, int purpose, int epoch, int step) {
    tl_rng_seed(r, seed ^ ((uint64_t)(epoch + 1) << 32) ^ (uint64_t)(step + 1) * 0x9E3779B97F4A7C15ULL, (uint64_t)purpose);
}

int tl_trainer_init(tl_trainer *t, tl_model *m, tl_loss *loss, tl_sampler *sampler, const tl_train_cfg *cfg,
                    const tl_dataset *train, tl_error *err) {
    memset(t, 0, sizeof *t);
    t->model = m;
    t->loss = loss;
    t->sampler = sampler;
    t->cfg = *cfg;
    t->mean = malloc((size_t)train->c * sizeof *t->mean);
    t->std = malloc((size_t)train->c * sizeof *t->std);
    t->opt_state = calloc(tl_optim_state_floats(&cfg->optim, m->nparams) + 1, sizeof(float));
    if (!t->mean || !t->std || !t->opt_state) { tl_trainer_free(t); return tl_fail(err, "out of memory (trainer)"); }
    if (!cfg->ngroups) {
        t->cfg.groups[0] = (tl_param_group){.begin = 0, .end = m->nparams, .lr_mult = 1, .decay = 1};
        t->cfg.ngroups = 1;
    }
    if (tl_param_groups_check(t->cfg.groups, t->cfg.ngroups, m->nparams, err)) { tl_trainer_free(t); return -1; }
    if (cfg->normalize == TL_NORMALIZE_IMAGENET) {
        if (train->c != 3) { tl_trainer_free(t); return tl_fail(err, "--normalize imagenet: needs 3-channel images (the data has %d)", train->c); }
        tl_norm_imagenet(t->mean, t->std);
    } else if (tl_norm_stats(t->mean, t->std, train, err)) {
        tl_trainer_free(t);
        return -1;
    }
    return 0;
}

void tl_trainer_free(tl_trainer *t) {
    free(t->opt_state);
    free(t->mean);
    free(t->std);
    memset(t, 0, sizeof *t);
}

/* Finds where a non-finite value first appeared after a bad step: the first backbone op whose output
 * goes non-finite in a checked re-run of the forward, else the logits, else the first parameter
 * gradient. */
static void nan_trap(tl_model *m, tl_rng *drop, char *where, size_t cap) {
    int bad = tl_net_first_nonfinite(&m->net, m->params, m->state, 1, drop);
    if (bad >= 0) { snprintf(where, cap, "in the output of backbone op %d", bad); return; }
    for (size_t j = 0; j < (size_t)m->N * m->cfg.num_classes; j++)
        if (!isfinite(m->logits[j])) { snprintf(where, cap, "in the head's logits"); return; }
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        if (ti->is_state) continue;
        for (size_t j = 0; j < ti->numel; j++)
            if (!isfinite(m->grads[ti->off + j])) { snprintf(where, cap, "in the gradient of %s", ti->name); return; }
    }
    snprintf(where, cap, "in the loss");
}

/* NaN/Inf propagate through x·0, a finite x gives 0. Sixteen independent lanes, so the loop vectorises
 * (one float chain was a serial add per parameter: ~10% of a small mlp step). */
static int grads_finite(const tl_model *m) {
    enum { LANES = 16 };
    float acc[LANES] = {0};
    size_t n = m->nparams, j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += m->grads[j + k] * 0.0f;
    for (; j < n; j++) acc[0] += m->grads[j] * 0.0f;
    float all = 0;
    for (int k = 0; k < LANES; k++) all += acc[k];
    return all == 0;
}

static double validate(tl_trainer *t, const tl_dataset *val, double *bal, tl_error *err) {
    int *pred = malloc((size_t)val->n * sizeof *pred);
    if (!pred) { tl_fail(err, "out of memory"); return NAN; }
    if (tl_predict(t->model, val, t->mean, t->std, NULL, NULL, pred, err)) { free(pred); return NAN; }
    int C = val->num_classes;
    int64_t *hit = calloc(2 * (size_t)C, sizeof *hit), *cnt = hit + C, acc = 0;
    if (!hit) { free(pred); tl_fail(err, "out of memory"); return NAN; }
    for (int i = 0; i < val->n; i++) { cnt[val->y[i]]++; if (pred[i] == val->y[i]) { hit[val->y[i]]++; acc++; } }
    *bal = tl_balanced_accuracy(hit, 1, cnt, C);
    free(hit); free(pred);
    return (double)acc / val->n;
}

/* Data-parallel training (m->net.slices = P processes, this one slice m->net.slice): every rank
 * draws the same global order; rank r keeps rows [r·b, (r+1)·b) of each global batch of P·b, in
 * place (a kept row never moves forward). n: the global order's length, a multiple of P·b. */
static void keep_slice(int *order, int n, int b, int P, int r) {
    for (int s = 0; s < n / (P * b); s++)
        for (int i = 0; i < b; i++) order[s * b + i] = order[s * P * b + r * b + i];
}

/* The sum over the ranks of the step's loss and correct count (v[2], each rank's own on entry), and
 * of the gradients, scaled by 1/P so that they are the global batch's mean: every rank's loss is a
 * mean over its b rows (or, with class weights, over its share of the global weight sum: loss.h),
 * so the global loss is the mean of the ranks'. One process: nothing to do. */
static int sum_loss(double *v, int P, tl_error *err) {
    if (P == 1) return 0;
    if (tl_dist_sum_f64(v, 2, err)) return -1;
    v[0] /= P;
    return 0;
}

static int sum_grads(tl_model *m, int P, tl_error *err) {
    if (P == 1) return 0;
    if (tl_dist_sum_f32(m->grads, m->nparams, err)) return -1;
    const float inv = 1.0f / (float)P;
    for (size_t j = 0; j < m->nparams; j++) m->grads[j] *= inv;
    return 0;
}

/* With class weights on, a weighted mean divides by the global batch's weight sum: each rank's loss
 * is told that sum over P (loss.h batch_weight), so the ranks' mean is the global loss. */
static int share_weights(tl_loss *l, const int *y, int b, int P, tl_error *err) {
    l->batch_weight = 0;
    if (P == 1 || !l->weights_on) return 0;
    double w = 0;
    for (int i = 0; i < b; i++) w += l->w[y[i]];
    if (tl_dist_sum_f64(&w, 1, err)) return -1;
    l->batch_weight = w / P;
    return 0;
}

/* The global batch's sums (nn/nn.h: synchronised BatchNorm, the causal head's average) over the P
 * ranks, through the fixed-order ring sum. ctx: the tl_error a failure goes to. */
static int dist_batch_sum(double *v, size_t n, void *ctx) { return tl_dist_sum_f64(v, n, ctx); }

/* The sync of a P-rank run, its scratch sized for the widest BN layer (2·C doubles); sync->scratch
 * NULL: out of memory. */
static void batch_sync_init(tl_batch_sync *sync, const tl_model *m, int P, tl_error *err) {
    int widest = 1;
    for (int i = 0; i < m->net.nops; i++)
        if (m->net.ops[i].kind == TL_OP_BN && m->net.shape[m->net.ops[i].in].c > widest)
            widest = m->net.shape[m->net.ops[i].in].c;
    *sync = (tl_batch_sync){.ranks = P, .sum = dist_batch_sum, .ctx = err,
                            .scratch = malloc(2 * (size_t)widest * sizeof(double))};
}

/* The sampler of epoch e: the first hook that replaces --sampler for it (M2m), else --sampler. */
static tl_sampler *epoch_sampler(tl_trainer *t, int e) {
    for (int k = 0; k < t->nhooks; k++) {
        tl_sampler *s = t->hooks[k].ops->sampler ? t->hooks[k].ops->sampler(&t->hooks[k], e) : NULL;
        if (s) return s;
    }
    return t->sampler;
}

int tl_trainer_run(tl_trainer *t, const tl_dataset *train, const tl_dataset *val, const char *ckpt_path,
                   const tl_train_hooks *hooks, tl_error *err) {
    tl_model *m = t->model;
    const tl_train_cfg *cfg = &t->cfg;
    /* b rows here of a global batch of B = P·b (one process: P = 1, b = B). */
    int b = m->N, P = tl_model_slices(m), r = m->net.slice, B = b * P, C = m->cfg.num_classes;
    /* Tabular rows are a copy per batch: a loader thread only adds two hand-offs per step, which on a
     * busy machine each wait for a time slice (the Satellite mlp's 680 steps: 40 s of 0.5 s CPU). The
     * batches do not depend on the number of workers. */
    int workers = train->images ? cfg->workers : 0;
    tl_loader *L = tl_loader_create(train, t->mean, t->std, &cfg->aug, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w, b, cfg->seed,
                                    workers, err);
    if (L) tl_loader_slice(L, r * b);
    int capacity = t->sampler->capacity;
    for (int k = 0; k < t->nhooks; k++) capacity = t->hooks[k].capacity > capacity ? t->hooks[k].capacity : capacity;
    int *order = malloc((size_t)capacity * sizeof *order), *labels = malloc((size_t)b * sizeof *labels);
    tl_batch_sync sync = {0};
    if (P > 1) batch_sync_init(&sync, m, P, err);
    if (!L || !order || !labels || (P > 1 && !sync.scratch)) {
        tl_loader_free(L); free(order); free(labels); free(sync.scratch);
        return L ? tl_fail(err, "out of memory") : -1;
    }
    if (P > 1) tl_batch_sync_set(&sync);   /* until this function returns */
    size_t in_size = (size_t)b * m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
    int rc = 0;
    while (t->prog.epoch < cfg->epochs && rc == 0) {
        int e = t->prog.epoch;
        double epoch_start = tl_clock_seconds();
        tl_head_epoch he = {e, cfg->epochs, t->prog.step, t->prog.bn_steps, train, t->mean, t->std, cfg->seed};
        if (tl_head_epoch_begin(&m->head, &he, err)) { rc = -1; break; }
        tl_rng sampler;
        derive(&sampler, cfg->seed, TL_RNG_SAMPLER, e, 0);
        tl_sampler *smp = epoch_sampler(t, e);
        int steps = smp->ops->epoch(smp, order, e, &sampler) / B;
        if (steps < 1) { rc = tl_fail(err, "--batch %d is larger than an epoch of the sampler", B); break; }
        if (P > 1) keep_slice(order, steps * B, b, P, r);
        if (tl_loader_start(L, order, steps * b, e, t->prog.step, err)) { rc = -1; break; } /* resumed: mid-epoch */
        tl_loss_epoch(t->loss, e);
        const float *x;
        const int *y;
        double lr = cfg->optim.lr;
        double t0 = tl_clock_seconds();
        int seen_here = 0;
        for (int s = t->prog.step; s < steps; s++) {
            int got = tl_loader_next(L, &x, &y, err);
            if (got < 0) { rc = -1; break; }
            if (got != b) { rc = tl_fail(err, "internal: short batch"); break; }
            memcpy(tl_model_input(m), x, in_size * sizeof *x);
            memcpy(labels, y, (size_t)b * sizeof *y);
            y = labels;
            lr = tl_schedule_lr_at_step(&cfg->sched, cfg->optim.lr, e, cfg->epochs, s, steps);
            for (int k = 0; k < t->nhooks && rc == 0; k++)
                if (t->hooks[k].ops->batch) {
                    tl_rng hr;
                    derive(&hr, cfg->seed, TL_RNG_HOOK + k, e, s);
                    rc = t->hooks[k].ops->batch(&t->hooks[k], m, tl_model_input(m), labels, e, &hr, err);
                }
            if (rc) break;
            tl_rng drop;
            derive(&drop, cfg->seed, TL_RNG_DROPOUT, e, s);
            tl_model_zero_grad(m);
            if (tl_model_forward(m, 1, y, &drop, err) || sync.failed) { rc = -1; break; }
            t->prog.bn_steps++;
            if (share_weights(t->loss, y, b, P, err)) { rc = -1; break; }
            float *dfeat = m->net.grad[m->feat_buf];
            double loss = tl_head_train_loss(&m->head, t->loss, m->dlogits, m->logits, y, dfeat, m->grads,
                                             tl_model_features(m), m->params);
            for (int k = 0; k < t->nhooks && rc == 0; k++)
                if (t->hooks[k].ops->loss) rc = t->hooks[k].ops->loss(&t->hooks[k], m, y, &loss, dfeat, err);
            if (rc) break;
            double step_sum[2] = {loss, 0};   /* the global batch's loss and correct count */
            for (int i = 0; i < b; i++) step_sum[1] += tl_argmax(m->logits + (size_t)i * C, NULL, C) == y[i];
            if (sum_loss(step_sum, P, err)) { rc = -1; break; }
            loss = step_sum[0];
            if (fabs(loss) > TL_LOSS_DIVERGED) {
                rc = tl_fail(err, "training diverged at epoch %d, step %d: the loss is %g (over %g; lower --optim lr); the last checkpoint is kept",
                             e, s, loss, TL_LOSS_DIVERGED);
                break;
            }
            if (isfinite(loss) && (tl_model_backward(m, 1, y, 0, err) || sync.failed || sum_grads(m, P, err))) {
                rc = -1;
                break;
            }
            if (!isfinite(loss) || !grads_finite(m)) {
                char where[160];
                nan_trap(m, &drop, where, sizeof where);
                rc = tl_fail(err, "non-finite value at epoch %d, step %d, first %s (loss %g); the last checkpoint is kept",
                             e, s, where, loss);
                break;
            }
            t->prog.opt_steps++;
            tl_optim_step(m->params, t->opt_state, m->grads, m->nparams, cfg->groups, cfg->ngroups, &cfg->optim, lr,
                          t->prog.opt_steps, cfg->threads);
            tl_head_step_end(&m->head, m->params, m->state);
            t->prog.correct += step_sum[1];
            t->prog.loss_sum += loss * B;
            t->prog.seen += B;
            t->prog.step = s + 1;
            seen_here += B;
            double el = tl_clock_seconds() - t0;
            if (hooks && hooks->on_step) {
                tl_step_info si = {e, s, steps, loss, seen_here / (el > 0 ? el : 1e-9), lr};
                hooks->on_step(hooks->ctx, &si);
            }
            if (hooks && hooks->stop && *hooks->stop && s + 1 < steps) {
                t->prog.seconds += tl_clock_seconds() - t0;
                rc = ckpt_path && tl_trainer_save(t, ckpt_path, err) ? -1 : 1;
                break;
            }
        }
        if (rc) break;
        double train_time = tl_clock_seconds() - t0;
        t->prog.seconds += train_time;
        tl_epoch_log log = {.epoch = e, .lr = lr, .train_loss = t->prog.loss_sum / t->prog.seen,
                            .train_acc = t->prog.correct / t->prog.seen, .val_accuracy = NAN,
                            .val_balanced_accuracy = NAN, .images_per_second = seen_here / train_time};
        if (val && val->n > 0) {
            log.val_accuracy = validate(t, val, &log.val_balanced_accuracy, err);
            if (isnan(log.val_accuracy)) { rc = -1; break; }
        }
        log.seconds = tl_clock_seconds() - epoch_start;
        t->prog.epoch = e + 1;
        t->prog.step = 0;
        t->prog.loss_sum = t->prog.correct = 0;
        t->prog.seen = 0;
        if (hooks && hooks->on_epoch && hooks->on_epoch(hooks->ctx, &log, err)) { rc = -1; break; }
        if (ckpt_path && tl_trainer_save(t, ckpt_path, err)) { rc = -1; break; }
        if (hooks && hooks->stop && *hooks->stop && t->prog.epoch < cfg->epochs) rc = 1;
    }
    tl_batch_sync_set(NULL);
    /* The fixed-order sums leave every rank with the one model; a rank that differs trained on
     * something else, and rank 0 alone would save a model the job does not agree on. */
    if (rc == 0 && (tl_dist_same(m->params, m->nparams * sizeof *m->params, "trained parameters", err) ||
                    tl_dist_same(m->state, m->nstate * sizeof *m->state, "BatchNorm statistics", err)))
        rc = -1;
    free(sync.scratch);
    tl_loader_free(L);
    free(order);
    free(labels);
    return rc;
}

int tl_trainer_save(const tl_trainer *t, const char *path, tl_error *err) {
    const tl_model *m = t->model;
    size_t nstate = tl_optim_state_floats(&t->cfg.optim, m->nparams);
    int n = m->ntensors + 3;
    tl_st_tensor *ts = calloc((size_t)n, sizeof *ts);
    if (!ts) return tl_fail(err, "%s: out of memory", path);
    int k = 0;
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        ts[k] = (tl_st_tensor){.name = ti->name, .dtype = "F32", .ndim = ti->ndim,
                               .data = (ti->is_state ? m->state : m->params) + ti->off};
        for (int d = 0; d < ti->ndim; d++) ts[k].shape[d] = ti->shape[d];
        k++;
    }
    int nch = m->cfg.in_c;
    ts[k++] = (tl_st_tensor){.name = "trainer.optim_state", .dtype = "F32", .ndim = 1, .shape = {(int64_t)nstate}, .data = t->opt_state};
    ts[k++] = (tl_st_tensor){.name = "trainer.norm_mean", .dtype = "F32", .ndim = 1, .shape = {nch}, .data = t->mean};
    ts[k++] = (tl_st_tensor){.name = "trainer.norm_std", .dtype = "F32", .ndim = 1, .shape = {nch}, .data = t->std};
    const tl_train_progress *p = &t->prog;
    char epoch[32], step[32], opt[32], bn[32], secs[40], loss[40], corr[40], seen[32];
    snprintf(epoch, sizeof epoch, "%d", p->epoch);
    snprintf(step, sizeof step, "%d", p->step);
    snprintf(opt, sizeof opt, "%ld", p->opt_steps);
    snprintf(bn, sizeof bn, "%lld", p->bn_steps);
    snprintf(secs, sizeof secs, "%.17g", p->seconds);
    snprintf(loss, sizeof loss, "%.17g", p->loss_sum);
    snprintf(corr, sizeof corr, "%.17g", p->correct);
    snprintf(seen, sizeof seen, "%ld", p->seen);
    const char *meta[] = {"format", "tailor-checkpoint", "epoch", epoch, "step", step, "opt_steps", opt,
                          "bn_steps", bn, "seconds", secs, "loss_sum", loss, "correct", corr, "seen", seen};
    int rc = tl_st_write(path, ts, k, meta, (int)(sizeof meta / sizeof *meta / 2), err);
    free(ts);
    return tl_dist_agree(rc, "writing the checkpoint", err);  /* rank 0 writes; every rank learns how it went */
}

static int meta_num(const tl_st_file *f, const char *key, double *out, const char *path, tl_error *err) {
    const char *v = tl_st_meta(f, key);
    char *end;
    *out = v ? strtod(v, &end) : 0;
    if (!v || *end || !isfinite(*out)) return tl_fail(err, "%s: missing or bad checkpoint field '%s'", path, key);
    return 0;
}

int tl_trainer_load(tl_trainer *t, const char *path, tl_error *err) {
    tl_st_file f;
    if (tl_st_read(&f, path, err)) return -1;
    tl_model *m = t->model;
    const char *fmt = tl_st_meta(&f, "format");
    double v[8];
    static const char *keys[8] = {"epoch", "step", "opt_steps", "bn_steps", "seconds", "loss_sum", "correct", "seen"};
    int rc = fmt && !strcmp(fmt, "tailor-checkpoint") ? 0 : tl_fail(err, "%s: not a tailor checkpoint", path);
    for (int i = 0; rc == 0 && i < 8; i++) rc = meta_num(&f, keys[i], &v[i], path, err);
    /* Counters must be whole numbers in range before they are cast (a hostile file must not overflow them). */
    for (int i = 0; rc == 0 && i < 8; i++)
        if (i != 4 && i != 5 && (v[i] < 0 || v[i] > 1e15 || v[i] != floor(v[i])))
            rc = tl_fail(err, "%s: bad checkpoint field '%s'", path, keys[i]);
    if (rc == 0 && (v[0] > t->cfg.epochs || v[1] > 1e9))
        rc = tl_fail(err, "%s: checkpoint epoch %.0f / step %.0f is out of range for this run", path, v[0], v[1]);
    /* Copy the model tensors; the trainer.* tensors are checked one by one below. */
    for (int i = 0; rc == 0 && i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        const tl_st_tensor *s = tl_st_find(&f, ti->name);
        if (!s || strcmp(s->dtype, "F32") || (size_t)tl_st_numel(s) != ti->numel)
            rc = tl_fail(err, "%s: tensor '%s' is missing or has the wrong shape", path, ti->name);
        else
            memcpy((ti->is_state ? m->state : m->params) + ti->off, s->data, ti->numel * sizeof(float));
    }
    size_t nstate = tl_optim_state_floats(&t->cfg.optim, m->nparams);
    int nch = m->cfg.in_c;
    const tl_st_tensor *os = tl_st_find(&f, "trainer.optim_state"), *mean = tl_st_find(&f, "trainer.norm_mean"),
                       *sd = tl_st_find(&f, "trainer.norm_std");
    if (rc == 0 && (!os || (size_t)tl_st_numel(os) != nstate || !mean || tl_st_numel(mean) != nch || !sd ||
                    tl_st_numel(sd) != nch))
        rc = tl_fail(err, "%s: optimizer state or normalisation does not match this configuration", path);
    if (rc == 0) {
        memcpy(t->opt_state, os->data, nstate * sizeof(float));
        memcpy(t->mean, mean->data, (size_t)nch * sizeof(float));
        memcpy(t->std, sd->data, (size_t)nch * sizeof(float));
        /* A corrupt checkpoint must not resume into silent garbage. */
        rc = tl_model_check_values(m, path, err) ||
             tl_norm_check(t->mean, t->std, nch, path, "trainer.norm_mean", "trainer.norm_std", err);
        for (size_t j = 0; rc == 0 && j < nstate; j++)
            if (!isfinite(t->opt_state[j]))
                rc = tl_fail(err, "%s: tensor 'trainer.optim_state' holds a non-finite value (%g at element %zu)", path,
                             (double)t->opt_state[j], j);
    }
    if (rc == 0) {
        t->prog = (tl_train_progress){(int)v[0], (int)v[1], (long)v[2], (long long)v[3], v[4], v[5], v[6], (long)v[7]};
    }
    tl_st_free(&f);
    return rc;
}

int tl_eval_pass(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                 int head, int (*visit)(void *ctx, tl_model *m, int got, int done), void *ctx, tl_error *err) {
    int *order = idx ? NULL : malloc((size_t)(d->n ? d->n : 1) * sizeof *order);
    int workers = d->images ? tl_loader_default_workers(m->net.nthreads) : 0;
    tl_loader *L = idx || order ? tl_loader_create(d, mean, std, NULL, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w, m->N, 0,
                                                   workers, err) : NULL;
    if (!L) { free(order); return idx || order ? -1 : tl_fail(err, "out of memory"); }
    if (!idx) {
        for (int i = 0; i < d->n; i++) order[i] = i;
        n = d->n;
    }
    int rc = tl_loader_start(L, idx ? idx : order, n, 0, 0, err), done = 0, got = 0;
    size_t row = (size_t)m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
    const float *x;
    const int *y;
    while (rc == 0 && (got = tl_loader_next(L, &x, &y, err)) > 0) {
        memcpy(tl_model_input(m), x, (size_t)got * row * sizeof *x);
        if (head ? tl_model_forward(m, 0, NULL, NULL, err) : tl_model_backbone(m, 0, NULL, err)) { rc = -1; break; }
        rc = visit(ctx, m, got, done);
        done += got;
    }
    if (got < 0) rc = -1;
    tl_loader_free(L);
    free(order);
    return rc;
}

/* The features of each image as given (row i·views of the backbone's output). */
static int features_visit(void *p, tl_model *m, int got, int done) {
    float *out = p;
    size_t D = (size_t)m->cfg.feat_dim;
    for (int i = 0; i < got; i++)
        memcpy(out + (size_t)(done + i) * D, tl_model_features(m) + (size_t)i * m->views * D, D * sizeof *out);
    return 0;
}

int tl_eval_features(tl_model *m, const tl_dataset *d, const int *idx, int n, const float *mean, const float *std,
                     float *out, tl_error *err) {
    tl_eval_out o = {out, (size_t)m->cfg.feat_dim * sizeof *out};
    return tl_eval_pass_shared(m, d, idx, n, mean, std, 0, features_visit, out, &o, 1, err);
}

typedef struct { float *logits, *probs; int *pred; } predict_ctx;

static int predict_visit(void *p, tl_model *m, int got, int done) {
    predict_ctx *c = p;
    int C = m->cfg.num_classes;
    for (int i = 0; i < got; i++) c->pred[done + i] = tl_argmax(m->logits + (size_t)i * C, NULL, C);
    if (c->logits) memcpy(c->logits + (size_t)done * C, m->logits, (size_t)got * C * sizeof *c->logits);
    if (c->probs) tl_softmax(c->probs + (size_t)done * C, m->logits, got, C);
    return 0;
}

int tl_predict(tl_model *m, const tl_dataset *d, const float *mean, const float *std, float *logits, float *probs,
               int *pred, tl_error *err) {
    predict_ctx c = {logits, probs, pred};
    size_t C = (size_t)m->cfg.num_classes;
    tl_eval_out o[3] = {{logits, C * sizeof *logits}, {probs, C * sizeof *probs}, {pred, sizeof *pred}};
    return tl_eval_pass_shared(m, d, NULL, 0, mean, std, 1, predict_visit, &c, o, 3, err);
}
