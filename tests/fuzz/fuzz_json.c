/* Fuzz target: the JSON reader (src/core/json.c) and config files (src/run/options.c:
 * tl_opts_read_config). Every string and number the reader accepts is written back with the JSON
 * writers and read again: the round trip must give the same value (run folders' config.json and
 * metrics.jsonl are written that way and read back by --config and --resume). */
#include <math.h>
#include "run/options.h"
#include "core/json.h"
#include "fuzz.h"

static const tl_optdef defs[] = {
    {"data", NULL, "data spec", 0, 1},     {"epochs", "15", "epochs", 0, 1}, {"lr", "", "learning rate", 0, 1},
    {"quiet", "", "no progress", 1, 0},    {"out", "", "run folder", 0, 0},
};

static void round_trip(const tl_json *n) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) abort();
    if (n->type == TL_JSON_STRING) tl_json_write_string(m, n->str);
    else tl_json_write_number(m, n->num);
    fclose(m);
    tl_error err;
    tl_json *back = tl_json_parse(text, len, "round trip", &err);
    if (n->type == TL_JSON_STRING && (!back || back->type != TL_JSON_STRING || strcmp(back->str, n->str))) abort();
    if (n->type == TL_JSON_NUMBER && isfinite(n->num) && (!back || back->type != TL_JSON_NUMBER || back->num != n->num)) abort();
    tl_json_free(back);
    free(text);
}

static void walk(const tl_json *n, const tl_json *parent) {
    for (; n; n = n->next) {
        if (parent && parent->type == TL_JSON_OBJECT && !tl_json_get(parent, n->key)) abort();
        if (n->type == TL_JSON_STRING || n->type == TL_JSON_NUMBER) round_trip(n);
        walk(n->child, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tl_error err;
    tl_json *root = tl_json_parse((const char *)data, size, "fuzz.json", &err);
    if (root) {
        walk(root, NULL);
        tl_json_free(root);
    }
    tl_opts o;
    memset(&o, 0, sizeof o);
    o.defs = defs;
    o.n = (int)(sizeof defs / sizeof defs[0]);
    if (tl_opts_read_config(&o, fuzz_file(0, data, size), &err) == 0)
        for (int i = 0; i < o.n; i++) if (o.value[i]) (void)strlen(o.value[i]);
    tl_opts_free(&o);
    return 0;
}
