/* The classifier weight-norm figure of docs/results.md (issue 6): per-class ‖w_c‖ of several runs'
 * linear heads in one weight_norms-style PNG, classes ordered by the first run's training counts.
 * Usage: weight_norms OUT.png TITLE LABEL=RUN_DIR [LABEL=RUN_DIR ...]   (split at the last '=') */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eval/report.h"
#include "models/model_io.h"
#include "stage2/stage2.h"

int main(int argc, char **argv) {
    if (argc < 4 || argc > 12) { fprintf(stderr, "usage: weight_norms OUT.png TITLE LABEL=RUN_DIR...\n"); return 2; }
    int n = argc - 3, C = 0;
    float *norms[9];
    const char *labels[9];
    tl_error err;
    tl_report rep;
    char path[4200];
    for (int k = 0; k < n; k++)
        if (!strchr(argv[3 + k], '=')) { fprintf(stderr, "weight_norms: %s is not LABEL=RUN_DIR\n", argv[3 + k]); return 2; }
    snprintf(path, sizeof path, "%s/report.json", strrchr(argv[3], '=') + 1);
    if (tl_report_read(&rep, path, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    for (int k = 0; k < n; k++) {
        char *eq = strrchr(argv[3 + k], '=');
        *eq = 0;
        labels[k] = argv[3 + k];
        snprintf(path, sizeof path, "%s/model.safetensors", eq + 1);
        tl_model m;
        if (tl_model_load(&m, path, 1, 1, NULL, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        const tl_tensor_info *w = tl_model_find(&m, "head.weight");
        if (m.head.ops != &tl_head_linear || !w) { fprintf(stderr, "weight_norms: %s: not a linear head\n", path); return 1; }
        C = m.cfg.num_classes;
        norms[k] = malloc((size_t)C * sizeof(float));
        tl_stage2_row_norms(norms[k], m.params + w->off, C, m.cfg.feat_dim);
        tl_model_free(&m);
    }
    int rc = tl_stage2_plot_norms(argv[1], (const float *const *)norms, labels, n, rep.m.train_count, C, argv[2], &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    for (int k = 0; k < n; k++) free(norms[k]);
    tl_report_free(&rep);
    return rc ? 1 : 0;
}
