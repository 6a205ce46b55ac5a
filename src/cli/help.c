/* tailor COMMAND --help (help.h). */
#include <stdio.h>
#include <stdlib.h>
#include "help.h"

void tl_cli_methods(FILE *f, const int *families, int nfamilies) {
    for (int i = 0; i < nfamilies; i++) {
        char probe[1];
        int len = tl_methods_list(families[i], TL_METHODS_TEXT, probe, sizeof probe);
        char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
        if (!text) continue;
        tl_methods_list(families[i], TL_METHODS_TEXT, text, (size_t)len + 1);
        fprintf(f, "\n%s (%s):\n%s", tl_family_option(families[i]), tl_family_name(families[i]), text);
        free(text);
    }
}

int tl_cli_help(int argc, char **argv, const tl_option *defs, int n, const char *cmd, const char *synopsis,
                const int *families, int nfamilies) {
    if (!tl_options_help(argc, argv, defs, n, cmd, synopsis)) return 0;
    tl_cli_methods(stdout, families, nfamilies);
    return 1;
}
