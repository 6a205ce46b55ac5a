/* Stage 2 in the run layer (tailor retrain, tl_retrain): the options, their resolution into the
 * stage-2 settings, and the stage-2 section added to a report folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/retrain.h"
#include "core/atomic_file.h"
#include "core/dist.h"
#include "core/error.h"
#include "data/file.h"

const tl_optdef tl_retrain_optdefs[] = {
    {"run", NULL, "finished run folder (stage 1)", 0, 0, 1},
    {"method", NULL, "stage-2 method (the --method list below; tau without tau=T: T chosen on the run's --val split)", 0, 0, 0},
    {"sampler", "class:mode=aware,per_class=4", "crt, lws: sampler over the training features", 0, 0, 0},
    {"epochs", "", "crt, lws: epochs (default crt 10, lws 5)", 0, 0, 0},
    {"batch", "512", "crt, lws: batch size (capped at the training set size)", 0, 0, 0},
    {"optim", "sgd:lr=0.2,momentum=0.9,wd=5e-4", "crt, lws: optimizer", 0, 0, 0},
    {"schedule", "cosine", "crt, lws: learning-rate schedule", 0, 0, 0},
    {"seed", "0", "random seed (head initialisation, sampler)", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
    {"out", NULL, "run folder to create", 0, 0, 1},
    {"quiet", "", "no progress output", 1, 0, 1},
};
const int tl_retrain_noptdefs = (int)(sizeof tl_retrain_optdefs / sizeof *tl_retrain_optdefs);

int tl_retrain_cfg(const tl_opts *o, tl_stage2_cfg *cfg, tl_error *err) {
    long epochs = 0, batch, seed, threads;
    tl_stage2_cfg_default(cfg);
    if ((*tl_opt(o, "epochs") && tl_opt_int(o, "epochs", 1, 100000, &epochs, err)) ||
        tl_opt_int(o, "batch", 1, 65536, &batch, err) || tl_opt_int(o, "seed", 0, 2147483647L, &seed, err) ||
        tl_opt_int(o, "threads", 1, 256, &threads, err) ||
        tl_optim_parse(&cfg->optim, tl_opt(o, "optim"), "--optim", err) ||
        tl_schedule_parse(&cfg->sched, tl_opt(o, "schedule"), "--schedule", err))
        return -1;
    if ((size_t)snprintf(cfg->sampler, sizeof cfg->sampler, "%s", tl_opt(o, "sampler")) >= sizeof cfg->sampler)
        return tl_fail(err, "--sampler: too long");
    cfg->epochs = (int)epochs;
    cfg->batch = (int)batch;
    cfg->seed = (uint64_t)seed;
    cfg->threads = (int)threads;
    return 0;
}

int tl_retrain_splice_report(const char *dir, const tl_stage2 *s, const char *from, const tl_stage2_cfg *cfg, tl_error *err) {
    char path[4200], *text;
    int64_t len;
    tl_atomic_file af;
    if (!tl_dist_writes()) return 0;  /* it rewrites the report that rank 0 wrote */
    if (tl_path_join(path, sizeof path, dir, "report.json", err) ||
        tl_file_read((unsigned char **)&text, &len, path, err))
        return -1;
    char *end = strrchr(text, '}');
    if (!end) { free(text); return tl_fail(err, "%s: not a JSON object", path); }
    while (end > text && (end[-1] == '\n' || end[-1] == ' ')) end--;
    if (tl_atomic_open(&af, path, err)) { free(text); return -1; }
    fwrite(text, 1, (size_t)(end - text), af.f);
    fprintf(af.f, ",\n  \"stage2\": ");
    tl_stage2_write_json(af.f, s, from, cfg);
    fprintf(af.f, "\n}\n");
    free(text);
    if (tl_atomic_commit(&af, err)) return -1;
    if (tl_path_join(path, sizeof path, dir, "report.md", err) || tl_file_read((unsigned char **)&text, &len, path, err))
        return -1;
    if (tl_atomic_open(&af, path, err)) { free(text); return -1; }
    fwrite(text, 1, (size_t)len, af.f);
    free(text);
    tl_stage2_write_md(af.f, s, from, cfg);
    return tl_atomic_commit(&af, err);
}


