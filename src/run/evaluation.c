/* tl_evaluation: a run's report on one split of a tl_data (tailor eval's), kept in memory, as
 * report.json text, metric getters, or a report folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "run/evaluate.h"
#include "run/predict.h"
#include "core/error.h"

/* The metrics and class names of e, computed or read back. */
static const tl_metrics *metrics(const tl_evaluation *e) { return e->read ? &e->rep.m : &e->m; }
static const char *const *names(const tl_evaluation *e) {
    return (const char *const *)(e->read ? e->rep.names : e->names);
}

void tl_evaluation_free(tl_evaluation *e) {
    if (!e) return;
    if (e->read) tl_report_free(&e->rep);
    tl_strings_free(e->names, e->m.C);
    tl_strings_free(e->open_names, e->norig);
    free(e->open_classes);
    free(e->known_classes);
    tl_metrics_free(&e->m);
    tl_opts_free(&e->cfg);
    free(e);
}

/* The open-set report's arrays, copied out of the data set they point into. */
static int keep_open(tl_evaluation *e, const tl_openset_report *o, const tl_data_bundle *b, tl_error *err) {
    e->has_open = 1;
    e->open = *o;
    e->open_classes = malloc((size_t)o->nunknown * sizeof *e->open_classes);
    e->known_classes = malloc((size_t)o->nknown * sizeof *e->known_classes);
    if (!e->open_classes || !e->known_classes) return tl_fail(err, "out of memory");
    memcpy(e->open_classes, o->unknown_classes, (size_t)o->nunknown * sizeof *e->open_classes);
    memcpy(e->known_classes, o->known_classes, (size_t)o->nknown * sizeof *e->known_classes);
    e->norig = b->unknown.num_classes;
    if (tl_strings_copy(&e->open_names, b->unknown.class_names, e->norig, err)) return -1;
    e->open.unknown_classes = e->open_classes;
    e->open.known_classes = e->known_classes;
    e->open.names = (const char *const *)e->open_names;
    return 0;
}

tl_evaluation *tl_evaluation_take(tl_metrics *m, const char *const *class_names, const tl_openset_report *open,
                                  const tl_data_bundle *b, tl_error *err) {
    tl_evaluation *e = calloc(1, sizeof *e);
    if (!e) { tl_fail(err, "out of memory"); return NULL; }
    e->m = *m;
    memset(m, 0, sizeof *m);
    e->train_seconds = e->images_per_second = NAN;
    if (tl_strings_copy(&e->names, (char *const *)class_names, e->m.C, err) || (open && keep_open(e, open, b, err))) {
        tl_evaluation_free(e);
        return NULL;
    }
    return e;
}

tl_evaluation *tl_evaluate(tl_run *r, tl_data *d, int split, const char *rule, tl_error *err) {
    const tl_dataset *sets[3] = {&d->b.train, &d->b.val, &d->b.test};
    if (split < TL_SPLIT_TRAIN || split > TL_SPLIT_TEST) {
        tl_fail(err, "tl_evaluate: split %d is not TL_SPLIT_TRAIN, _VAL or _TEST", split);
        return NULL;
    }
    const tl_dataset *s = sets[split];
    if (s->n == 0) { tl_fail(err, "tl_evaluate: the %s split is empty", split == TL_SPLIT_TEST ? "test" : split ? "val" : "train"); return NULL; }
    tl_evaluation *e = calloc(1, sizeof *e);
    if (!e) { tl_fail(err, "out of memory"); return NULL; }
    e->train_seconds = r->train_seconds;
    e->images_per_second = r->images_per_second;
    tl_posthoc p = {0};
    tl_model copy = {0}, *m = NULL;
    tl_openset_report open;
    const tl_data_bundle *b = split == TL_SPLIT_TEST && d->b.open.n ? &d->b : NULL;
    const int64_t *count = NULL;
    int rc = tl_opts_copy(&e->cfg, &r->cfg.o, err) || tl_run_data_input(r, d, err);
    if (!rc && !(count = tl_run_counts(r, d, err))) rc = -1;
    if (!rc && rule) rc = tl_run_rule(&p, r, rule, count, &d->b.val, err);
    if (!rc) rc = tl_run_model_for(r, rule ? &p : NULL, &copy, &m, err);
    if (!rc) rc = tl_eval_compute(m, s, r->mean, r->std, count, b, rule ? &p : NULL, &e->m, &open, err);
    if (!rc && rule) {
        snprintf(e->rule, sizeof e->rule, "%s", p.text);
        tl_posthoc_sweep_text(&p, e->sweep, sizeof e->sweep);
    }
    e->on_val = split == TL_SPLIT_VAL;
    if (!rc) rc = tl_strings_copy(&e->names, s->class_names, e->m.C, err);
    if (!rc && b) rc = keep_open(e, &open, b, err);
    tl_model_free(&copy);
    tl_posthoc_free(&p);
    if (rc) { tl_evaluation_free(e); return NULL; }
    return e;
}

double tl_evaluation_metric(const tl_evaluation *e, const char *name) {
    static const char *const names[] = {"accuracy", "balanced_accuracy", "macro_f1", "micro_f1", "ece", "many",
                                        "medium", "few", "head", "mid", "tail"};
    const tl_metrics *m = metrics(e);
    const double values[] = {m->accuracy, m->balanced_accuracy, m->macro_f1, m->micro_f1, m->ece, m->many,
                             m->medium, m->few, m->head, m->mid, m->tail};
    for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i])) return values[i];
    return NAN;
}

double tl_evaluation_class_recall(const tl_evaluation *e, int k) {
    const tl_metrics *m = metrics(e);
    return k >= 0 && k < m->C ? m->recall[k] : NAN;
}

/* The report's "run" section of e. */
static int info_of(tl_report_info *info, const tl_evaluation *e, tl_error *err) {
    if (e->read) {
        *info = e->rep.info;
        return 0;
    }
    if (tl_eval_info(info, &e->cfg, *e->rule ? e->rule : NULL, e->train_seconds, e->images_per_second,
                     e->has_open ? &e->open : NULL, err))
        return -1;
    if (*e->sweep && tl_report_info_set(info, "posthoc_sweep", e->sweep, err)) return -1;
    return e->on_val ? tl_report_info_set(info, "split", "val", err) : 0;
}

char *tl_evaluation_json(const tl_evaluation *e, tl_error *err) {
    tl_report_info info;
    if (info_of(&info, e, err)) return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) { tl_fail(err, "out of memory"); return NULL; }
    tl_report_print_json(f, metrics(e), names(e), &info);
    if (fclose(f) != 0) { free(text); tl_fail(err, "out of memory"); return NULL; }
    return text;
}

int tl_evaluation_write(const tl_evaluation *e, const char *dir, tl_error *err) {
    tl_report_info info;
    return info_of(&info, e, err) || tl_eval_write_dir(dir, metrics(e), names(e), &info, err) ? -1 : 0;
}

tl_evaluation *tl_evaluation_read(const char *path, tl_error *err) {
    tl_evaluation *e = calloc(1, sizeof *e);
    if (!e) { tl_fail(err, "out of memory"); return NULL; }
    char file[4200];
    size_t n = path ? strlen(path) : 0;
    int rc = path ? 0 : tl_fail(err, "tl_evaluation_read: no path given");
    /* A .json file as it is, else the report.json of a run or report folder. */
    if (!rc && n >= 5 && !strcmp(path + n - 5, ".json")) {
        if (n >= sizeof file) rc = tl_fail(err, "%s: path too long", path);
        else memcpy(file, path, n + 1);
    } else if (!rc) rc = tl_path_join(file, sizeof file, path, "report.json", err);
    if (rc || tl_report_read(&e->rep, file, err)) { free(e); return NULL; }
    e->read = 1;
    return e;
}

const char *tl_evaluation_run_value(const tl_evaluation *e, const char *key) {
    if (!key) return NULL;
    if (e->read) return tl_report_info_get(&e->rep.info, key);
    if (!strcmp(key, "posthoc")) return *e->rule ? e->rule : NULL;
    int i = tl_opt_find(&e->cfg, key);
    return i >= 0 && e->cfg.defs[i].in_config ? e->cfg.value[i] : NULL;
}

int tl_evaluation_num_classes(const tl_evaluation *e) { return metrics(e)->C; }

const char *tl_evaluation_class_name(const tl_evaluation *e, int k) {
    return names(e) && k >= 0 && k < metrics(e)->C ? names(e)[k] : NULL;
}

void tl_evaluation_print(FILE *f, const tl_evaluation *e) {
    tl_report_print(f, metrics(e), names(e));
    if (e->has_open) { fputc('\n', f); tl_report_print_open(f, &e->open); }
}

int tl_evaluation_print_compare(FILE *f, const tl_evaluation *a, const char *label_a, const tl_evaluation *b,
                                const char *label_b, tl_error *err) {
    return tl_report_print_compare(f, metrics(a), label_a, metrics(b), label_b, names(a), err);
}
