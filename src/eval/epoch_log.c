#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"
#include "eval/epoch_log.h"

/* Key order of a line; the reader uses the same table. */
#define EPOCH_FIELDS(X) X(lr) X(train_loss) X(train_acc) X(val_accuracy) X(val_balanced_accuracy) \
    X(seconds) X(images_per_second)

int tl_metrics_line_write(FILE *f, const tl_epoch_log *e) {
    fprintf(f, "{\"epoch\":%d", e->epoch);
#define WRITE_FIELD(name) fputs(",\"" #name "\":", f); tl_json_write_number(f, e->name);
    EPOCH_FIELDS(WRITE_FIELD)
#undef WRITE_FIELD
    fputs("}\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

static double number_or_nan(const tl_json *v) {
    return v && v->type == TL_JSON_NUMBER ? v->num : NAN;
}

int tl_epoch_log_read(tl_epoch_log **logs, int *n, const char *path, tl_error *err) {
    *logs = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tl_fail(err, "%s: cannot read: %s", path, strerror(errno));
    tl_epoch_log *v = NULL;
    int count = 0, cap = 0, lineno = 0, rc = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        size_t k = (size_t)len;
        while (k && (line[k - 1] == '\n' || line[k - 1] == '\r' || line[k - 1] == ' ')) k--;
        if (k == 0) continue;
        char what[4200];
        snprintf(what, sizeof what, "%s line %d", path, lineno);
        tl_json *j = tl_json_parse(line, k, what, err);
        if (!j) { rc = -1; break; }
        if (j->type != TL_JSON_OBJECT) { tl_json_free(j); rc = tl_fail(err, "%s: not a JSON object", what); break; }
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            tl_epoch_log *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) { tl_json_free(j); rc = tl_fail(err, "%s: out of memory", path); break; }
            v = nv;
        }
        tl_epoch_log *e = &v[count];
        double ep = number_or_nan(tl_json_get(j, "epoch"));
        e->epoch = isfinite(ep) && fabs(ep) < 1e9 ? (int)ep : count;
#define READ_FIELD(name) e->name = number_or_nan(tl_json_get(j, #name));
        EPOCH_FIELDS(READ_FIELD)
#undef READ_FIELD
        tl_json_free(j);
        count++;
    }
    if (!rc && ferror(f)) rc = tl_fail(err, "%s: read error", path);
    free(line);
    fclose(f);
    if (rc) { free(v); return -1; }
    *logs = v;
    *n = count;
    return 0;
}
