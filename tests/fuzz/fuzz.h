/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): the path-based loaders read their input
 * from memfd files opened through /proc/self/fd, so a run touches no disk and leaves nothing behind,
 * and a split of one input into two files lets one target feed a pair (images + labels, train + test). */
#ifndef TL_FUZZ_H
#define TL_FUZZ_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_SLOTS 4

/* Replaces the content of in-memory file `slot` with data[0..size) and returns its path. */
static inline const char *fuzz_file(int slot, const uint8_t *data, size_t size) {
    static int fd[FUZZ_SLOTS] = {-1, -1, -1, -1};
    static char path[FUZZ_SLOTS][64];
    if (fd[slot] < 0) {
        fd[slot] = memfd_create("tailor-fuzz", 0);
        if (fd[slot] < 0) { perror("memfd_create"); abort(); }
        snprintf(path[slot], sizeof path[slot], "/proc/self/fd/%d", fd[slot]);
    }
    if (ftruncate(fd[slot], 0) != 0) abort();
    for (size_t done = 0; done < size;) {
        ssize_t w = pwrite(fd[slot], data + done, size - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
    return path[slot];
}

/* Splits data at an offset taken from its first two bytes: *a = [2, 2+k), *b = the rest. */
static inline void fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *na, const uint8_t **b, size_t *nb) {
    if (size < 2) { *a = data; *na = size; *b = data + size; *nb = 0; return; }
    size_t rest = size - 2, k = ((size_t)data[0] | (size_t)data[1] << 8) % (rest + 1);
    *a = data + 2; *na = k;
    *b = data + 2 + k; *nb = rest - k;
}

/* Reads every float of a loaded data set (so ASan sees any short allocation) and checks labels. */
#define FUZZ_CHECK_DATASET(d)                                                                   \
    do {                                                                                        \
        volatile float sink = 0;                                                                \
        size_t nv_ = (size_t)(d).n * (size_t)(d).c * (size_t)(d).h * (size_t)(d).w;            \
        for (size_t i_ = 0; i_ < nv_; i_++) sink += (d).x[i_];                                  \
        for (int i_ = 0; i_ < (d).n; i_++)                                                      \
            if ((d).y[i_] < 0 || (d).y[i_] >= (d).num_classes) abort();                          \
        for (int k_ = 0; (d).class_names && k_ < (d).num_classes; k_++) sink += (float)strlen((d).class_names[k_]); \
        (void)sink;                                                                             \
    } while (0)

#endif
