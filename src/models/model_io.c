#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "data/dataset.h"
#include "models/model_io.h"

#define NBT ".num_batches_tracked"

/* The ImageNet ResNets' linear head is torchvision's `fc` in files (head.weight -> fc.weight). */
static int fc_names(const tl_model_cfg *c) { return tl_resnet_is(c->arch) && !strcmp(c->head, "linear"); }

const char *tl_model_file_name(const tl_model_cfg *c, const char *name, char *buf, size_t cap) {
    if (!fc_names(c) || strncmp(name, "head.", 5)) return name;
    snprintf(buf, cap, "fc.%s", name + 5);
    return buf;
}

/* The inverse: a file's tensor name to the model's. */
static const char *model_name(const tl_model_cfg *c, const char *name, char *buf, size_t cap) {
    if (!fc_names(c)) return name;
    if (!strncmp(name, "head.", 5)) return "";   /* no such tensor: fc_names models have none */
    if (strncmp(name, "fc.", 3)) return name;
    snprintf(buf, cap, "head.%s", name + 3);
    return buf;
}

/* BN modules are the prefixes of the tensors named "<prefix>.running_mean". */
static int bn_prefix(const tl_tensor_info *t, char *out, size_t cap) {
    const char *suffix = ".running_mean";
    size_t n = strlen(t->name), s = strlen(suffix);
    if (n <= s || strcmp(t->name + n - s, suffix) || n - s + strlen(NBT) >= cap) return 0;
    memcpy(out, t->name, n - s);
    strcpy(out + n - s, NBT);
    return 1;
}

/* "v0/v1/..." with round-trip precision; returns a malloc'ed string. */
static char *join_floats(const float *v, int n) {
    char *s = malloc((size_t)n * 20 + 1), *p = s;
    if (!s) return NULL;
    *p = 0;
    for (int i = 0; i < n; i++) p += sprintf(p, "%s%.9g", i ? "/" : "", v[i]);
    return s;
}

/* names as a JSON array of strings (malloc'ed), or NULL on failure. */
static char *names_json(const char *const *names, int n) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    fputc('[', f);
    for (int i = 0; i < n; i++) { if (i) fputc(',', f); tl_json_write_string(f, names[i]); }
    fputc(']', f);
    if (fclose(f) != 0) { free(text); return NULL; }
    return text;
}

int tl_model_save(const tl_model *m, long long bn_steps, const float *mean, const float *std, const char *path,
                  tl_error *err) {
    return tl_model_save_named(m, bn_steps, mean, std, NULL, path, err);
}

int tl_model_save_named(const tl_model *m, long long bn_steps, const float *mean, const float *std,
                        const char *const *names, const char *path, tl_error *err) {
    int n = m->ntensors, nbn = 0;
    tl_st_tensor *t = calloc((size_t)n * 2, sizeof *t);
    char (*bnames)[128] = calloc((size_t)n, sizeof *bnames), (*fnames)[128] = calloc((size_t)n, sizeof *fnames);
    if (!t || !bnames || !fnames) { free(t); free(bnames); free(fnames); return tl_fail(err, "%s: out of memory", path); }
    int k = 0;
    for (int i = 0; i < n; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        tl_st_tensor *o = &t[k++];
        o->name = tl_model_file_name(&m->cfg, ti->name, fnames[i], sizeof fnames[i]);
        o->dtype = "F32";
        o->ndim = ti->ndim;
        for (int d = 0; d < ti->ndim; d++) o->shape[d] = ti->shape[d];
        o->data = (ti->is_state ? m->state : m->params) + ti->off;
        if (bn_prefix(ti, bnames[nbn], sizeof bnames[nbn])) {
            tl_st_tensor *b = &t[k++];
            b->name = bnames[nbn++];
            b->dtype = "I64";
            b->ndim = 0;
            b->data = &bn_steps;
        }
    }
    const tl_model_cfg *c = &m->cfg;
    char in[64], classes[16], feat[16], hidden[128] = "", drop[32];
    snprintf(in, sizeof in, "%d,%d,%d", c->in_c, c->in_h, c->in_w);
    snprintf(classes, sizeof classes, "%d", c->num_classes);
    snprintf(feat, sizeof feat, "%d", c->feat_dim);
    for (int i = 0; i < c->nhidden; i++)
        snprintf(hidden + strlen(hidden), sizeof hidden - strlen(hidden), "%s%d", i ? "/" : "", c->hidden[i]);
    snprintf(drop, sizeof drop, "%.9g", c->dropout);
    char *smean = mean ? join_floats(mean, c->in_c) : NULL, *sstd = std ? join_floats(std, c->in_c) : NULL;
    char *snames = names ? names_json(names, c->num_classes) : NULL;
    const char *meta[24] = {"format", "tailor-model", "arch", c->arch, "input", in, "num_classes", classes,
                            "feat_dim", feat, "hidden", hidden, "dropout", drop, "head", c->head, "version", TL_VERSION};
    int nmeta = 9, rc = 0;
    if ((mean && !smean) || (std && !sstd) || (names && !snames)) rc = tl_fail(err, "%s: out of memory", path);
    if (smean && sstd) { meta[2 * nmeta] = "norm_mean"; meta[2 * nmeta + 1] = smean; meta[2 * nmeta + 2] = "norm_std"; meta[2 * nmeta + 3] = sstd; nmeta += 2; }
    if (snames) { meta[2 * nmeta] = "class_names"; meta[2 * nmeta + 1] = snames; nmeta++; }
    if (!rc) rc = tl_st_write(path, t, k, meta, nmeta, err);
    free(t);
    free(bnames);
    free(fnames);
    free(smean);
    free(sstd);
    free(snames);
    return rc;
}

static int meta_int(const tl_st_file *f, const char *key, int *out, const char *path, tl_error *err) {
    const char *v = tl_st_meta(f, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < 0 || x > 1 << 24) return tl_fail(err, "%s: missing or bad metadata '%s'", path, key);
    *out = (int)x;
    return 0;
}

int tl_model_cfg_from_file(tl_model_cfg *cfg, const tl_st_file *f, const char *path, tl_error *err) {
    const char *fmt = tl_st_meta(f, "format"), *arch = tl_st_meta(f, "arch"), *in = tl_st_meta(f, "input");
    const char *hidden = tl_st_meta(f, "hidden"), *drop = tl_st_meta(f, "dropout");
    if (!fmt || strcmp(fmt, "tailor-model") || !arch || !in)
        return tl_fail(err, "%s: not a tailor model file (metadata format/arch/input missing)", path);
    int c, h, w, classes = 0;
    if (sscanf(in, "%d,%d,%d", &c, &h, &w) != 3 || c <= 0 || h <= 0 || w <= 0 || c > 4096 || h > 4096 || w > 4096)
        return tl_fail(err, "%s: bad metadata 'input'", path);
    if (meta_int(f, "num_classes", &classes, path, err)) return -1;
    if (tl_model_cfg_default(cfg, arch, c, h, w, classes, err)) return tl_fail_prefix(err, "%s", path);
    if (meta_int(f, "feat_dim", &cfg->feat_dim, path, err)) return -1;
    /* The same limits as the command line's --feat-dim and --hidden, and the data sets' class count. */
    if (cfg->feat_dim < 1 || cfg->feat_dim > 65536)
        return tl_fail(err, "%s: metadata 'feat_dim' is %d (must be 1..65536)", path, cfg->feat_dim);
    if (classes < 1 || classes > TL_DATA_MAX_CLASSES)
        return tl_fail(err, "%s: metadata 'num_classes' is %d (must be 1..%d)", path, classes, TL_DATA_MAX_CLASSES);
    cfg->nhidden = 0;
    for (const char *s = hidden ? hidden : ""; *s && cfg->nhidden < 8;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 65536) return tl_fail(err, "%s: metadata 'hidden' must be sizes 1..65536", path);
        cfg->hidden[cfg->nhidden++] = (int)v;
        s = *end == '/' ? end + 1 : end;
    }
    cfg->dropout = drop ? strtof(drop, NULL) : 0;
    const char *head = tl_st_meta(f, "head");
    if (head && (size_t)snprintf(cfg->head, sizeof cfg->head, "%s", head) >= sizeof cfg->head)
        return tl_fail(err, "%s: bad metadata 'head'", path);
    return 0;
}

int tl_model_check_values(const tl_model *m, const char *path, tl_error *err) {
    static const char var_suffix[] = ".running_var";
    size_t ns = sizeof var_suffix - 1;
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        const float *v = (ti->is_state ? m->state : m->params) + ti->off;
        size_t n = strlen(ti->name);
        int is_var = n > ns && !strcmp(ti->name + n - ns, var_suffix);
        for (size_t j = 0; j < ti->numel; j++) {
            if (!isfinite(v[j]))
                return tl_fail(err, "%s: tensor '%s' holds a non-finite value (%g at element %zu)", path, ti->name,
                               (double)v[j], j);
            if (is_var && v[j] < 0)
                return tl_fail(err, "%s: tensor '%s' holds a negative variance (%g at element %zu)", path, ti->name,
                               (double)v[j], j);
        }
    }
    return 0;
}

int tl_norm_check(const float *mean, const float *std, int n, const char *path, const char *mean_name,
                  const char *std_name, tl_error *err) {
    for (int i = 0; i < n; i++) {
        if (!isfinite(mean[i]))
            return tl_fail(err, "%s: '%s' holds a non-finite value (%g for channel %d)", path, mean_name, (double)mean[i], i);
        if (!isfinite(std[i]) || !(std[i] > 0))
            return tl_fail(err, "%s: '%s' must be finite and > 0 (%g for channel %d)", path, std_name, (double)std[i], i);
    }
    return 0;
}

int tl_model_load_weights(tl_model *m, const tl_st_file *f, long long *bn_steps, const char *path, tl_error *err) {
    int matched = 0;
    *bn_steps = 0;
    char buf[128];
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        const char *fname = tl_model_file_name(&m->cfg, ti->name, buf, sizeof buf);
        const tl_st_tensor *t = tl_st_find(f, fname);
        if (!t) return tl_fail(err, "%s: tensor '%s' is missing", path, fname);
        int same = !strcmp(t->dtype, "F32") && t->ndim == ti->ndim;
        for (int d = 0; same && d < ti->ndim; d++) same = t->shape[d] == ti->shape[d];
        if (!same) return tl_fail(err, "%s: tensor '%s' has the wrong dtype or shape", path, fname);
        memcpy((ti->is_state ? m->state : m->params) + ti->off, t->data, ti->numel * sizeof(float));
        matched++;
    }
    for (int i = 0; i < f->n; i++) {
        const char *name = f->t[i].name;
        size_t n = strlen(name), s = strlen(NBT);
        if (n > s && !strcmp(name + n - s, NBT) && !strcmp(f->t[i].dtype, "I64") && f->t[i].ndim == 0) {
            memcpy(bn_steps, f->t[i].data, sizeof *bn_steps);
            continue;
        }
        if (!tl_model_find(m, model_name(&m->cfg, name, buf, sizeof buf)))
            return tl_fail(err, "%s: unexpected tensor '%s'", path, name);
    }
    if (matched != m->ntensors) return tl_fail(err, "%s: tensor count mismatch", path);
    return tl_model_check_values(m, path, err);
}

int tl_model_norm_from_file(float *mean, float *std, int in_c, const tl_st_file *f, const char *path, tl_error *err) {
    const char *keys[2] = {"norm_mean", "norm_std"};
    float *out[2] = {mean, std};
    for (int k = 0; k < 2; k++) {
        /* Every model tailor writes carries both; without them the inputs would go in unnormalised. */
        const char *s = tl_st_meta(f, keys[k]);
        if (!s) return tl_fail(err, "%s: metadata '%s' (the input normalisation) is missing", path, keys[k]);
        for (int i = 0; i < in_c; i++) {
            char *end;
            out[k][i] = strtof(s, &end);
            if (end == s || (*end && *end != '/') || (*end == '/' && i == in_c - 1) || (!*end && i < in_c - 1))
                return tl_fail(err, "%s: metadata '%s' must hold %d '/'-separated numbers (one per input channel)", path,
                               keys[k], in_c);
            s = *end ? end + 1 : end;
        }
    }
    return tl_norm_check(mean, std, in_c, path, keys[0], keys[1], err);
}

int tl_model_load(tl_model *m, const char *path, int N, int nthreads, float **mean, float **std, tl_error *err) {
    return tl_model_load_steps(m, path, N, nthreads, 0, mean, std, NULL, err);
}

int tl_model_load_steps(tl_model *m, const char *path, int N, int nthreads, int inference, float **mean, float **std,
                        long long *bn_steps_out, tl_error *err) {
    tl_st_file f;
    tl_model_cfg cfg;
    long long bn_steps;
    if (tl_st_read(&f, path, err)) return -1;
    int rc = tl_model_cfg_from_file(&cfg, &f, path, err);
    if (!rc)
        rc = inference ? tl_model_init_inference(m, &cfg, N, nthreads, err)
                       : tl_model_init(m, &cfg, N, nthreads, 0, err);
    if (!rc && (rc = tl_model_load_weights(m, &f, &bn_steps, path, err))) tl_model_free(m);
    if (!rc && bn_steps_out) *bn_steps_out = bn_steps;
    if (!rc && mean && std) {
        *mean = malloc((size_t)cfg.in_c * sizeof **mean);
        *std = malloc((size_t)cfg.in_c * sizeof **std);
        if (!*mean || !*std) rc = tl_fail(err, "out of memory");
        else rc = tl_model_norm_from_file(*mean, *std, cfg.in_c, &f, path, err);
        if (rc) { free(*mean); free(*std); *mean = *std = NULL; tl_model_free(m); }
    }
    tl_st_free(&f);
    return rc;
}

int tl_model_load_names(char ***names, const char *path, int C, tl_error *err) {
    *names = NULL;
    tl_st_file f;
    if (tl_st_read(&f, path, err)) return -1;
    const char *text = tl_st_meta(&f, "class_names");
    int rc = 0;
    if (text) {
        tl_json *j = tl_json_parse(text, strlen(text), path, err);
        rc = j ? 0 : -1;
        if (!rc && (j->type != TL_JSON_ARRAY || j->count != C))
            rc = tl_fail(err, "%s: metadata 'class_names' is not a list of %d names", path, C);
        if (!rc && !(*names = calloc((size_t)C, sizeof **names))) rc = tl_fail(err, "out of memory");
        int i = 0;
        for (const tl_json *c = j && !rc ? j->child : NULL; c && !rc; c = c->next, i++)
            if (c->type != TL_JSON_STRING) rc = tl_fail(err, "%s: metadata 'class_names' holds a non-string", path);
            else if (!((*names)[i] = strdup(c->str))) rc = tl_fail(err, "out of memory");
        tl_json_free(j);
        if (rc && *names) { for (int k = 0; k < C; k++) free((*names)[k]); free(*names); *names = NULL; }
    }
    tl_st_free(&f);
    return rc;
}

/* A count of names and the first three of them, put into a message as "N what (a, b, c, ...)". */
typedef struct { char text[160]; int n; } name_list;

static void list_add(name_list *l, const char *name) {
    size_t len = strlen(l->text);
    if (l->n++ < 3 && len + strlen(name) + 3 < sizeof l->text)
        snprintf(l->text + len, sizeof l->text - len, "%s%s", len ? ", " : "", name);
}

static void list_put(char *out, size_t cap, const char *what, const name_list *l) {
    size_t len = strlen(out);
    if (!l->n) return;
    snprintf(out + len, cap - len, "%s%d %s (%s%s)", len ? "; " : "", l->n, what, l->text, l->n > 3 ? ", ..." : "");
}

static void shape_text(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t len = 0;
    out[0] = 0;
    for (int d = 0; d < ndim && len < cap; d++) len += (size_t)snprintf(out + len, cap - len, "%s%lld", d ? "x" : "", (long long)shape[d]);
}

int tl_model_init_weights(tl_model *m, const tl_st_file *f, const char *path, char *note, size_t cap, tl_error *err) {
    name_list missing = {{0}, 0}, shaped = {{0}, 0}, unexpected = {{0}, 0}, fresh = {{0}, 0}, dropped = {{0}, 0};
    int loaded = 0;
    char buf[128], desc[160];
    for (int i = 0; i < m->ntensors; i++) {
        const tl_tensor_info *ti = &m->tensors[i];
        const char *fname = tl_model_file_name(&m->cfg, ti->name, buf, sizeof buf);
        const tl_st_tensor *t = tl_st_find(f, fname);
        int head = ti->group == TL_GROUP_HEAD, same = t && t->ndim == ti->ndim;
        for (int d = 0; same && d < ti->ndim; d++) same = t->shape[d] == ti->shape[d];
        if (t && same && strcmp(t->dtype, "F32")) {
            snprintf(desc, sizeof desc, "%s is %s, not F32", fname, t->dtype);
            list_add(&shaped, desc);
        } else if (t && same) {
            memcpy((ti->is_state ? m->state : m->params) + ti->off, t->data, ti->numel * sizeof(float));
            loaded++;
        } else if (head) {
            list_add(&fresh, fname);   /* another class count, or another head: a new classifier */
        } else if (!t) {
            list_add(&missing, fname);
        } else {
            char a[48], b[48];
            int64_t s[4];
            for (int d = 0; d < ti->ndim; d++) s[d] = ti->shape[d];
            shape_text(a, sizeof a, t->ndim, t->shape);
            shape_text(b, sizeof b, ti->ndim, s);
            snprintf(desc, sizeof desc, "%s: %s in the file, %s here", fname, a, b);
            list_add(&shaped, desc);
        }
    }
    for (int i = 0; i < f->n; i++) {
        const char *name = f->t[i].name, *mname = model_name(&m->cfg, name, buf, sizeof buf);
        size_t n = strlen(name), s = strlen(NBT);
        if (tl_model_find(m, mname)) continue;
        if (n > s && !strcmp(name + n - s, NBT)) {
            char rm[160];
            snprintf(rm, sizeof rm, "%.*s.running_mean", (int)(n - s), mname);
            if (tl_model_find(m, rm)) continue;
        }
        /* torchvision's classifier when this model has another head: replaced by it. */
        if (!fc_names(&m->cfg) && tl_resnet_is(m->cfg.arch) && !strncmp(name, "fc.", 3)) list_add(&dropped, name);
        else list_add(&unexpected, name);
    }
    char msg[480] = "";
    list_put(msg, sizeof msg, "missing", &missing);
    list_put(msg, sizeof msg, "unexpected", &unexpected);
    list_put(msg, sizeof msg, "with another shape or dtype", &shaped);
    if (*msg) return tl_fail(err, "--init %s: does not fit the %s model: %s", path, m->cfg.arch, msg);
    snprintf(note, cap, "loaded %d of %d tensors", loaded, m->ntensors);
    list_put(note, cap, "re-initialised", &fresh);
    list_put(note, cap, "not used", &dropped);
    return 0;
}
