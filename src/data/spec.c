/* The data spec of the command line (`--data`): KIND[:ARGS], dispatched to the format loaders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/dataset.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static int set_fashion_names(tl_dataset *train, tl_dataset *test, tl_error *err) {
    if (train->num_classes != 10) return 0; /* not the real Fashion-MNIST labels: leave unnamed */
    train->class_names = calloc(10, sizeof(char *));
    if (!train->class_names) return tl_fail(err, "out of memory");
    for (int k = 0; k < 10; k++)
        if (!(train->class_names[k] = strdup(fashion_names[k]))) return tl_fail(err, "out of memory");
    return tl_dataset_copy_names(test, train, err);
}

/* csv:TRAIN[,TEST][,KEY=VALUE...]: items with '=' are keys, the others paths. */
int tl_csv_spec_parse(char *buf, const char *paths[2], tl_csv_opts *o, char ***classes, tl_error *err) {
    static const char *const keys = "label, classes, header, rownames, na";
    *o = (tl_csv_opts){.header = -1};
    *classes = NULL;
    paths[0] = paths[1] = NULL;
    int np = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            if (np == 2) return tl_fail(err, "at most two files (TRAIN,TEST), then KEY=VALUE items");
            paths[np++] = tok;
            continue;
        }
        *eq = 0;
        const char *v = eq + 1;
        if (!*v) return tl_fail(err, "%s= needs a value", tok);
        if (!strcmp(tok, "label")) {
            o->label = v;
        } else if (!strcmp(tok, "header") && (!strcmp(v, "0") || !strcmp(v, "1"))) {
            o->header = *v == '1';
        } else if (!strcmp(tok, "rownames") && !strcmp(v, "skip")) {
            o->skip_rownames = 1;
        } else if (!strcmp(tok, "na") && (!strcmp(v, "drop") || !strcmp(v, "mean"))) {
            o->na = !strcmp(v, "drop") ? TL_CSV_NA_DROP : TL_CSV_NA_MEAN;
        } else if (!strcmp(tok, "classes") && !*classes) {
            int n = 1;
            for (const char *c = v; *c; c++) n += *c == '/';
            if (n > TL_DATA_MAX_CLASSES) return tl_fail(err, "classes= lists more than %d classes", TL_DATA_MAX_CLASSES);
            if (!(*classes = malloc(sizeof(char *) * (size_t)n))) return tl_fail(err, "out of memory");
            char *c = (char *)v;
            for (int k = 0; k < n; k++) {
                char *slash = strchr(c, '/');
                if (slash) *slash = 0;
                if (!*c) return tl_fail(err, "classes=: an empty class name");
                (*classes)[k] = c;
                c = slash ? slash + 1 : c + strlen(c);
            }
            o->classes = (const char *const *)*classes;
            o->nclasses = n;
        } else {
            int known = !strcmp(tok, "header") || !strcmp(tok, "rownames") || !strcmp(tok, "na") || !strcmp(tok, "classes");
            if (known) return tl_fail(err, "%s=%s is not valid (header=0|1, rownames=skip, na=drop|mean, classes=A/B/..., once)", tok, v);
            return tl_fail(err, "unknown key '%s' (valid: %s)", tok, keys);
        }
    }
    if (np == 0) return tl_fail(err, "expected csv:TRAIN[,TEST][,KEY=VALUE...]");
    return 0;
}

static int load_csv(const char *args, tl_dataset *train, tl_dataset *test, tl_error *err) {
    char buf[8192];
    if (snprintf(buf, sizeof buf, "%s", args) >= (int)sizeof buf) return tl_fail(err, "data spec 'csv:%s' is too long", args);
    const char *paths[2];
    tl_csv_opts o;
    char **classes;
    int rc = tl_csv_spec_parse(buf, paths, &o, &classes, err);
    if (rc) rc = tl_fail_prefix(err, "data spec 'csv:%s'", args);
    else rc = tl_csv_load_opts(train, test, paths[0], paths[1], &o, err);
    free(classes);
    return rc;
}

/* list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt] */
static int load_list(const char *args, tl_dataset *train, tl_dataset *test, tl_dataset *val, tl_error *err) {
    char buf[8192];
    if (snprintf(buf, sizeof buf, "%s", args) >= (int)sizeof buf) return tl_fail(err, "data spec 'list:%s' is too long", args);
    char *part[5];
    int n = 0;
    for (char *p = buf; n < 5; n++) {
        part[n] = p;
        char *c = strchr(p, ',');
        if (!c) { n++; break; }
        *c = 0;
        p = c + 1;
    }
    int empty = 0;
    for (int i = 0; i < n; i++) empty |= !*part[i];
    if (n < 3 || n > 4 || empty)
        return tl_fail(err, "data spec 'list:%s': expected list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt]", args);
    return tl_imagelist_load(train, test, val, part[0], part[1], part[2], n == 4 ? part[3] : NULL, err);
}

int tl_data_load(const char *spec, tl_dataset *train, tl_dataset *test, tl_dataset *val, int *skipped, tl_error *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(val, 0, sizeof *val);
    if (skipped) *skipped = 0;
    const char *colon = strchr(spec, ':');
    size_t klen = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *args = colon ? colon + 1 : "";
    int rc;
#define KIND(s) (klen == strlen(s) && strncmp(spec, s, klen) == 0)
    if (KIND("fashion-mnist")) {
        if (colon) return tl_fail(err, "data spec '%s': fashion-mnist takes no argument (files are read from %s)", spec, FASHION_MNIST_DIR);
        rc = tl_idx_load_dir(train, test, FASHION_MNIST_DIR, err);
        if (!rc) rc = set_fashion_names(train, test, err);
    } else if (KIND("mnist") || KIND("idx") || KIND("cifar10") || KIND("cifar100") || KIND("csv") || KIND("list") || KIND("folder")) {
        if (!*args) return tl_fail(err, "data spec '%s': missing argument after '%.*s:'", spec, (int)klen, spec);
        if (KIND("mnist") || KIND("idx")) rc = tl_idx_load_dir(train, test, args, err);
        else if (KIND("cifar10")) rc = tl_cifar10_load_dir(train, test, args, err);
        else if (KIND("cifar100")) rc = tl_cifar100_load_dir(train, test, args, err);
        else if (KIND("csv")) rc = load_csv(args, train, test, err);
        else if (KIND("list")) rc = load_list(args, train, test, val, err);
        else rc = tl_folder_load(train, test, val, args, skipped, err);
    } else {
        return tl_fail(err, "unknown data spec '%s' (valid: fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, cifar100:DIR, "
                            "csv:TRAIN[,TEST][,KEY=VALUE...], list:ROOT,TRAIN.txt,TEST.txt[,VAL.txt], folder:ROOT)", spec);
    }
#undef KIND
    if (rc) { tl_dataset_free(train); tl_dataset_free(test); tl_dataset_free(val); }
    return rc;
}
