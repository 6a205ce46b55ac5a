/* A teacher: a finished run's model, frozen and run in evaluation mode on the student's batches
 * (docs/methods.md §10: its outputs are constants). The student's normalised input is mapped to the
 * teacher's own normalisation first, so the two may have been trained on different views. */
#ifndef TL_TRANSFER_TEACHER_H
#define TL_TRANSFER_TEACHER_H
#include "models/model.h"
#include "spec/spec.h"
#include "train/hook.h"
#include "tailor.h"

typedef struct {
    tl_model model;
    float *mean, *std;        /* the teacher's input normalisation [in_c] */
    const float *student_mean, *student_std; /* the student's [in_c] (borrowed; set by tl_teacher_for_hook) */
    char path[4200];          /* its model file, for messages */
} tl_teacher;

/* Loads DIR/model.safetensors for batch size `like`->N and checks that it takes the student's input
 * shape and, when same_classes is set, has its number of classes. Returns 0 or -1 naming --teacher. */
int tl_teacher_open(tl_teacher *t, const char *dir, const tl_model *like, int same_classes, int nthreads,
                    tl_error *err);
void tl_teacher_close(tl_teacher *t);
/* tl_teacher_open on env->teacher for a hook, remembering the student's normalisation (env->mean,
 * env->std) for tl_teacher_forward: without --teacher, an error naming the hook's option. */
int tl_teacher_for_hook(tl_teacher *t, const tl_spec *spec, const tl_hook_env *env, int same_classes, tl_error *err);

/* Runs the teacher (evaluation mode) on x [N, c, h, w], normalised with the student's normalisation;
 * afterwards t->model.logits [N, C_t] and tl_model_features(&t->model) [N, D_t] hold its outputs.
 * Returns 0, or -1 naming the teacher when its forward fails. */
int tl_teacher_forward(tl_teacher *t, const float *x, tl_error *err);

#endif
