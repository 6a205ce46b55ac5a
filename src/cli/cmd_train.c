/* tailor train: load data, make the long-tailed view, train, evaluate, write the run folder.
 * The folder is built under OUT.partial and renamed to OUT only when complete; an interrupted run
 * leaves OUT.partial with a checkpoint that `tailor train --resume OUT` continues. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/run_dir.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/plot.h"
#include "eval/report.h"
#include "models/model_io.h"
#include "spec/spec.h"
#include "train/trainer.h"

static const tl_optdef train_opts[] = {
    {"data", NULL, "data set: fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, csv:TRAIN[,TEST][,label=COL], list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt], folder:ROOT", 0, 1},
    {"lt", "none", "long-tailed view: none, exp:IF, step:IF:CLASSES (even, upper or 1/3/5)", 0, 1},
    {"val", "0", "hold out the last N images of each class as a balanced validation set", 0, 1},
    {"open", "", "open set: these classes (e.g. 7,8,9) leave training and validation and are unknown at test time", 0, 1},
    {"model", "cnn", "backbone: cnn, resnet32, mlp, resnet10, resnet18, resnet34, resnet50, resnext50 (the ImageNet ResNets of torchvision, images of at least 32x32; key zero_init_residual=0|1)", 0, 1},
    {"feat-dim", "", "feature dimension D (cnn; mlp: last hidden size; the ImageNet ResNets: a linear projection to D)", 0, 1},
    {"init", "", "start from the weights of this model file (a torchvision model converted by python/tailor_convert.py, or a run's model.safetensors); the classifier is new when its class count differs", 0, 1},
    {"freeze", "none", "parameters not trained (BN in evaluation mode): none, backbone, stem, layer1 .. layer4 (the stem and the stages up to that one)", 0, 1},
    {"backbone-lr-mult", "1", "learning-rate multiplier of the (unfrozen) backbone", 0, 1},
    {"hidden", "256/128", "mlp hidden sizes", 0, 1},
    {"head", "linear", "classifier head: linear, cosine:s=, cosface:s=,m=, arcface:s=,m=, combined:s=,m1=,m2=,m3=, lsoftmax:m=, sphereface:m=, affinity:sigma=,lambda=,centres=, uniformface, adaptiveface, uncertainty, causal:heads=,tau=,gamma=,alpha=, rpl:points=,gamma=, gcpl (docs/cli.md lists every key; --loss ldam with the default head uses cosine:s=<its s>)", 0, 1},
    {"loss", "ce", "loss: ce, sigmoid[:gamma=], focal[:gamma=,variant=standard|ldam], ldam[:max_m=,s=], logit-adjust[:tau=], balanced-softmax; every loss takes weights=none|inverse|sqrt-inverse|effective, beta=, drw=EPOCH", 0, 1},
    {"sampler", "instance", "sampler: instance, class[:mode=weighted|aware,per_class=], sqrt, power:q=, progressive, oversample[:target=], undersample[:target=], smote[:k=,target=,space=input]", 0, 1},
    {"teacher", "", "a finished run folder whose model is the teacher of --distill (or M2m's classifier g)", 0, 1},
    {"distill", "none", "distillation from --teacher: none, kd[:T=4,alpha=1,task=1], rkd[:distance=1,angle=2,task=1,kd=0,T=4,normalize=0]", 0, 1},
    {"synth", "none", "synthesis: none, m2m[:beta=0.999,lambda=0.5,gamma=0.9,steps=10,eta=0.1,start=E] (g = --teacher)", 0, 1},
    {"ssl", "none", "self-supervised label augmentation: none, sla[:sd=0,T=1,large_loss=0,training_agg=0] (4 rotations of square images; a joint linear head over (class, rotation))", 0, 1},
    {"optim", "sgd:lr=0.1,momentum=0.9,wd=5e-4", "optimizer: sgd:lr=,momentum=,wd=,nesterov= | adam:lr=,wd= | adamw:lr=,wd=", 0, 1},
    {"schedule", "cosine", "learning-rate schedule: constant, cosine[:min=], step:milestones=A/B,gamma=G", 0, 1},
    {"warmup", "0", "linear warm-up epochs", 0, 1},
    {"augment", "default", "training transforms: default (crop,flip for images of one size; random-resized-crop:size=S,flip for image files; none for tabular), none, or a list of resize:size=, center-crop:size=, random-resized-crop:size=,scale=A/B,ratio=A/B, flip, color-jitter:brightness=,contrast=,saturation=, crop[:pad=P]", 0, 1},
    {"eval-transform", "default", "evaluation and prediction transforms: default (none for images of one size; resize:size=S*256/224,center-crop:size=S for image files), none, or a list as for --augment without random items", 0, 1},
    {"size", "", "image side S the default transforms produce (image files: 224; images of one size: their own, resized to S when given)", 0, 1},
    {"channels", "", "1 or 3: images are converted to this many channels (default: the data's own; image files: 3 when at least half of the training images are colour)", 0, 1},
    {"normalize", "data", "input normalisation: data (the training view's per-channel mean and std) or imagenet", 0, 1},
    {"workers", "", "data loading threads (default: the cores left over by --threads, at least 1)", 0, 0},
    {"cache-mb", "", "memory for decoded image files, in MiB (default: a quarter of the machine's memory; 0: decode on every visit)", 0, 0},
    {"epochs", "15", "training epochs", 0, 1},
    {"batch", "128", "batch size", 0, 1},
    {"seed", "0", "random seed", 0, 1},
    {"threads", "2", "threads", 0, 1},
    {"out", NULL, "run folder to create", 0, 0},
    {"resume", "", "continue the interrupted run in this folder (other options come from its config.json)", 0, 0},
    {"quiet", "", "no progress output", 1, 0},
};
#define NOPTS ((int)(sizeof train_opts / sizeof *train_opts))

int tl_train_settings(tl_opts *run, const char *dir, tl_error *err) {
    char path[4200];
    char *args[] = {"--config", path, "--out", "-"};
    if (tl_path_join(path, sizeof path, dir, "config.json", err)) return -1;
    return tl_opts_parse(run, train_opts, NOPTS, 4, args, "train", err);
}

int tl_train_options_check(int argc, char **argv, tl_error *err) {
    tl_opts o;
    if (tl_opts_parse(&o, train_opts, NOPTS, argc, argv, "train", err)) return -1;
    tl_opts_free(&o);
    return 0;
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

typedef struct {
    tl_progress bar;
    tl_epoch_log *logs;
    int nlogs, cap;
    char metrics_path[4200];
    int epochs;
} train_ctx;

static void on_step(void *p, const tl_step_info *s) {
    train_ctx *c = p;
    tl_progress_step(&c->bar, s->epoch, c->epochs, s->step, s->steps, s->loss, s->images_per_second);
}

/* Rewrites metrics.jsonl whole (atomically) so a crash never leaves a torn line. */
static int write_metrics(train_ctx *c, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, c->metrics_path, err)) return -1;
    for (int i = 0; i < c->nlogs; i++) tl_metrics_line_write(af.f, &c->logs[i]);
    return tl_atomic_commit(&af, err);
}

static int on_epoch(void *p, const tl_epoch_log *e, tl_error *err) {
    train_ctx *c = p;
    if (c->nlogs == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        tl_epoch_log *l = realloc(c->logs, (size_t)cap * sizeof *l);
        if (!l) return tl_fail(err, "out of memory");
        c->logs = l;
        c->cap = cap;
    }
    c->logs[c->nlogs++] = *e;
    tl_progress_epoch(&c->bar, e, c->epochs);
    return write_metrics(c, err);
}


/* LDAM needs a normalised head: with the default --head linear it gets cosine:s=<its s> (default 30),
 * written back into the options so config.json records the head that was used. */
static int ldam_head(tl_opts *o, tl_model_cfg *mcfg, tl_error *err) {
    tl_spec spec;
    double s;
    if (tl_spec_parse(&spec, tl_opt(o, "loss"), "--loss", err)) return -1;
    if (strcmp(spec.name, "ldam") || strcmp(tl_opt(o, "head"), "linear")) return 0;
    if (tl_spec_double(&spec, "s", 30, &s, err)) return -1;
    snprintf(mcfg->head, sizeof mcfg->head, "cosine:s=%.17g", s);
    return tl_opt_set(o, "head", mcfg->head, err);
}

/* --ssl sla[:keys] trains the sla head (src/heads/sla.c): the joint linear classifier over (class,
 * rotation) that takes the place of --head linear, with its own loss in place of --loss ce. The head
 * checks the keys and the image shape (messages name --ssl). */
static int ssl_head(const tl_opts *o, tl_model_cfg *mcfg, tl_error *err) {
    const char *ssl = tl_opt(o, "ssl");
    tl_spec spec;
    if (!strcmp(ssl, "none")) return 0;
    if (tl_spec_parse(&spec, ssl, "--ssl", err)) return -1;
    if (strcmp(spec.name, "sla")) return tl_fail(err, "--ssl: unknown name '%s' (valid: none, sla)", spec.name);
    if (strcmp(tl_opt(o, "head"), "linear") || strcmp(tl_opt(o, "loss"), "ce"))
        return tl_fail(err, "--ssl %s: its joint classifier is linear and trained with its own cross-entropy; leave --head linear and --loss ce", ssl);
    if (strcmp(tl_opt(o, "distill"), "none") || strcmp(tl_opt(o, "synth"), "none"))
        return tl_fail(err, "--ssl %s: cannot be combined with --distill or --synth", ssl);
    if ((size_t)snprintf(mcfg->head, sizeof mcfg->head, "%s", ssl) >= sizeof mcfg->head) return tl_fail(err, "--ssl: too long");
    return 0;
}

/* Sigmoid losses start the linear head's bias at l->bias_init (methods.md §3.4). */
static void init_bias(tl_model *m, const tl_loss *l) {
    const tl_tensor_info *b = tl_model_find(m, "head.bias");
    if (isnan(l->bias_init) || !b) return;
    for (size_t j = 0; j < b->numel; j++) m->params[b->off + j] = (float)l->bias_init;
}

/* A run killed while writing a file leaves its "<file>.tmp-<pid>" behind (core/atomic_file.h); the
 * resumed run removes them, so the finished folder holds only complete files. */
static void remove_stale_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    char p[4400];
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp-") && (size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
    closedir(d);
}

/* Builds every part from the resolved options. */
static int setup(tl_opts *o, tl_data_bundle *data, tl_model_cfg *mcfg, tl_train_cfg *tcfg, tl_error *err) {
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
    if (tl_bundle_load_open(data, tl_opt(o, "data"), tl_opt(o, "lt"), val, tl_opt(o, "open"), err)) return -1;
    const tl_dataset *tr = &data->train;
    if (data->test.n == 0 && data->val.n == 0)
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
    if (ldam_head(o, mcfg, err)) return -1;
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

/* --init FILE: the model starts from its weights (the note says which), and from its input
 * normalisation when it has one (pretrained weights expect theirs; else the training set's stays). */
static int init_from(const char *path, tl_model *m, tl_trainer *tr, tl_error *err) {
    tl_st_file f;
    char note[400];
    if (tl_st_read(&f, path, err)) return tl_fail_prefix(err, "--init");
    int rc = tl_model_init_weights(m, &f, path, note, sizeof note, err);
    if (!rc && tl_st_meta(&f, "norm_mean") && tl_st_meta(&f, "norm_std"))
        rc = tl_model_norm_from_file(tr->mean, tr->std, m->cfg.in_c, &f, path, err);
    tl_st_free(&f);
    if (!rc) printf("--init %s: %s\n", path, note);
    return rc;
}

/* The options that name training hooks (train/hook.h), in the order their hooks run. */
static const char *const hook_opts[] = {"synth", "distill"};
#define NHOOK_OPTS ((int)(sizeof hook_opts / sizeof *hook_opts))

/* One hook per hook option that is not "none"; a --teacher that no hook uses is an error. */
static int create_hooks(const tl_opts *o, const tl_hook_env *env, tl_hook *hooks, int *n, tl_error *err) {
    char option[40];
    *n = 0;
    for (int i = 0; i < NHOOK_OPTS; i++) {
        if (!strcmp(tl_opt(o, hook_opts[i]), "none")) continue;
        snprintf(option, sizeof option, "--%s", hook_opts[i]);
        if (tl_hook_create(&hooks[*n], option, tl_opt(o, hook_opts[i]), env, err)) return -1;
        (*n)++;
    }
    if (*n == 0 && *tl_opt(o, "teacher")) return tl_fail(err, "--teacher is given but no --distill or --synth uses it");
    return 0;
}

/* The options of `tailor train --resume DIR ...`: the run's own settings (DIR.partial/config.json).
 * A resumed run continues to the result the uninterrupted one would have reached, so any other option
 * given must repeat the run's value (the schedule, sampler and every random stream depend on them);
 * --quiet alone may change. */
static int resume_opts(tl_opts *o, const tl_run_dir *rd, int argc, char **argv, tl_error *err) {
    char path[4300];
    if (tl_path_join(path, sizeof path, rd->partial, "config.json", err)) return -1;
    if (!tl_file_exists(path))
        return tl_fail(err, "--resume %s: no interrupted run there (%s missing)", rd->out, path);
    char **args = malloc((size_t)(argc + 4) * sizeof *args);
    if (!args) return tl_fail(err, "out of memory");
    char *base[] = {"--config", path, "--out", (char *)rd->out};
    int n = 4;
    memcpy(args, base, sizeof base);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) { i++; continue; }
        if (strncmp(argv[i], "--resume=", 9)) args[n++] = argv[i];
    }
    tl_opts given;
    int rc = tl_opts_parse(&given, train_opts, NOPTS, n, args, "train", err);
    if (rc == 0) {
        args[4] = "--quiet";
        rc = tl_opts_parse(o, train_opts, NOPTS, *tl_opt(&given, "quiet") ? 5 : 4, args, "train", err);
        if (rc) tl_opts_free(&given);
    }
    free(args);
    if (rc) return -1;
    /* Every differing option in one message, with the command that would apply them. */
    char diff[300] = "", redo[300] = "";
    size_t nd = 0, nr = 0;
    for (int i = 0; i < NOPTS && rc == 0; i++) {
        const char *name = train_opts[i].name, *was = o->value[i], *now = given.value[i];
        if (!strcmp(was, now)) continue;
        if (!strcmp(name, "out"))
            rc = tl_fail(err, "--resume %s: --out %s conflicts with it: a resumed run is finished in %s; drop --out", rd->out, now, rd->out);
        if (nd < sizeof diff) nd += (size_t)snprintf(diff + nd, sizeof diff - nd, "%s--%s %s (the run's: '%s')", nd ? ", " : "", name, now, was);
        if (nr < sizeof redo) nr += (size_t)snprintf(redo + nr, sizeof redo - nr, " --%s %s", name, now);
    }
    if (!rc && nd)
        rc = tl_fail(err, "--resume %s: %s differ%s from the run's settings in %s; a resumed run keeps them: drop %s, or start a new run: "
                     "tailor train --config %s%s --out NEW", rd->out, diff, strchr(diff, ',') ? "" : "s", path,
                     strchr(diff, ',') ? "those options" : "that option", path, redo);
    tl_opts_free(&given);
    if (rc) tl_opts_free(o);
    return rc;
}

/* How a failed run that keeps its folder is finished (appended to the error of a kept run). */
static void print_kept(const tl_error *err, const tl_run_dir *rd) {
    fprintf(stderr, "tailor: %s; the run is kept in %s (its checkpoint included): once that is fixed, finish it with: tailor train --resume %s\n",
            err->msg, rd->partial, rd->out);
}

int tl_cmd_train(int argc, char **argv) {
    tl_error err = {{0}};
    tl_opts o;
    tl_run_dir rd;
    if (tl_opts_help(argc, argv, train_opts, NOPTS, "train", "--data SPEC --out DIR [options]")) return 0;
    /* --resume DIR (or DIR.partial): the settings come from DIR.partial/config.json. */
    const char *resume = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") && i + 1 < argc) resume = argv[i + 1];
        else if (!strncmp(argv[i], "--resume=", 9)) resume = argv[i] + 9;
    }
    char path[4400];
    int rc;
    if (resume) {
        char name[4096];
        size_t l = strlen(resume);
        snprintf(name, sizeof name, "%.*s", (int)(l > 8 && !strcmp(resume + l - 8, ".partial") ? l - 8 : l), resume);
        rc = tl_run_dir_init(&rd, name, "--resume", &err) || resume_opts(&o, &rd, argc, argv, &err);
        /* Locked before anything is read or cleaned, so a second resume of the same run is refused. */
        if (!rc && tl_run_dir_open(&rd, &err)) { tl_opts_free(&o); rc = -1; }
    } else {
        rc = tl_opts_parse(&o, train_opts, NOPTS, argc, argv, "train", &err);
        if (!rc && tl_run_dir_init(&rd, tl_opt(&o, "out"), "--out", &err)) { tl_opts_free(&o); rc = -1; }
    }
    if (rc) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    if (tl_run_dir_check_free(rd.out, rd.option, &err)) {
        fprintf(stderr, "tailor: %s%s\n", err.msg, resume ? "; move it away to finish the run in its .partial folder" : "");
        tl_run_dir_close(&rd, 0);
        tl_opts_free(&o);
        return 2;
    }
    snprintf(path, sizeof path, "an interrupted run: continue it with tailor train --resume %s, or remove it", rd.out);
    if (!resume && tl_run_dir_check_no_partial(&rd, path, &err)) {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_opts_free(&o);
        return 2;
    }

    /* From here on Ctrl-C asks for a clean stop: a signal during set-up stops after the first step. */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tl_data_bundle data = {0};
    tl_model_cfg mcfg;
    tl_train_cfg tcfg;
    tl_model model = {0};
    tl_loss loss = {0};
    tl_sampler sampler = {0};
    tl_trainer tr = {0};
    tl_hook hooks_[NHOOK_OPTS] = {{0}};
    train_ctx ctx = {0};
    char ckpt[4200] = "";
    int status = 1;
    if (setup(&o, &data, &mcfg, &tcfg, &err)) goto fail;
    if (!resume) {
        if (tl_run_dir_create(&rd, &err)) goto fail;
        tl_atomic_file af;
        if (tl_path_join(path, sizeof path, rd.partial, "config.json", &err) || tl_atomic_open(&af, path, &err)) goto fail;
        tl_opts_write_config(&o, af.f);
        if (tl_atomic_commit(&af, &err)) goto fail;
    }
    if (tl_sampler_create(&sampler, tl_opt(&o, "sampler"), data.train.y, data.train.n, data.train.num_classes,
                          data.train_count, tcfg.epochs, &err))
        goto fail;
    if (sampler.ops->prepare) {
        if (sampler.ops->prepare(&sampler, &data.train, tcfg.seed, &err)) goto fail;
        tl_sampler_rebind(&sampler, data.train.y, data.train.n, data.train_count);
    }
    if (tl_model_init(&model, &mcfg, tcfg.batch, tcfg.threads, tcfg.seed, &err)) goto fail;
    if (tl_loss_create(&loss, tl_opt(&o, "loss"), mcfg.num_classes, data.train_count, &model.head, &err)) goto fail;
    if (loss.drw >= tcfg.epochs) {   /* the deferred weights would never switch on */
        tl_fail(&err, "--loss %s: drw=%d is not before the last epoch (--epochs %d)", tl_opt(&o, "loss"), loss.drw, tcfg.epochs);
        goto fail;
    }
    init_bias(&model, &loss);
    if (param_groups(&o, &model, &tcfg, &err)) goto fail;
    if (tl_trainer_init(&tr, &model, &loss, &sampler, &tcfg, &data.train, &err)) goto fail;
    tl_hook_env env = {&model, &data.train, data.train_count, tr.mean, tr.std, tl_opt(&o, "teacher"), tcfg.epochs,
                       tcfg.threads, tcfg.seed};
    if (create_hooks(&o, &env, hooks_, &tr.nhooks, &err)) goto fail;
    tr.hooks = hooks_;
    if (tl_path_join(ckpt, sizeof ckpt, rd.partial, "checkpoint.safetensors", &err) ||
        tl_path_join(ctx.metrics_path, sizeof ctx.metrics_path, rd.partial, "metrics.jsonl", &err))
        goto fail;
    /* --init starts the run; a resumed run continues from its checkpoint (if it got to write one). */
    if (*tl_opt(&o, "init") && !(resume && tl_file_exists(ckpt)) && init_from(tl_opt(&o, "init"), &model, &tr, &err))
        goto fail;
    if (resume) {
        remove_stale_tmp(rd.partial);
        /* Killed before the first checkpoint was written: nothing to continue, start from epoch 0. */
        if (tl_file_exists(ckpt) && tl_trainer_load(&tr, ckpt, &err)) goto fail;
        tl_epoch_log *logs = NULL;
        int n = 0;
        if (tl_file_exists(ctx.metrics_path) && tl_epoch_log_read(&logs, &n, ctx.metrics_path, &err)) goto fail;
        ctx.logs = logs;
        ctx.nlogs = n < tr.prog.epoch ? n : tr.prog.epoch;
        ctx.cap = n;
    }
    ctx.epochs = tcfg.epochs;
    tl_progress_init(&ctx.bar, !!*tl_opt(&o, "quiet"));
    tl_train_hooks hooks = {on_step, on_epoch, &stop_flag, &ctx};
    int r = tl_trainer_run(&tr, &data.train, data.val.n ? &data.val : NULL, ckpt, &hooks, &err);
    tl_progress_done(&ctx.bar);
    if (r < 0) goto fail;
    if (r == 1) {
        fprintf(stderr, "tailor: stopped at epoch %d, step %d; continue with: tailor train --resume %s\n",
                tr.prog.epoch, tr.prog.step, rd.out);
        status = 130;
        goto done;
    }
    /* Final evaluation on the test set (the validation set when there is none), the model, plots. */
    double ips = 0;
    for (int i = 0; i < ctx.nlogs; i++) ips += ctx.logs[i].images_per_second / ctx.nlogs;
    tl_metrics met;
    tl_openset_report open;
    const tl_dataset *test = data.test.n ? &data.test : &data.val;
    if (tl_evaluate_open_to_dir(&model, &data, test, tr.mean, tr.std, rd.partial, &o, NULL, tr.prog.seconds, ips, &met,
                                &open, &err))
        goto fail;
    if (tl_path_join(path, sizeof path, rd.partial, "training_curves.png", &err) ||
        tl_plot_training_curves(path, ctx.logs, ctx.nlogs, "Training curves", &err) ||
        tl_path_join(path, sizeof path, rd.partial, "model.safetensors", &err) ||
        tl_model_save_named(&model, tr.prog.bn_steps, tr.mean, tr.std, (const char *const *)data.train.class_names, path, &err)) {
        tl_metrics_free(&met);
        goto fail;
    }
    for (int i = 0; i < tr.nhooks; i++)
        if (hooks_[i].ops->finish && hooks_[i].ops->finish(&hooks_[i], rd.partial, &err)) {
            tl_metrics_free(&met);
            goto fail;
        }
    tl_report_print(stdout, &met, (const char *const *)test->class_names);
    if (data.open.n) { fputc('\n', stdout); tl_report_print_open(stdout, &open); }
    tl_metrics_free(&met);
    if (tl_run_dir_commit(&rd, &err)) { fprintf(stderr, "tailor: %s\n", err.msg); goto done; }
    printf("\nrun folder: %s\n", rd.out);
    status = 0;
    goto done;
fail:
    /* Once a checkpoint exists the run is never thrown away: it resumes once the cause is fixed. */
    if (*ckpt && tl_file_exists(ckpt)) print_kept(&err, &rd);
    else {
        fprintf(stderr, "tailor: %s\n", err.msg);
        tl_run_dir_close(&rd, 1);
    }
done:
    tl_run_dir_close(&rd, 0);
    free(ctx.logs);
    for (int i = 0; i < tr.nhooks; i++) tl_hook_destroy(&hooks_[i]);
    tl_trainer_free(&tr);
    tl_loss_destroy(&loss);
    tl_sampler_destroy(&sampler);
    tl_model_free(&model);
    tl_bundle_free(&data);
    tl_opts_free(&o);
    return status;
}
