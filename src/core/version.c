#include "tailor.h"

/* The library's own version, so a program can tell which libtailor.so it loaded. */
const char *tl_version(void) { return TL_VERSION; }
int tl_version_number(void) { return TL_VERSION_NUMBER; }
