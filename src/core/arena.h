/* A bump allocator: one malloc up front, 64-byte aligned slices handed out, one free at the end.
 * Models size their arena with a measuring pass (base == NULL counts bytes without storing),
 * so a training step never allocates. */
#ifndef TL_CORE_ARENA_H
#define TL_CORE_ARENA_H
#include <stddef.h>

typedef struct {
    char *base;     /* NULL while measuring */
    size_t used, cap;
} tl_arena;

/* Measuring arena: tl_arena_alloc only counts. */
void tl_arena_measure(tl_arena *a);
/* Allocates `bytes` (zeroed). Returns 0, or -1 when out of memory. */
int tl_arena_init(tl_arena *a, size_t bytes);
/* A 64-byte aligned, zeroed slice of `bytes`; NULL while measuring or when the arena is full. */
void *tl_arena_alloc(tl_arena *a, size_t bytes);
float *tl_arena_floats(tl_arena *a, size_t n);
void tl_arena_free(tl_arena *a);

#endif
