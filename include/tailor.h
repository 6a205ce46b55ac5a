/* tailor: long-tailed (class-imbalanced) classification in C.
 *
 * The public API is small on purpose: opaque handles, tl_ prefix, init/free pairs, and errors
 * returned through tl_error (0 = success, -1 = failure with a message naming the file or option).
 * The library never prints and never exits; the `tailor` command is built on this header alone. */
#ifndef TAILOR_H
#define TAILOR_H

#define TL_VERSION "0.1.0"

/* One sentence describing the last failure of a call that took this error object. */
typedef struct tl_error { char msg[512]; } tl_error;

#endif
