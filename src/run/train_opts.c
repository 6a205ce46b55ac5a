/* The options of `tailor train`: one table, shared by the command, the run configuration of the
 * public API (tl_config) and the commands that read a run folder's config.json. */
#include "run/train.h"
#include "data/file.h"

const tl_optdef tl_train_optdefs[] = {
    {"data", NULL, "data set: fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, csv:TRAIN[,TEST][,label=COL], list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt], folder:ROOT", 0, 1, 0},
    {"lt", "none", "long-tailed view: none, exp:IF, step:IF:CLASSES (even, upper or 1/3/5)", 0, 1, 0},
    {"val", "0", "hold out the last N images of each class as a balanced validation set", 0, 1, 0},
    {"open", "", "open set: these classes (e.g. 7,8,9) leave training and validation and are unknown at test time", 0, 1, 0},
    {"model", "cnn", "backbone (the --model list of tailor train --help; the ImageNet ResNets of torchvision need images of at least 32x32)", 0, 1, 0},
    {"feat-dim", "", "feature dimension D (cnn; mlp: last hidden size; the ImageNet ResNets: a linear projection to D)", 0, 1, 0},
    {"init", "", "start from the weights of this model file (a torchvision model converted by python/tailor_convert.py, or a run's model.safetensors); the classifier is new when its class count differs", 0, 1, 0},
    {"freeze", "none", "parameters not trained (BN in evaluation mode): none, backbone, stem, layer1 .. layer4 (the stem and the stages up to that one)", 0, 1, 0},
    {"backbone-lr-mult", "1", "learning-rate multiplier of the (unfrozen) backbone", 0, 1, 0},
    {"hidden", "256/128", "mlp hidden sizes", 0, 1, 0},
    {"head", "linear", "classifier head (the --head list of tailor train --help; --loss ldam with the default head uses cosine:s=<its s>)", 0, 1, 0},
    {"loss", "ce", "loss (the --loss list of tailor train --help, with the keys every loss takes)", 0, 1, 0},
    {"sampler", "instance", "sampler (the --sampler list of tailor train --help)", 0, 1, 0},
    {"teacher", "", "a finished run folder whose model is the teacher of --distill (or M2m's classifier g)", 0, 1, 0},
    {"distill", "none", "distillation from --teacher: none, or one of the --distill list of tailor train --help", 0, 1, 0},
    {"synth", "none", "synthesis of minority samples (g = --teacher): none, or one of the --synth list of tailor train --help", 0, 1, 0},
    {"ssl", "none", "self-supervision: none, or one of the --ssl list of tailor train --help (4 rotations of square images; a joint linear head over (class, rotation))", 0, 1, 0},
    {"optim", "sgd:lr=0.1,momentum=0.9,wd=5e-4", "optimizer: sgd:lr=,momentum=,wd=,nesterov= | adam:lr=,wd= | adamw:lr=,wd=", 0, 1, 0},
    {"schedule", "cosine", "learning-rate schedule: constant, cosine[:min=], step:milestones=A/B,gamma=G", 0, 1, 0},
    {"warmup", "0", "linear warm-up epochs", 0, 1, 0},
    {"augment", "default", "training transforms: default (crop,flip for images of one size; random-resized-crop:size=S,flip for image files; none for tabular), none, or a list of resize:size=, center-crop:size=, random-resized-crop:size=,scale=A/B,ratio=A/B, flip, color-jitter:brightness=,contrast=,saturation=, crop[:pad=P]", 0, 1, 0},
    {"eval-transform", "default", "evaluation and prediction transforms: default (none for images of one size; resize:size=S*256/224,center-crop:size=S for image files), none, or a list as for --augment without random items", 0, 1, 0},
    {"size", "", "image side S the default transforms produce (image files: 224; images of one size: their own, resized to S when given)", 0, 1, 0},
    {"channels", "", "1 or 3: images are converted to this many channels (default: the data's own; image files: 3 when at least half of the training images are colour)", 0, 1, 0},
    {"normalize", "data", "input normalisation: data (the training view's per-channel mean and std) or imagenet", 0, 1, 0},
    {"workers", "", "data loading threads (default: the cores left over by --threads, at least 1)", 0, 0, 0},
    {"cache-mb", "", "memory for decoded image files, in MiB (default: a quarter of the machine's memory; 0: decode on every visit)", 0, 0, 0},
    {"epochs", "15", "training epochs", 0, 1, 0},
    {"batch", "128", "batch size", 0, 1, 0},
    {"seed", "0", "random seed", 0, 1, 0},
    {"threads", "2", "threads", 0, 1, 0},
    {"out", NULL, "run folder to create", 0, 0, 1},
    {"resume", "", "continue the interrupted run in this folder (other options come from its config.json)", 0, 0, 1},
    {"quiet", "", "no progress output", 1, 0, 1},
};
const int tl_train_noptdefs = (int)(sizeof tl_train_optdefs / sizeof *tl_train_optdefs);

int tl_train_settings(tl_opts *run, const char *dir, tl_error *err) {
    char path[4200];
    char *args[] = {"--config", path, "--out", "-"};
    if (tl_path_join(path, sizeof path, dir, "config.json", err)) return -1;
    return tl_opts_parse(run, tl_train_optdefs, tl_train_noptdefs, 4, args, "train", err);
}

int tl_train_options_check(int argc, char **argv, tl_error *err) {
    tl_opts o;
    if (tl_opts_parse(&o, tl_train_optdefs, tl_train_noptdefs, argc, argv, "train", err)) return -1;
    tl_opts_free(&o);
    return 0;
}
