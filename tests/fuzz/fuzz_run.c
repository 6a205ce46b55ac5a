/* Fuzz target: a run folder as `tailor eval`, `predict` and `train --resume` read it, the three files
 * together: config.json (through the train option table, src/run/train_opts.c), model.safetensors
 * (configuration, weights, normalisation, class names: src/models/model_io.c) and
 * checkpoint.safetensors (progress, optimizer state, normalisation: src/train/trainer.c).
 * Input: <split u16> <config> | <split u16> <model> | <checkpoint>, written into one folder under
 * /dev/shm (memory, removed at exit). Whatever loads must be finite and valid. Models claiming more
 * than a small size are only parsed, not built: building allocates the claimed model, which is the
 * caller's memory limit to police (tl_model_init refuses what exceeds the machine), not the parser's. */
#include <math.h>
#include "run/train.h"
#include "models/model_io.h"
#include "train/trainer.h"
#include "fuzz.h"

static char dir[64];

static void cleanup(void) {
    static const char *const names[] = {"config.json", "model.safetensors", "checkpoint.safetensors"};
    char p[128];
    for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s/%s", dir, names[i]); unlink(p); }
    rmdir(dir);
}

static const char *put(const char *name, const uint8_t *data, size_t size) {
    static char p[3][128];
    static int next;
    char *path = p[next++ % 3];
    snprintf(path, 128, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
    return path;
}

static void check_finite(const float *v, size_t n, int positive) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (positive && !(v[i] > 0))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/dev/shm/tailor-fuzz-run-XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(cleanup);
    }
    const uint8_t *cfg, *rest, *model, *ckpt;
    size_t ncfg, nrest, nmodel, nckpt;
    fuzz_split(data, size, &cfg, &ncfg, &rest, &nrest);
    fuzz_split(rest, nrest, &model, &nmodel, &ckpt, &nckpt);
    put("config.json", cfg, ncfg);
    const char *mpath = put("model.safetensors", model, nmodel), *cpath = put("checkpoint.safetensors", ckpt, nckpt);
    tl_error err;
    tl_opts run;
    int parsed = tl_train_settings(&run, dir, &err) == 0, have_run = parsed;
    tl_train_cfg tcfg = {0};
    long epochs = 0;
    if (have_run && (tl_opt_int(&run, "epochs", 1, 100000, &epochs, &err) ||
                     tl_optim_parse(&tcfg.optim, tl_opt(&run, "optim"), "--optim", &err)))
        have_run = 0;
    tcfg.epochs = (int)epochs;
    if (parsed) tl_opts_free(&run);

    tl_st_file f;
    tl_model_cfg mc;
    int small = 0;
    if (tl_st_read(&f, mpath, &err) == 0) {
        if (tl_model_cfg_from_file(&mc, &f, mpath, &err) == 0) {
            small = (long)mc.in_c * mc.in_h * mc.in_w <= 4096 && mc.num_classes <= 1000 && mc.feat_dim <= 256;
            for (int i = 0; i < mc.nhidden; i++) small &= mc.hidden[i] <= 256;
        }
        tl_st_free(&f);
    }
    tl_model m;
    float *mean = NULL, *std = NULL;
    if (small && tl_model_load(&m, mpath, 2, 1, &mean, &std, &err) == 0) {
        check_finite(m.params, m.nparams, 0);
        check_finite(m.state, m.nstate, 0);
        check_finite(mean, (size_t)m.cfg.in_c, 0);
        check_finite(std, (size_t)m.cfg.in_c, 1);
        char **names;
        if (tl_model_load_names(&names, mpath, m.cfg.num_classes, &err) == 0 && names) {
            for (int i = 0; i < m.cfg.num_classes; i++) { if (!names[i]) abort(); free(names[i]); }
            free(names);
        }
        if (have_run) {
            tl_trainer t = {0};
            t.model = &m;
            t.cfg = tcfg;
            size_t ns = tl_optim_state_floats(&tcfg.optim, m.nparams);
            t.opt_state = calloc(ns + 1, sizeof(float));
            t.mean = malloc(sizeof(float) * (size_t)m.cfg.in_c);
            t.std = malloc(sizeof(float) * (size_t)m.cfg.in_c);
            if (!t.opt_state || !t.mean || !t.std) abort();
            if (tl_trainer_load(&t, cpath, &err) == 0) {
                check_finite(t.opt_state, ns, 0);
                check_finite(t.std, (size_t)m.cfg.in_c, 1);
                check_finite(m.params, m.nparams, 0);
                if (t.prog.epoch > tcfg.epochs) abort();
            }
            tl_trainer_free(&t);
        }
        free(mean);
        free(std);
        tl_model_free(&m);
    }
    return 0;
}
