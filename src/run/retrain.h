/* Stage 2 (decoupled classifier re-training, src/stage2) in the run layer: the options of `tailor
 * retrain` (shared with tl_retrain of the public API), their resolution, and the stage-2 section of a
 * report folder. */
#ifndef TL_RUN_RETRAIN_H
#define TL_RUN_RETRAIN_H
#include "run/options.h"
#include "stage2/stage2.h"

extern const tl_optdef tl_retrain_optdefs[];
extern const int tl_retrain_noptdefs;
/* The stage-2 settings from the options (epochs, batch, seed, threads, optim, schedule, sampler). */
int tl_retrain_cfg(const tl_opts *o, tl_stage2_cfg *cfg, tl_error *err);
/* Adds "stage2": {...} as the last member of dir/report.json and a "Stage 2" section to report.md
 * (both rewritten atomically); from names the stage-1 run. */
int tl_retrain_splice_report(const char *dir, const tl_stage2 *s, const char *from, const tl_stage2_cfg *cfg,
                             tl_error *err);

#endif
