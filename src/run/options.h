/* Command-line options of a subcommand: a table of named settings, each a string, filled from
 * defaults, then a --config JSON file, then the command line (later wins). The resolved table is
 * what a run folder's config.json holds, so `tailor train --config DIR/config.json` repeats a run. */
#ifndef TL_RUN_OPTIONS_H
#define TL_RUN_OPTIONS_H
#include <stdio.h>
#include "tailor.h"

/* The table's entries are the public tl_option (include/tailor.h). */
typedef tl_option tl_optdef;

#define TL_MAX_OPTS 40

typedef struct {
    const tl_optdef *defs;
    int n;
    char *value[TL_MAX_OPTS];   /* owned copies */
} tl_opts;

/* Fills defaults, reads --config FILE if given, then the other arguments. Returns 0, or -1 with a
 * message naming the option ("--epochs: missing value", "unknown option --foo (see tailor train --help)")
 * and o freed (tl_opts_free on it again is harmless). */
int tl_opts_parse(tl_opts *o, const tl_optdef *defs, int n, int argc, char **argv, const char *cmd, tl_error *err);
/* Reads a config.json (an object of option names to strings or numbers) into o. */
int tl_opts_read_config(tl_opts *o, const char *path, tl_error *err);
/* Fills o with the defaults of defs only; a required option (def NULL) is left "" (unset). */
int tl_opts_defaults(tl_opts *o, const tl_optdef *defs, int n, tl_error *err);
/* A deep copy of src into dst. */
int tl_opts_copy(tl_opts *dst, const tl_opts *src, tl_error *err);
/* The index of option `name` in o's table, or -1. */
int tl_opt_find(const tl_opts *o, const char *name);
void tl_opts_free(tl_opts *o);
const char *tl_opt(const tl_opts *o, const char *name);
/* Replaces the value of option `name` (config.json then records what a default resolved to, or a
 * run's new head). Fails on a name the table lacks. */
int tl_opt_set(tl_opts *o, const char *name, const char *value, tl_error *err);
/* Parses an option as an integer in [lo, hi]; "--epochs: 'x' is not an integer in 1..100000". */
int tl_opt_int(const tl_opts *o, const char *name, long lo, long hi, long *out, tl_error *err);
/* Writes the options marked in_config as a JSON object. */
void tl_opts_write_config(const tl_opts *o, FILE *f);
void tl_opts_usage(const tl_optdef *defs, int n, const char *cmd, const char *synopsis, FILE *f);
/* When argv holds --help or -h, prints the usage to stdout and returns 1. */
int tl_opts_help(int argc, char **argv, const tl_optdef *defs, int n, const char *cmd, const char *synopsis);

#endif
