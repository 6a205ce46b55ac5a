/* tailor's method tables as text: every pluggable part the library knows, family by family, with
 * its keys and their defaults and one line of help. The command's --help and the method lists of
 * docs/cli.md are both rendered from these (tests/unit/test_methods.c fails when the document
 * drifts), so the names, keys and help a user reads are the ones the code accepts.
 *
 *     char buf[8192];
 *     int n = tl_methods_list(TL_FAMILY_LOSS, TL_METHODS_TEXT, buf, sizeof buf);
 *     if (n >= 0 && (size_t)n < sizeof buf) fputs(buf, stdout);
 *
 * Nothing here allocates, and nothing fails other than as documented. */
#ifndef TAILOR_METHODS_H
#define TAILOR_METHODS_H
#include <stddef.h>
#include "tailor.h"   /* TL_API */

/* The families, each chosen by one option (tl_family_option). */
enum {
    TL_FAMILY_SAMPLER,  /* --sampler: which training examples an epoch visits */
    TL_FAMILY_LOSS,     /* --loss */
    TL_FAMILY_HEAD,     /* --head: the classifier heads a user chooses */
    TL_FAMILY_STAGE2,   /* tailor retrain --method: decoupled stage 2 */
    TL_FAMILY_POSTHOC,  /* tailor eval --posthoc: inference rules */
    TL_FAMILY_MODEL,    /* --model: backbones */
    TL_FAMILY_SSL,      /* --ssl: self-supervision */
    TL_FAMILY_DISTILL,  /* --distill: knowledge distillation from --teacher */
    TL_FAMILY_SYNTH,    /* --synth: synthesis of minority samples */
    TL_FAMILY_COUNT
};

/* The styles of tl_methods_list. TEXT, for --help: per method a line "  NAME[:KEYS]" and its help
 * indented below it. MARKDOWN, for docs/cli.md: per method a list item "- `NAME[:KEYS]`: HELP". Both
 * end every line with '\n'; the loss family adds a last line with the keys every loss takes. */
enum { TL_METHODS_TEXT, TL_METHODS_MARKDOWN };

/* The family's short name ("sampler", "loss", "head", "stage2", "posthoc", "model", "ssl", "distill",
 * "synth") and the option that chooses among its methods ("--sampler", ..., "--method" for stage 2).
 * Static strings; NULL for a family outside 0..TL_FAMILY_COUNT-1. */
TL_API const char *tl_family_name(int family);
TL_API const char *tl_family_option(int family);

/* Renders the family's methods in the given style into buf (size bytes; always NUL-terminated when
 * size > 0, cut short when too small). Returns the length of the whole text (NUL excluded), as
 * snprintf does, so a return >= size means it was cut; -1 for an unknown family or style. Keys are
 * shown with their defaults (KEY=DEFAULT); A|B is a choice whose first value is the default; a
 * default in words (target=n_max) or none (KEY=) depends on the run, as the method's help says. */
TL_API int tl_methods_list(int family, int style, char *buf, size_t size);

#endif
