/* Self-distillation chains (`tailor distill`, docs/methods.md §10.3) in the run layer: where each
 * generation's run folder is and how far it got, and DIR/generations.md, the table of the chain. The
 * generations themselves are ordinary training jobs (tl_job_train). */
#include <stdio.h>
#include "tailor.h"
#include "run/bundle.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/file.h"
#include "eval/report.h"

int tl_distill_generation(const char *dir, int g, char *folder, size_t size, tl_error *err) {
    char partial[4300];
    if ((size_t)snprintf(folder, size, "%s/gen-%d", dir, g) >= size ||
        (size_t)snprintf(partial, sizeof partial, "%s.partial", folder) >= sizeof partial)
        return tl_fail(err, "--out %s: too long", dir);
    if (tl_path_exists(folder)) return 2;
    return tl_path_exists(partial) ? 1 : 0;
}

/* DIR/generations.md: one row per generation from its report.json. */
int tl_distill_summary(const char *dir, int generations, const char *gen0, tl_error *err) {
    char path[4300];
    if (tl_path_join(path, sizeof path, dir, "generations.md", err)) return -1;
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    fprintf(af.f, "| generation | run | balanced accuracy | macro F1 | accuracy |\n|---:|:---|---:|---:|---:|\n");
    for (int g = 0; g <= generations; g++) {
        char run[4200], rep[4400];
        tl_report r;
        if (g == 0) snprintf(run, sizeof run, "%s", gen0);
        else snprintf(run, sizeof run, "%s/gen-%d", dir, g);
        if (tl_path_join(rep, sizeof rep, run, "report.json", err) || tl_report_read(&r, rep, err)) {
            tl_atomic_abort(&af);
            return -1;
        }
        fprintf(af.f, "| %d | %s | %.2f | %.2f | %.2f |\n", g, run, 100 * r.m.balanced_accuracy, 100 * r.m.macro_f1,
                100 * r.m.accuracy);
        tl_report_free(&r);
    }
    return tl_atomic_commit(&af, err);
}
