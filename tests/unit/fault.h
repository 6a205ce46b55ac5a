/* Fault injection for the library's own allocations and oneDNN calls, sqlite-style: a test binary
 * linked with $(TL_FAULT_WRAP) (Makefile: ld's --wrap) sends every call to malloc, calloc, realloc,
 * aligned_alloc, posix_memalign, strdup, strndup, open_memstream and to the oneDNN functions below
 * made from libtailor.a (and from the test itself) through these wrappers, which count them and make
 * call number fault_at of the armed kind fail (NULL / ENOMEM, or dnnl_out_of_memory). Calls made
 * inside the system libraries (glibc's fopen, OpenBLAS, oneDNN's own allocations) are not seen.
 * Counters are atomic: the loader's worker threads allocate too. */
#ifndef TL_TESTS_FAULT_H
#define TL_TESTS_FAULT_H
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dnnl.h>

enum { FAULT_ALLOC, FAULT_DNNL, FAULT_NKINDS };

static atomic_long fault_calls[FAULT_NKINDS];  /* calls of each kind since fault_arm */
static atomic_long fault_at[FAULT_NKINDS];     /* the call (1-based) that fails; 0: none */
static atomic_int fault_fired;                 /* a call was made to fail since fault_arm */

/* Starts counting afresh; call number `at` of `kind` will fail (at = 0: count only). */
static inline void fault_arm(int kind, long at) {
    for (int k = 0; k < FAULT_NKINDS; k++) { atomic_store(&fault_calls[k], 0); atomic_store(&fault_at[k], 0); }
    atomic_store(&fault_at[kind], at);
    atomic_store(&fault_fired, 0);
}
static inline void fault_disarm(void) { for (int k = 0; k < FAULT_NKINDS; k++) atomic_store(&fault_at[k], 0); }
static inline long fault_count(int kind) { return atomic_load(&fault_calls[kind]); }

/* Counts a call of `kind`; 1 when it is the one to fail. TL_FAULT_BACKTRACE=1 in the environment
 * prints where each failing call was made (to find the caller that mishandles it). */
static inline int fault_hit(int kind) {
    long n = atomic_fetch_add(&fault_calls[kind], 1) + 1;
    if (n != atomic_load(&fault_at[kind])) return 0;
    atomic_store(&fault_fired, 1);
    if (getenv("TL_FAULT_BACKTRACE")) {
        void *frames[16];
        fprintf(stderr, "fault: failing call %ld:\n", n);
        backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
    }
    return 1;
}

#define FAULT_ALLOC_FAIL(ret) do { if (fault_hit(FAULT_ALLOC)) { errno = ENOMEM; return ret; } } while (0)

void *__real_malloc(size_t n);
void *__real_calloc(size_t m, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
FILE *__real_open_memstream(char **buf, size_t *len);

void *__wrap_malloc(size_t n) { FAULT_ALLOC_FAIL(NULL); return __real_malloc(n); }
void *__wrap_calloc(size_t m, size_t n) { FAULT_ALLOC_FAIL(NULL); return __real_calloc(m, n); }
void *__wrap_realloc(void *p, size_t n) { FAULT_ALLOC_FAIL(NULL); return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { FAULT_ALLOC_FAIL(NULL); return __real_aligned_alloc(a, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) {
    if (fault_hit(FAULT_ALLOC)) return ENOMEM;
    return __real_posix_memalign(p, a, n);
}
char *__wrap_strdup(const char *s) { FAULT_ALLOC_FAIL(NULL); return __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { FAULT_ALLOC_FAIL(NULL); return __real_strndup(s, n); }
FILE *__wrap_open_memstream(char **buf, size_t *len) { FAULT_ALLOC_FAIL(NULL); return __real_open_memstream(buf, len); }

/* The oneDNN calls of src/nn/conv2d.c that return a status (descriptor queries and destroys aside). */
#define FAULT_DNNL_WRAP(name, params, args) \
    dnnl_status_t __real_##name params; \
    dnnl_status_t __wrap_##name params { \
        if (fault_hit(FAULT_DNNL)) return dnnl_out_of_memory; \
        return __real_##name args; \
    }
FAULT_DNNL_WRAP(dnnl_engine_create, (dnnl_engine_t *e, dnnl_engine_kind_t k, size_t i), (e, k, i))
FAULT_DNNL_WRAP(dnnl_stream_create, (dnnl_stream_t *s, dnnl_engine_t e, unsigned f), (s, e, f))
FAULT_DNNL_WRAP(dnnl_memory_desc_init_by_tag,
                (dnnl_memory_desc_t *d, int n, const dnnl_dims_t dims, dnnl_data_type_t t, dnnl_format_tag_t tag),
                (d, n, dims, t, tag))
FAULT_DNNL_WRAP(dnnl_memory_create, (dnnl_memory_t *m, const dnnl_memory_desc_t *d, dnnl_engine_t e, void *h),
                (m, d, e, h))
FAULT_DNNL_WRAP(dnnl_memory_set_data_handle, (dnnl_memory_t m, void *h), (m, h))
FAULT_DNNL_WRAP(dnnl_memory_get_data_handle, (const_dnnl_memory_t m, void **h), (m, h))
FAULT_DNNL_WRAP(dnnl_memory_get_memory_desc, (const_dnnl_memory_t m, const dnnl_memory_desc_t **d), (m, d))
FAULT_DNNL_WRAP(dnnl_primitive_attr_create, (dnnl_primitive_attr_t *a), (a))
FAULT_DNNL_WRAP(dnnl_primitive_attr_set_scratchpad_mode, (dnnl_primitive_attr_t a, dnnl_scratchpad_mode_t m), (a, m))
FAULT_DNNL_WRAP(dnnl_primitive_attr_set_post_ops, (dnnl_primitive_attr_t a, const_dnnl_post_ops_t p), (a, p))
FAULT_DNNL_WRAP(dnnl_post_ops_create, (dnnl_post_ops_t *p), (p))
FAULT_DNNL_WRAP(dnnl_post_ops_append_sum, (dnnl_post_ops_t p, float s), (p, s))
FAULT_DNNL_WRAP(dnnl_primitive_desc_create,
                (dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t d, const_dnnl_primitive_attr_t a, dnnl_engine_t e,
                 const_dnnl_primitive_desc_t h),
                (pd, d, a, e, h))
FAULT_DNNL_WRAP(dnnl_reorder_primitive_desc_create,
                (dnnl_primitive_desc_t *pd, const dnnl_memory_desc_t *s, dnnl_engine_t se, const dnnl_memory_desc_t *d,
                 dnnl_engine_t de, const_dnnl_primitive_attr_t a),
                (pd, s, se, d, de, a))
FAULT_DNNL_WRAP(dnnl_primitive_create, (dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd), (p, pd))
FAULT_DNNL_WRAP(dnnl_primitive_execute, (const_dnnl_primitive_t p, dnnl_stream_t s, int n, const dnnl_exec_arg_t *a),
                (p, s, n, a))
FAULT_DNNL_WRAP(dnnl_stream_wait, (dnnl_stream_t s), (s))

#endif
