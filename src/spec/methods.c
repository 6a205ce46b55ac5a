/* tl_methods_list (include/tailor/methods.h): the method tables of every family as text. Each table
 * lives with its family (samplers/sampler.c, losses/loss.c, heads/head.c, stage2/stage2.c,
 * eval/posthoc.c, models/model.c, transfer/hook.c); this file only reads them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "eval/posthoc.h"
#include "heads/head.h"
#include "losses/loss.h"
#include "models/model.h"
#include "samplers/sampler.h"
#include "stage2/stage2.h"
#include "tailor/methods.h"
#include "train/hook.h"

typedef struct { const char *name, *keys, *help; } method_doc;

/* The largest table (the heads) has 14 entries. */
#define MAX_METHODS 64

static const char *const family_names[TL_FAMILY_COUNT] = {"sampler", "loss",    "head",    "stage2", "posthoc",
                                                          "model",   "ssl",     "distill", "synth"};
static const char *const family_options[TL_FAMILY_COUNT] = {"--sampler", "--loss",  "--head",    "--method", "--posthoc",
                                                            "--model",   "--ssl",   "--distill", "--synth"};

const char *tl_family_name(int family) { return family >= 0 && family < TL_FAMILY_COUNT ? family_names[family] : NULL; }
const char *tl_family_option(int family) {
    return family >= 0 && family < TL_FAMILY_COUNT ? family_options[family] : NULL;
}

/* Copies name, keys and help of a table of n pointers to ops structs into out (at most MAX_METHODS). */
#define COLLECT(table, n, out, count)                                                                   \
    do {                                                                                                \
        for (int i_ = 0; i_ < (n) && (count) < MAX_METHODS; i_++)                                      \
            (out)[(count)++] = (method_doc){(table)[i_]->name, (table)[i_]->keys, (table)[i_]->help}; \
    } while (0)

/* The family's entries, in table order; returns their number. */
static int collect(int family, method_doc *out) {
    int n = 0, count = 0;
    switch (family) {
    case TL_FAMILY_SAMPLER: { const tl_sampler_ops *const *t = tl_sampler_table(&n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_LOSS: { const tl_loss_ops *const *t = tl_loss_table(&n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_HEAD: { const tl_head_ops *const *t = tl_head_table(TL_HEADS_USER, &n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_SSL: { const tl_head_ops *const *t = tl_head_table(TL_HEADS_SSL, &n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_STAGE2: { const tl_stage2_ops *const *t = tl_stage2_table(&n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_POSTHOC: { const tl_posthoc_ops *const *t = tl_posthoc_table(&n); COLLECT(t, n, out, count); break; }
    case TL_FAMILY_MODEL: {
        const tl_model_arch *t = tl_model_table(&n);
        for (int i = 0; i < n && count < MAX_METHODS; i++) out[count++] = (method_doc){t[i].name, t[i].keys, t[i].help};
        break;
    }
    case TL_FAMILY_DISTILL:
    case TL_FAMILY_SYNTH: {
        const tl_hook_ops *const *t = tl_hook_table(&n);
        for (int i = 0; i < n && count < MAX_METHODS; i++)
            if (!strcmp(t[i]->option, family_options[family]))
                out[count++] = (method_doc){t[i]->name, t[i]->keys, t[i]->help};
        break;
    }
    }
    return count;
}

/* An snprintf that appends at *len, keeping the length the whole text needs even once buf is full. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *len += (size_t)w;
}

int tl_methods_list(int family, int style, char *buf, size_t size) {
    if (family < 0 || family >= TL_FAMILY_COUNT || (style != TL_METHODS_TEXT && style != TL_METHODS_MARKDOWN)) return -1;
    if (size) buf[0] = 0;
    method_doc d[MAX_METHODS];
    int n = collect(family, d);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *keys = d[i].keys ? d[i].keys : "";
        if (style == TL_METHODS_MARKDOWN)
            append(buf, size, &len, "- `%s%s%s`: %s\n", d[i].name, *keys ? ":" : "", keys, d[i].help ? d[i].help : "");
        else
            append(buf, size, &len, "  %s%s%s\n      %s\n", d[i].name, *keys ? ":" : "", keys, d[i].help ? d[i].help : "");
    }
    if (family == TL_FAMILY_LOSS)
        append(buf, size, &len, style == TL_METHODS_MARKDOWN ? "\nEvery loss also takes `%s`.\n" : "  every loss also takes %s\n",
               tl_loss_shared_keys);
    return len > (size_t)2147483647 ? -1 : (int)len;
}
