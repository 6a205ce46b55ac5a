/* Memory the public API hands to the caller, and string arrays the handles copy. */
#include <stdlib.h>
#include <string.h>
#include "run/handles.h"
#include "core/error.h"

void tl_free(void *p) { free(p); }

int tl_strings_copy(char ***out, char *const *src, int n, tl_error *err) {
    *out = NULL;
    if (!src) return 0;
    char **s = calloc((size_t)(n ? n : 1), sizeof *s);
    if (!s) return tl_fail(err, "out of memory");
    for (int i = 0; i < n; i++)
        if (!(s[i] = strdup(src[i] ? src[i] : ""))) { tl_strings_free(s, n); return tl_fail(err, "out of memory"); }
    *out = s;
    return 0;
}

void tl_strings_free(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}
