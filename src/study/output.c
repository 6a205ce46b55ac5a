#include <math.h>
#include <stdio.h>
#include <string.h>
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json.h"
#include "study/output.h"

static const char *kind_name(int k) { return k == TL_STUDY_TRAIN ? "train" : k == TL_STUDY_RETRAIN ? "retrain" : "posthoc"; }

/* The mean (and spread) of measure m over a result's seeds, validation or test. */
static void stat(const tl_study_result *x, int test, int m, double *mean, double *std) {
    double v[TL_STUDY_MAX_SEEDS];
    for (int s = 0; s < x->nseeds; s++) v[s] = test ? x->test[s][m] : x->val[s][m];
    tl_study_mean_std(v, x->nseeds, mean, std);
}

static void write_measures(FILE *f, const tl_study_result *x, int test) {
    fputc('{', f);
    for (int m = 0; m < TL_NMEASURES; m++) {
        double mean, std;
        stat(x, test, m, &mean, &std);
        fprintf(f, "%s\"%s\": ", m ? ", " : "", tl_measure_names[m]);
        tl_json_write_number(f, mean);
        fprintf(f, ", \"%s_std\": ", tl_measure_names[m]);
        tl_json_write_number(f, std);
    }
    fputc('}', f);
}

int tl_study_write_json(const char *path, const tl_study_summary *s, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    FILE *f = af.f;
    fputs("{\n  \"schema\": \"tailor-study/1\",\n  \"selected_on\": \"validation\",\n  \"metric\": ", f);
    tl_json_write_string(f, tl_measure_names[s->metric]);
    fputs(",\n  \"constraint\": ", f);
    tl_json_write_string(f, s->constraint);
    fputs(",\n  \"settings\": ", f);
    tl_json_write_string(f, s->settings);
    fprintf(f, ",\n  \"epochs\": %d,\n  \"study_seconds\": ", s->epochs);
    tl_json_write_number(f, s->seconds);
    fputs(",\n  \"choice\": ", f);
    if (!*s->best_run) fputs("null", f);
    else {
        const tl_study_result *w = &s->r[s->order[0]];
        fputs("{\"candidate\": ", f);
        tl_json_write_string(f, s->grid->c[w->cand].name);
        fputs(", \"run\": ", f);
        tl_json_write_string(f, s->best_run);
        fputs(", \"posthoc\": ", f);
        if (*s->best_posthoc) tl_json_write_string(f, s->best_posthoc);
        else fputs("null", f);
        fprintf(f, ", \"seed\": %d, \"validation_mean\": ", w->seed[w->best_seed]);
        tl_json_write_number(f, w->val_mean[s->metric]);
        fputs(", \"validation_std\": ", f);
        tl_json_write_number(f, w->val_std[s->metric]);
        fputc('}', f);
    }
    fputs(",\n  \"verdict\": ", f);
    tl_json_write_string(f, s->verdict);
    fputs(",\n  \"test\": ", f);
    tl_json_write_string(f, s->with_test ? "reported beside each candidate for information; not used for the choice, "
                                           "which was written to this file before any test number was read"
                                         : "not read yet: the choice above was made on the validation split alone");
    fputs(",\n  \"candidates\": [", f);
    for (int i = 0; i < s->n; i++) {
        const tl_study_result *x = &s->r[s->order[i]];
        const tl_study_candidate *c = &s->grid->c[x->cand];
        char cmd[2048];
        tl_study_command_text(s->grid, x->cand, x->epochs, cmd, sizeof cmd);
        fprintf(f, "%s\n    {\"rank\": %d, \"candidate\": ", i ? "," : "", i + 1);
        tl_json_write_string(f, c->name);
        fputs(", \"kind\": ", f);
        tl_json_write_string(f, kind_name(c->kind));
        fputs(", \"command\": ", f);
        tl_json_write_string(f, cmd);
        fprintf(f, ", \"epochs\": %d, \"pruned\": %s, \"feasible\": %s, \"seeds\": [", x->epochs,
                x->epochs < s->epochs ? "true" : "false", x->feasible ? "true" : "false");
        for (int k = 0; k < x->nseeds; k++) fprintf(f, "%s%d", k ? ", " : "", x->seed[k]);
        fputs("],\n     \"validation\": ", f);
        write_measures(f, x, 0);
        fputs(",\n     \"test\": ", f);
        if (s->with_test && x->have_test) write_measures(f, x, 1);
        else fputs("null", f);
        double mean, std;
        tl_study_mean_std(x->seconds, x->nseeds, &mean, &std);
        fputs(",\n     \"train_seconds\": ", f);
        tl_json_write_number(f, mean);
        fputc('}', f);
    }
    fputs("\n  ]\n}\n", f);
    return tl_atomic_commit(&af, err);
}

/* "87.90 ± 0.21" in percent, "n/a" when undefined. */
static const char *pct(char *buf, size_t cap, double mean, double std) {
    if (isnan(mean)) snprintf(buf, cap, "n/a");
    else if (isnan(std)) snprintf(buf, cap, "%.2f", 100 * mean);
    else snprintf(buf, cap, "%.2f ± %.2f", 100 * mean, 100 * std);
    return buf;
}

int tl_study_write_leaderboard(const char *path, const tl_study_summary *s, tl_error *err) {
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) return -1;
    FILE *f = af.f;
    const char *metric = tl_measure_names[s->metric];
    fprintf(f, "# Study leaderboard\n\nShared options: `%s`\n\nRanked by validation %s (mean ± sample std over "
               "seeds, in %%)", s->settings, metric);
    if (*s->constraint) fprintf(f, "; candidates whose validation means fail `--constraint %s` rank last", s->constraint);
    fputs(". The choice was written to study.json before any test number was read.\n\n", f);
    fprintf(f, "**Verdict.** %s\n\n", s->verdict);
    if (*s->best_run)
        fprintf(f, "The winning run folder is `best` (-> `%s`)%s%s%s.\n\n", s->best_run, *s->best_posthoc ? "; apply `--posthoc " : "",
                s->best_posthoc, *s->best_posthoc ? "` to it with `tailor eval --run best --posthoc RULE`" : "");
    fprintf(f, "Test-set columns (**not used for the choice**): balanced accuracy, macro F1, many/medium/few and "
               "head/mid/tail, means over the same seeds.\n\n");
    fprintf(f, "| rank | candidate | epochs | seeds | val %s | test bal. acc. | test macro F1 | many | medium | few | head | mid | tail | train s |\n",
            metric);
    fputs("|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
    for (int i = 0; i < s->n; i++) {
        const tl_study_result *x = &s->r[s->order[i]];
        char v[64], t[TL_NMEASURES][64];
        double mean, std;
        stat(x, 0, s->metric, &mean, &std);
        pct(v, sizeof v, mean, std);
        for (int m = 0; m < TL_NMEASURES; m++) {
            if (!(s->with_test && x->have_test)) { snprintf(t[m], sizeof t[m], "—"); continue; }
            stat(x, 1, m, &mean, &std);
            pct(t[m], sizeof t[m], mean, m == TL_MEASURE_BAL || m == TL_MEASURE_MACRO_F1 ? std : NAN);
        }
        tl_study_mean_std(x->seconds, x->nseeds, &mean, &std);
        fprintf(f, "| %d | %s%s | %d%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", i + 1,
                s->grid->c[x->cand].name, x->feasible ? "" : " (fails the constraint)", x->epochs,
                x->epochs < s->epochs ? " (pruned)" : "", x->nseeds, v, t[TL_MEASURE_BAL], t[TL_MEASURE_MACRO_F1],
                t[TL_MEASURE_MANY], t[TL_MEASURE_MEDIUM], t[TL_MEASURE_FEW], t[TL_MEASURE_HEAD], t[TL_MEASURE_MID],
                t[TL_MEASURE_TAIL], mean);
    }
    fputs("\n## Commands\n\nEach on top of the shared options (stage 2 and inference rules on their parent's run folders):\n\n", f);
    for (int i = 0; i < s->n; i++) {
        const tl_study_result *x = &s->r[s->order[i]];
        char cmd[2048];
        tl_study_command_text(s->grid, x->cand, x->epochs, cmd, sizeof cmd);
        fprintf(f, "- `%s`: `tailor %s`\n", s->grid->c[x->cand].name, cmd);
    }
    fprintf(f, "\nStudy time so far: %.0f s.\n", s->seconds);
    return tl_atomic_commit(&af, err);
}
