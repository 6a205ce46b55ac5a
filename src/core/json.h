/* A small JSON reader (RFC 8259) for configs and safetensors headers, and helpers for writing.
 * Parsing builds a tree in one malloc'ed block; the caller owns it and frees it with tl_json_free.
 * Depth, size and number syntax are checked, so hostile input yields an error, never a crash. */
#ifndef TL_CORE_JSON_H
#define TL_CORE_JSON_H
#include <stdio.h>
#include <stddef.h>
#include "tailor.h"

typedef enum { TL_JSON_NULL, TL_JSON_BOOL, TL_JSON_NUMBER, TL_JSON_STRING, TL_JSON_ARRAY, TL_JSON_OBJECT } tl_json_type;

typedef struct tl_json {
    tl_json_type type;
    char *key;              /* member name when inside an object, else NULL */
    char *str;              /* TL_JSON_STRING (NUL-terminated; embedded NULs are rejected) */
    double num;             /* TL_JSON_NUMBER, also 1/0 for TL_JSON_BOOL */
    struct tl_json *child;  /* first element/member of an array/object */
    struct tl_json *next;   /* next sibling */
    int count;              /* number of children */
} tl_json;

/* Parses `len` bytes. Returns the root, or NULL with err naming `what` (a file name) and the offset. */
tl_json *tl_json_parse(const char *text, size_t len, const char *what, tl_error *err);
void tl_json_free(tl_json *root);
/* Member of an object by name, or NULL. */
const tl_json *tl_json_get(const tl_json *obj, const char *key);

/* Writes s as a JSON string literal (quoted, escaped). */
void tl_json_write_string(FILE *f, const char *s);
/* Writes a double so that it reads back exactly ("%.17g"; non-finite values as null). */
void tl_json_write_number(FILE *f, double v);

#endif
