#include <stdlib.h>
#include <string.h>
#include "core/arena.h"

#define TL_ALIGN 64

void tl_arena_measure(tl_arena *a) { a->base = NULL; a->used = 0; a->cap = (size_t)-1; }

int tl_arena_init(tl_arena *a, size_t bytes) {
    a->used = 0;
    a->cap = bytes;
    a->base = bytes ? aligned_alloc(TL_ALIGN, (bytes + TL_ALIGN - 1) / TL_ALIGN * TL_ALIGN) : NULL;
    if (bytes && !a->base) return -1;
    if (a->base) memset(a->base, 0, bytes);
    return 0;
}

void *tl_arena_alloc(tl_arena *a, size_t bytes) {
    size_t start = (a->used + TL_ALIGN - 1) / TL_ALIGN * TL_ALIGN;
    if (start + bytes > a->cap) return NULL;
    a->used = start + bytes;
    return a->base ? a->base + start : NULL;
}

float *tl_arena_floats(tl_arena *a, size_t n) { return tl_arena_alloc(a, n * sizeof(float)); }

void tl_arena_free(tl_arena *a) { free(a->base); a->base = NULL; a->used = a->cap = 0; }
