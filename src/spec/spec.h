/* The `NAME[:key=value,key=value]` syntax shared by every pluggable part (sampler, head, loss,
 * optimizer, schedule, ...): one parser, typed getters that validate values, and the error
 * messages that list what is valid.
 *
 * Usage, for `--loss focal:gamma=2`:
 *     tl_spec s;
 *     if (tl_spec_parse(&s, text, "--loss", err)) return -1;
 *     int i = tl_spec_lookup(&s, loss_table, sizeof loss_table[0], nlosses, err);  // by name
 *     double gamma;
 *     if (i < 0 || tl_spec_double(&s, "gamma", 2.0, &gamma, err) || tl_spec_check_unused(&s, err)) return -1;
 * Every getter records the key it was asked for, so tl_spec_check_unused can reject a misspelt key
 * and list the valid ones. A tl_spec is a plain value (no heap); strings returned point into it. */
#ifndef TL_SPEC_SPEC_H
#define TL_SPEC_SPEC_H
#include <stddef.h>
#include "tailor.h"

#define TL_SPEC_MAX_KEYS   32   /* key=value pairs in one spec */
#define TL_SPEC_MAX_ASKED  48   /* distinct keys a consumer may ask for */
#define TL_SPEC_NAME_MAX   64   /* buffer sizes, NUL included */
#define TL_SPEC_KEY_MAX    32
#define TL_SPEC_VALUE_MAX  256
#define TL_SPEC_OPTION_MAX 32

typedef struct {
    char key[TL_SPEC_KEY_MAX];
    char value[TL_SPEC_VALUE_MAX];
    int used;                               /* set by a getter */
} tl_spec_kv;

typedef struct {
    char option[TL_SPEC_OPTION_MAX];        /* e.g. "--loss", used in messages; may be empty */
    char name[TL_SPEC_NAME_MAX];
    int nkv;
    tl_spec_kv kv[TL_SPEC_MAX_KEYS];
    int nasked;
    char asked[TL_SPEC_MAX_ASKED][TL_SPEC_KEY_MAX];
} tl_spec;

/* Parses text into out. Names and keys are letters, digits, '_', '-' and '.'; a value is any
 * non-empty run of characters other than ','. Rejects: an empty name, a ':' with nothing after it,
 * empty pairs, a pair without '=', an empty key or value, a duplicate key, more than
 * TL_SPEC_MAX_KEYS pairs, and over-long names, keys or values. Messages start with option. */
int tl_spec_parse(tl_spec *out, const char *text, const char *option, tl_error *err);

/* Typed getters. Each records key as valid, then: if the key is absent, *out = def and 0 is
 * returned; if present, it is marked used and its value must parse completely, else -1 with
 * e.g. "--loss focal: gamma=abc is not a number". Doubles must be finite; numbers (and each number of
 * tl_spec_doubles) must lie in their key's range (tl_spec_range). */
int tl_spec_double(tl_spec *s, const char *key, double def, double *out, tl_error *err);
int tl_spec_int(tl_spec *s, const char *key, int def, int *out, tl_error *err);
/* *out points into s (or is def). */
int tl_spec_str(tl_spec *s, const char *key, const char *def, const char **out, tl_error *err);
/* Accepts 1/0, true/false, yes/no, on/off. */
int tl_spec_bool(tl_spec *s, const char *key, int def, int *out, tl_error *err);
/* One of n choices: *out is its index (def when absent); otherwise
 * "--loss ce: weights=foo is not one of none, inverse, sqrt-inverse, effective". */
int tl_spec_choice(tl_spec *s, const char *key, const char *const *choices, int n, int def, int *out,
                   tl_error *err);
/* A '/'-separated list of numbers, e.g. milestones=160/180. If the key is absent, out and *n are
 * left untouched (so the caller pre-fills defaults); else *n is set to the count (1..max). */
int tl_spec_doubles(tl_spec *s, const char *key, double *out, int max, int *n, tl_error *err);

/* Checks a value of key against the range table in spec.c (every numeric getter calls it; a key read
 * as text, such as logit-adjust's tau=auto, calls it once parsed). Returns 0, or -1 with e.g.
 * "--optim sgd: lr=1e+30 must be <= 10" or "--optim sgd: momentum=1 must be in [0, 1)". */
int tl_spec_range(const tl_spec *s, const char *key, double v, int integer, tl_error *err);

/* Fails with "--loss focal: unknown key 'gama' (valid: gamma, weights, beta, drw)" when a key was
 * never asked for by a getter ("(this takes no keys)" when none was). Call after all getters. */
int tl_spec_check_unused(const tl_spec *s, tl_error *err);

/* A value-range error about a parsed spec: formats the message behind its "--optim sgd: " prefix
 * into err and returns -1, e.g. tl_spec_fail(err, &s, "lr=%g must be > 0", lr). */
int tl_spec_fail(tl_error *err, const tl_spec *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Finds s->name in a table of n entries, `stride` bytes apart, each beginning with its
 * `const char *name` (a plain array of names works with stride sizeof(char *)). Returns the index,
 * or -1 with "--sampler: unknown name 'foo' (valid: instance, class, sqrt)". */
int tl_spec_lookup(const tl_spec *s, const void *table, size_t stride, int n, tl_error *err);
/* Parses text into out and finds its name in a table of n pointers to structs that begin with their
 * `const char *name` (the ops tables of samplers, heads, losses, stage-2 methods). Returns the
 * index, or -1 with the parse error or the list of valid names. */
int tl_spec_parse_ops(tl_spec *out, const char *text, const char *option, const void *const *table, int n,
                      tl_error *err);

#endif
