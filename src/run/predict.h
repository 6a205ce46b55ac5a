/* The run layer's prediction helpers, shared by prediction and evaluation of the public API. */
#ifndef TL_RUN_PREDICT_H
#define TL_RUN_PREDICT_H
#include "eval/posthoc.h"
#include "run/handles.h"

/* Configures d's input for r's options (transforms, channels) and checks it fits r's model. */
int tl_run_data_input(tl_run *r, tl_data *d, tl_error *err);
/* Creates the inference rule spec for r with training counts count [C] (NULL: fails, naming the rule);
 * tau=auto is chosen on val (NULL or empty: fails). The caller frees *rule with tl_posthoc_free. */
int tl_run_rule(tl_posthoc *rule, tl_run *r, const char *spec, const int64_t *count, const tl_dataset *val,
                tl_error *err);
/* *m = the model to predict with under rule (NULL: none): r's own, or for the rules that change the
 * model they are bound to (tde, tau-norm, sla) a copy in *copy (caller frees with tl_model_free;
 * harmless when none was made). */
int tl_run_model_for(tl_run *r, const tl_posthoc *rule, tl_model *copy, tl_model **m, tl_error *err);

#endif
