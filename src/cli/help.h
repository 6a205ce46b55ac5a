/* `tailor COMMAND --help`: the usage and options, then the methods of the families the command
 * chooses among, rendered from the library's method tables (tl_methods_list), so the lists a user
 * reads are the names, keys and help the code accepts. */
#ifndef TL_CLI_HELP_H
#define TL_CLI_HELP_H
#include "tailor.h"

/* When argv holds --help or -h: prints the usage of cmd (options defs[0..n)) and the method lists of
 * families[0..nfamilies) to stdout and returns 1; else 0. */
int tl_cli_help(int argc, char **argv, const tl_option *defs, int n, const char *cmd, const char *synopsis,
                const int *families, int nfamilies);
/* The method lists alone, after a blank line each. */
void tl_cli_methods(FILE *f, const int *families, int nfamilies);

#endif
