/* Whether OpenBLAS runs the kernels of this CPU (tailor.h, tl_blas_kernel_advice). OpenBLAS built
 * with DYNAMIC_ARCH (Debian's) chooses its kernels once, when it is loaded, by the CPU's model
 * number; a model newer than its table (Debian 12's 0.3.21 on a 5th-generation Xeon, model 207) gets
 * the generic "Prescott" SSE3 kernels. Its OPENBLAS_CORETYPE variable, read at that load, names
 * others: SkylakeX's need AVX-512 F, BW, DQ and VL; Haswell's AVX2 and FMA. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "tailor.h"

char *openblas_get_corename(void);

TL_API int tl_blas_kernel_advice(char *coretype, size_t cap) {
#if defined(__x86_64__)
    if (strcasecmp(openblas_get_corename(), "Prescott") != 0) return 0;
    __builtin_cpu_init();
    const char *better = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        better = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        better = "Haswell";
    if (!better || (size_t)snprintf(coretype, cap, "%s", better) >= cap) return 0;
    return 1;
#else
    (void)coretype;
    (void)cap;
    return 0;
#endif
}
