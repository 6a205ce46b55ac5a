/* tailor compare: two finished runs (or eval folders) side by side, from their report.json files:
 * headline metrics and per-class recall of A and B with the difference B − A. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "tailor.h"

static const char *usage_text =
    "usage: tailor compare RUN_A RUN_B [--labels A,B]\n\n"
    "  RUN_A, RUN_B   run or report folders holding report.json (or the report.json files)\n"
    "  --labels A,B   column names (default: each run's loss, its sampler when not instance, its post-hoc rule)\n";

/* "balanced-softmax", "ce + sampler class", "ce + logit-adjust:tau=1" from a report's run info. */
static void default_label(char *out, size_t cap, const tl_evaluation *r, const char *fallback) {
    const char *loss = tl_evaluation_run_value(r, "loss"), *sampler = tl_evaluation_run_value(r, "sampler");
    const char *posthoc = tl_evaluation_run_value(r, "posthoc");
    if (!loss) { snprintf(out, cap, "%s", fallback); return; }
    int k = snprintf(out, cap, "%s", loss);
    if (sampler && strcmp(sampler, "instance") && k < (int)cap) k += snprintf(out + k, cap - k, " + sampler %s", sampler);
    if (posthoc && k < (int)cap) snprintf(out + k, cap - k, " + %s", posthoc);
}

int tl_cmd_compare(int argc, char **argv) {
    const char *runs[2] = {NULL, NULL}, *labels = NULL;
    int nruns = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(usage_text, stdout); return 0; }
        if (!strcmp(argv[i], "--labels") && i + 1 < argc) { labels = argv[++i]; continue; }
        if (!strncmp(argv[i], "--labels=", 9)) { labels = argv[i] + 9; continue; }
        if (argv[i][0] == '-' || nruns == 2) {
            fprintf(stderr, "tailor: compare: unexpected argument '%s'\n%s", argv[i], usage_text);
            return 2;
        }
        runs[nruns++] = argv[i];
    }
    if (nruns != 2) { fprintf(stderr, "tailor: compare needs two runs\n%s", usage_text); return 2; }
    char la[128] = "", lb[128] = "";
    if (labels) {
        const char *comma = strchr(labels, ',');
        if (!comma || comma == labels || !comma[1] || comma - labels >= (long)sizeof la || strlen(comma + 1) >= sizeof lb) {
            fprintf(stderr, "tailor: compare --labels: give two names as A,B\n");
            return 2;
        }
        memcpy(la, labels, (size_t)(comma - labels));
        snprintf(lb, sizeof lb, "%s", comma + 1);
    }
    tl_error err = {{0}};
    tl_evaluation *r[2] = {NULL, NULL};
    int status = 1;
    for (int i = 0; i < 2; i++)
        if (!(r[i] = tl_evaluation_read(runs[i], &err))) goto done;
    if (!labels) {
        default_label(la, sizeof la, r[0], runs[0]);
        default_label(lb, sizeof lb, r[1], runs[1]);
        if (!strcmp(la, lb)) { snprintf(la, sizeof la, "A"); snprintf(lb, sizeof lb, "B"); }
    }
    printf("A: %s (%s)\nB: %s (%s)\n\n", la, runs[0], lb, runs[1]);
    if (tl_evaluation_print_compare(stdout, r[0], la, r[1], lb, &err)) goto done;
    status = 0;
done:
    if (status) fprintf(stderr, "tailor: %s\n", err.msg);
    tl_evaluation_free(r[0]);
    tl_evaluation_free(r[1]);
    return status;
}
