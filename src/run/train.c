#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run/train.h"
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"
#include "core/log.h"
#include "data/file.h"
#include "models/model_io.h"
#include "spec/spec.h"

/* The head: --head (one of its table), or the loss's own when --head is left at linear (LDAM gets
 * cosine:s=<its s>, tl_loss_default_head), written back into the options so config.json records the
 * head that was used. */
static int loss_head(tl_opts *o, tl_model_cfg *mcfg, tl_error *err) {
    if (tl_head_check(tl_opt(o, "head"), err) ||
        tl_loss_default_head(tl_opt(o, "loss"), tl_opt(o, "head"), mcfg->head, sizeof mcfg->head, err))
        return -1;
    return strcmp(mcfg->head, tl_opt(o, "head")) ? tl_opt_set(o, "head", mcfg->head, err) : 0;
}

/* --ssl sla[:keys] trains the sla head (src/heads/sla.c): the joint linear classifier over (class,
 * rotation) that takes the place of --head linear, with its own loss in place of --loss ce. The head
 * checks the keys and the image shape (messages name --ssl). */
static int ssl_head(const tl_opts *o, tl_model_cfg *mcfg, tl_error *err) {
    const char *ssl = tl_opt(o, "ssl");
    tl_spec spec;
    if (!strcmp(ssl, "none")) return 0;
    if (tl_spec_parse(&spec, ssl, "--ssl", err)) return -1;
    if (!tl_head_find(TL_HEADS_SSL, spec.name)) {
        int n;
        const tl_head_ops *const *t = tl_head_table(TL_HEADS_SSL, &n);
        char valid[200] = "none";
        for (int i = 0; i < n; i++) snprintf(valid + strlen(valid), sizeof valid - strlen(valid), ", %s", t[i]->name);
        return tl_fail(err, "--ssl: unknown name '%s' (valid: %s)", spec.name, valid);
    }
    if (strcmp(tl_opt(o, "head"), "linear") || strcmp(tl_opt(o, "loss"), "ce"))
        return tl_fail(err, "--ssl %s: its joint classifier is linear and trained with its own cross-entropy; leave --head linear and --loss ce", ssl);
    if (strcmp(tl_opt(o, "distill"), "none") || strcmp(tl_opt(o, "synth"), "none"))
        return tl_fail(err, "--ssl %s: cannot be combined with --distill or --synth", ssl);
    if ((size_t)snprintf(mcfg->head, sizeof mcfg->head, "%s", ssl) >= sizeof mcfg->head) return tl_fail(err, "--ssl: too long");
    return 0;
}

/* A run killed while writing a file leaves its "<file>.tmp-<pid>" behind (core/atomic_file.h); the
 * resumed run removes them, so the finished folder holds only complete files. */
static void remove_stale_tmp(const char *dir) {
    DIR *d = tl_dist_writes() ? opendir(dir) : NULL;  /* rank 0's own files: only it removes them */
    if (!d) return;
    char p[4400];
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp-") && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
    closedir(d);
}

/* Builds every part from the resolved options. */
static int setup(tl_opts *o, tl_data_bundle *data, int load, tl_model_cfg *mcfg, tl_train_cfg *tcfg, tl_error *err) {
    long val, epochs, batch, seed, threads, warmup, feat = 0;
    if (tl_opt_int(o, "val", 0, 1000000, &val, err) || tl_opt_int(o, "epochs", 1, 100000, &epochs, err) ||
        tl_opt_int(o, "batch", 1, 65536, &batch, err) || tl_opt_int(o, "seed", 0, 2147483647L, &seed, err) ||
        tl_opt_int(o, "threads", 1, 256, &threads, err) || tl_opt_int(o, "warmup", 0, 100000, &warmup, err))
        return -1;
    if (*tl_opt(o, "feat-dim") && tl_opt_int(o, "feat-dim", 1, 65536, &feat, err)) return -1;
    memset(tcfg, 0, sizeof *tcfg);
    if (tl_optim_parse(&tcfg->optim, tl_opt(o, "optim"), "--optim", err)) return -1;
    if (tl_schedule_parse(&tcfg->sched, tl_opt(o, "schedule"), "--schedule", err)) return -1;
    tcfg->sched.warmup = (int)warmup;
    if (load && tl_bundle_load_open(data, tl_opt(o, "data"), tl_opt(o, "lt"), val, tl_opt(o, "open"), err)) return -1;
    const tl_dataset *tr = &data->train;
    if (load && data->test.n == 0 && data->val.n == 0)
        return tl_fail(err, "--data %s: no test set (give csv:TRAIN,TEST or --val N)", tl_opt(o, "data"));
    if (tl_bundle_input(data, o, err)) return -1;
    const tl_input *in = &data->input;
    char channels[4];
    snprintf(channels, sizeof channels, "%d", tr->images ? in->c : 0);
    /* config.json records what was resolved, so eval, predict and --config see the same input. */
    if (tl_opt_set(o, "augment", in->aug.n ? in->aug.text : "none", err) ||
        tl_opt_set(o, "eval-transform", in->eval.n ? in->eval.text : "none", err) || (tr->images && tl_opt_set(o, "channels", channels, err)))
        return -1;
    tcfg->aug = in->aug;
    const char *norm = tl_opt(o, "normalize");
    if (strcmp(norm, "data") && strcmp(norm, "imagenet")) return tl_fail(err, "--normalize %s: must be data or imagenet", norm);
    tcfg->normalize = !strcmp(norm, "imagenet") ? TL_NORMALIZE_IMAGENET : TL_NORMALIZE_DATA;
    long workers = tl_loader_default_workers((int)threads);
    if (*tl_opt(o, "workers") && tl_opt_int(o, "workers", 0, 64, &workers, err)) return -1;
    tcfg->workers = (int)workers;
    if (tl_model_cfg_default(mcfg, tl_opt(o, "model"), in->c, in->h, in->w, tr->num_classes, err)) return -1;
    if ((size_t)snprintf(mcfg->head, sizeof mcfg->head, "%s", tl_opt(o, "head")) >= sizeof mcfg->head)
        return tl_fail(err, "--head: too long");
    if (loss_head(o, mcfg, err)) return -1;
    if (ssl_head(o, mcfg, err)) return -1;
    if (!strcmp(mcfg->arch, "mlp")) {
        tl_spec h;
        double sizes[8];
        int n = 0;
        char text[300];
        snprintf(text, sizeof text, "mlp:hidden=%s", tl_opt(o, "hidden"));
        if (tl_spec_parse(&h, text, "--hidden", err) || tl_spec_doubles(&h, "hidden", sizes, 8, &n, err)) return -1;
        mcfg->nhidden = n;
        for (int i = 0; i < n; i++) {
            if (sizes[i] < 1 || sizes[i] > 65536 || sizes[i] != (int)sizes[i]) return tl_fail(err, "--hidden: sizes must be integers in 1..65536");
            mcfg->hidden[i] = (int)sizes[i];
        }
        if (feat) mcfg->hidden[n - 1] = (int)feat;
    } else if (feat) {
        if (strcmp(mcfg->arch, "cnn") && !tl_resnet_is(mcfg->arch))
            return tl_fail(err, "--feat-dim: only the cnn, mlp and ImageNet ResNet models take it");
        mcfg->feat_dim = (int)feat;
    }
    tcfg->epochs = (int)epochs;
    tcfg->batch = (int)(batch < tr->n ? batch : tr->n);
    /* Under mpirun --batch stays the global batch: each process trains on its 1/P of every batch. */
    if (tcfg->batch % tl_dist_size())
        return tl_fail(err, "--batch %d does not divide among %d processes (mpirun -np %d)", tcfg->batch, tl_dist_size(),
                       tl_dist_size());
    tcfg->threads = (int)threads;
    tcfg->seed = (uint64_t)seed;
    return 0;
}

/* --freeze and --backbone-lr-mult as parameter groups: params [0, frozen) frozen, the rest of the
 * backbone at lr·mult, the head at lr; the frozen layers' BN in evaluation mode (tl_model_freeze). */
static int param_groups(const tl_opts *o, tl_model *m, tl_train_cfg *tcfg, tl_error *err) {
    const char *what = tl_opt(o, "freeze"), *ms = tl_opt(o, "backbone-lr-mult");
    char *end;
    double mult = strtod(ms, &end);
    if (end == ms || *end || !(mult >= 0) || !isfinite(mult))
        return tl_fail(err, "--backbone-lr-mult: '%s' is not a number >= 0", ms);
    size_t frozen = 0;
    if (strcmp(what, "none") && tl_model_freeze_end(m, what, &frozen, err)) return -1;
    tl_model_freeze(m, frozen);
    tcfg->ngroups = 0;
    tl_param_group g[3] = {{0, frozen, 1, 0, 1}, {frozen, m->head_begin, mult, 1, 0},
                           {m->head_begin, m->nparams, 1, 1, 0}};
    for (int i = 0; i < 3; i++)
        if (g[i].end > g[i].begin) tcfg->groups[tcfg->ngroups++] = g[i];
    return 0;
}

/* --init FILE: the model starts from its weights (t->init_note says which), and from its input
 * normalisation when it has one (pretrained weights expect theirs; else the training set's stays).
 * apply = 0 (a resumed run, its weights come from the checkpoint): the note only, from a one-image
 * copy of the model, so the report of a resumed run says what its start loaded too. */
static int init_from(const char *path, tl_training *t, int apply, tl_error *err) {
    tl_st_file f;
    tl_model scratch = {0}, *m = apply ? &t->model : &scratch;
    if (tl_st_read(&f, path, err)) return tl_fail_prefix(err, "--init");
    int rc = apply ? 0 : tl_model_init(&scratch, &t->mcfg, 1, t->tcfg.threads, t->tcfg.seed, err);
    if (!rc) rc = tl_model_init_weights(m, &f, path, t->init_note, sizeof t->init_note, err);
    if (!rc && apply && tl_st_meta(&f, "norm_mean") && tl_st_meta(&f, "norm_std"))
        rc = tl_model_norm_from_file(t->tr.mean, t->tr.std, t->model.cfg.in_c, &f, path, err);
    tl_st_free(&f);
    tl_model_free(&scratch);
    if (!rc && apply) tl_log(TL_LOG_INFO, "--init %s: %s", path, t->init_note);
    return rc;
}

/* The options that name training hooks (train/hook.h), in the order their hooks run. */
static const char *const hook_opts[TL_TRAINING_MAX_HOOKS] = {"synth", "distill"};

/* One hook per hook option that is not "none"; a --teacher that no hook uses is an error. */
static int create_hooks(const tl_opts *o, const tl_hook_env *env, tl_hook *hooks, int *n, tl_error *err) {
    char option[40];
    *n = 0;
    for (int i = 0; i < TL_TRAINING_MAX_HOOKS; i++) {
        if (!strcmp(tl_opt(o, hook_opts[i]), "none")) continue;
        snprintf(option, sizeof option, "--%s", hook_opts[i]);
        if (tl_hook_create(&hooks[*n], option, tl_opt(o, hook_opts[i]), env, err)) return -1;
        (*n)++;
    }
    if (*n == 0 && *tl_opt(o, "teacher")) return tl_fail(err, "--teacher is given but no --distill or --synth uses it");
    return 0;
}


int tl_training_setup(tl_training *t, tl_opts *o, tl_data_bundle *data, int load, tl_error *err) {
    memset(t, 0, sizeof *t);
    t->o = o;
    t->data = data;
    return setup(o, data, load, &t->mcfg, &t->tcfg, err);
}

int tl_training_build(tl_training *t, int init, tl_error *err) {
    tl_data_bundle *d = t->data;
    tl_opts *o = t->o;
    if (tl_sampler_create(&t->sampler, tl_opt(o, "sampler"), d->train.y, d->train.n, d->train.num_classes,
                          d->train_count, t->tcfg.epochs, err))
        return -1;
    if (t->sampler.ops->prepare) {
        if (t->sampler.ops->prepare(&t->sampler, &d->train, t->tcfg.seed, err)) return -1;
        tl_sampler_rebind(&t->sampler, d->train.y, d->train.n, d->train_count);
    }
    int P = tl_dist_size();
    if (tl_model_init(&t->model, &t->mcfg, t->tcfg.batch / P, t->tcfg.threads, t->tcfg.seed, err)) return -1;
    t->model.net.slice = tl_dist_rank();   /* this process's slice of every global batch (trainer.c) */
    t->model.net.slices = P;
    if (tl_loss_create(&t->loss, tl_opt(o, "loss"), t->mcfg.num_classes, d->train_count, &t->model.head, err)) return -1;
    if (t->loss.drw >= t->tcfg.epochs)   /* the deferred weights would never switch on */
        return tl_fail(err, "--loss %s: drw=%d is not before the last epoch (--epochs %d)", tl_opt(o, "loss"), t->loss.drw,
                       t->tcfg.epochs);
    tl_loss_init_model(&t->loss, &t->model);
    if (param_groups(o, &t->model, &t->tcfg, err)) return -1;
    if (tl_trainer_init(&t->tr, &t->model, &t->loss, &t->sampler, &t->tcfg, &d->train, err)) return -1;
    tl_hook_env env = {&t->model, &d->train, d->train_count, t->tr.mean, t->tr.std, tl_opt(o, "teacher"),
                       t->tcfg.epochs, t->tcfg.threads, t->tcfg.seed};
    if (create_hooks(o, &env, t->hooks, &t->tr.nhooks, err)) return -1;
    t->tr.hooks = t->hooks;
    if (*tl_opt(o, "init") && init) return init_from(tl_opt(o, "init"), t, 1, err);
    if (*tl_opt(o, "init")) {   /* resumed: the file may have moved since; the run does not need it */
        tl_error note_err;
        if (init_from(tl_opt(o, "init"), t, 0, &note_err)) {
            t->init_note[0] = 0;
            tl_log(TL_LOG_WARN, "the report cannot say what --init loaded: %s", note_err.msg);
        }
    }
    return 0;
}

int tl_training_resume(tl_training *t, const char *dir, const char *ckpt, tl_error *err) {
    remove_stale_tmp(dir);
    /* Killed before the first checkpoint was written: nothing to continue, start from epoch 0. */
    if (tl_file_exists(ckpt) && tl_trainer_load(&t->tr, ckpt, err)) return -1;
    tl_epoch_log *logs = NULL;
    int n = 0;
    if (*t->metrics_path && tl_file_exists(t->metrics_path) && tl_epoch_log_read(&logs, &n, t->metrics_path, err)) return -1;
    free(t->logs);
    t->logs = logs;
    t->nlogs = n < t->tr.prog.epoch ? n : t->tr.prog.epoch;
    t->cap = n;
    return 0;
}

/* The progress callback and the cancellation flag, polled after every step: either stops the trainer
 * after that step (a signal during set-up stops after the first). Under mpirun a signal reaches the
 * ranks at different steps: they agree every step, so all stop after the same one and rank 0 writes
 * one checkpoint; a rank that cannot agree (another died) stops too. */
static void poll_stop(tl_training *t, int want) {
    int stop = want || (t->cancel && *t->cancel) || t->stop;
    tl_error e;
    if (tl_dist_max_int(&stop, &e)) stop = 1;
    else if (stop) tl_dist_end_together();
    t->stop = stop;
}

static void on_step(void *p, const tl_step_info *s) {
    tl_training *t = p;
    int want = 0;
    if (t->progress) {
        tl_train_status st = {.epoch = s->epoch, .epochs = t->tcfg.epochs, .step = s->step, .steps = s->steps,
                              .loss = s->loss, .images_per_second = s->images_per_second, .lr = s->lr,
                              .train_loss = NAN, .train_accuracy = NAN, .val_accuracy = NAN,
                              .val_balanced_accuracy = NAN, .seconds = NAN};
        want = t->progress(t->user, &st);
    }
    poll_stop(t, want);
}

/* Rewrites metrics.jsonl whole (atomically) so a crash never leaves a torn line. */
static int write_metrics(const tl_training *t, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, t->metrics_path, err)) return -1;
    for (int i = 0; i < t->nlogs; i++) tl_metrics_line_write(af.f, &t->logs[i]);
    return tl_atomic_commit(&af, err);
}

static int on_epoch(void *p, const tl_epoch_log *e, tl_error *err) {
    tl_training *t = p;
    if (t->nlogs == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        tl_epoch_log *l = realloc(t->logs, (size_t)cap * sizeof *l);
        if (!l) return tl_fail(err, "out of memory");
        t->logs = l;
        t->cap = cap;
    }
    t->logs[t->nlogs++] = *e;
    int want = 0;
    if (t->progress) {
        tl_train_status st = {.epoch = e->epoch, .epochs = t->tcfg.epochs, .step = -1, .steps = -1, .epoch_end = 1,
                              .loss = e->train_loss, .images_per_second = e->images_per_second, .lr = e->lr,
                              .train_loss = e->train_loss, .train_accuracy = e->train_acc,
                              .val_accuracy = e->val_accuracy, .val_balanced_accuracy = e->val_balanced_accuracy,
                              .seconds = e->seconds};
        want = t->progress(t->user, &st);
    }
    poll_stop(t, want);
    return *t->metrics_path ? write_metrics(t, err) : 0;
}

int tl_training_run(tl_training *t, const char *ckpt, tl_error *err) {
    tl_train_hooks hooks = {on_step, on_epoch, &t->stop, t};
    poll_stop(t, 0);
    return tl_trainer_run(&t->tr, &t->data->train, t->data->val.n ? &t->data->val : NULL, ckpt, &hooks, err);
}

double tl_training_images_per_second(const tl_training *t) {
    double ips = 0;
    for (int i = 0; i < t->nlogs; i++) ips += t->logs[i].images_per_second / t->nlogs;
    return ips;
}

void tl_training_free(tl_training *t) {
    free(t->logs);
    for (int i = 0; i < t->tr.nhooks; i++) tl_hook_destroy(&t->hooks[i]);
    tl_trainer_free(&t->tr);
    tl_loss_destroy(&t->loss);
    tl_sampler_destroy(&t->sampler);
    tl_model_free(&t->model);
    memset(t, 0, sizeof *t);
}
