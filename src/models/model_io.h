/* Saving and loading models as safetensors (docs/interop.md). Tensor names are the state_dict
 * names of the equivalent PyTorch module; BatchNorm's num_batches_tracked is stored as I64 so that
 * torch's load_state_dict(strict=True) accepts the file. The model configuration travels in the
 * "__metadata__" block, so a file alone rebuilds its model. */
#ifndef TL_MODELS_MODEL_IO_H
#define TL_MODELS_MODEL_IO_H
#include "core/safetensors.h"
#include "models/model.h"

/* The name tensor `name` of a model with configuration c has in files: its own, except that the
 * linear head of the ImageNet ResNets is torchvision's `fc` (head.weight -> fc.weight, so a file
 * loads into torchvision.models.resnet18(num_classes=C) as it is). Returns name or buf. */
const char *tl_model_file_name(const tl_model_cfg *c, const char *name, char *buf, size_t cap);
/* Writes params + state atomically. bn_steps is the num_batches_tracked value to record; mean/std
 * (in_c values each, or NULL) are the input normalisation, kept in the metadata. */
int tl_model_save(const tl_model *m, long long bn_steps, const float *mean, const float *std, const char *path,
                  tl_error *err);
/* The same with the class names (num_classes strings, or NULL) kept as metadata "class_names", a
 * JSON array, so `tailor predict` names its predictions. */
int tl_model_save_named(const tl_model *m, long long bn_steps, const float *mean, const float *std,
                        const char *const *names, const char *path, tl_error *err);
/* The class names of a model file (malloc'ed array of C malloc'ed strings), or *names = NULL when it
 * has none. */
int tl_model_load_names(char ***names, const char *path, int C, tl_error *err);
/* Reads the input normalisation stored by tl_model_save into mean/std [in_c]: both entries must be
 * present with in_c values each and pass tl_norm_check. */
int tl_model_norm_from_file(float *mean, float *std, int in_c, const tl_st_file *f, const char *path, tl_error *err);
/* Reads the configuration stored in a loaded file. */
int tl_model_cfg_from_file(tl_model_cfg *cfg, const tl_st_file *f, const char *path, tl_error *err);
/* Copies every tensor of m from f, strictly: each must be present with the same shape and dtype, and
 * f may hold nothing else (num_batches_tracked aside); then tl_model_check_values. *bn_steps receives
 * num_batches_tracked. */
int tl_model_load_weights(tl_model *m, const tl_st_file *f, long long *bn_steps, const char *path, tl_error *err);
/* Checks every tensor of m holds finite values and every BN running variance is >= 0; the message
 * names path and the tensor. */
int tl_model_check_values(const tl_model *m, const char *path, tl_error *err);
/* Checks an input normalisation: mean finite, std finite and > 0; the message names path and the entry. */
int tl_norm_check(const float *mean, const float *std, int n, const char *path, const char *mean_name,
                  const char *std_name, tl_error *err);
/* Starts m from the weights of a loaded model file f (read from path; a torchvision model converted by
 * python/tailor_convert.py, or another run's model.safetensors), by name: every backbone tensor of m
 * must be in the file with its shape (F32), and the file may hold nothing else (num_batches_tracked
 * aside), or the error lists what is missing, unexpected and mis-shaped. The head's tensors are
 * loaded when the file has them with the same shape, else keep their initialisation (another class
 * count, or another head; torchvision's fc is then not used). note (cap bytes) receives e.g.
 * "loaded 60 of 62 tensors; 2 re-initialised (fc.weight, fc.bias)". */
int tl_model_init_weights(tl_model *m, const tl_st_file *f, const char *path, char *note, size_t cap, tl_error *err);
/* Reads a model file and builds its model for batch size N; mean/std (malloc'ed [in_c], caller
 * frees) receive its input normalisation when not NULL. */
int tl_model_load(tl_model *m, const char *path, int N, int nthreads, float **mean, float **std, tl_error *err);
/* The same, with the file's num_batches_tracked into *bn_steps (kept when the model is saved again);
 * inference: the model is built by tl_model_init_inference (a run opened for evaluation). */
int tl_model_load_steps(tl_model *m, const char *path, int N, int nthreads, int inference, float **mean, float **std,
                        long long *bn_steps, tl_error *err);

#endif
