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
#include "data/dataset.h"

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
/* Reads every value of a loaded data set (feature rows, or every stored image, decoded when it is a
 * file), so the sanitizers see any bad access, and checks the labels. */
static inline void fuzz_check_dataset(const tl_dataset *d) {
    volatile float sink = 0;
    if (d->x) {
        size_t nv = (size_t)d->n * (size_t)d->c * (size_t)d->h * (size_t)d->w;
        for (size_t i = 0; i < nv; i++) sink += d->x[i];
    }
    tl_image im = {0}, tmp = {0};
    tl_error err;
    for (int i = 0; d->images && i < d->n; i++)
        if (tl_images_get(d->images, d->file[i], &im, &tmp, &err) == 0)
            for (size_t j = 0; j < (size_t)im.h * im.w * im.c; j++) sink += im.pix[j];
    tl_image_free(&im);
    tl_image_free(&tmp);
    for (int i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->num_classes) abort();
    for (int k = 0; d->class_names && k < d->num_classes; k++) sink += (float)strlen(d->class_names[k]);
    (void)sink;
}
#define FUZZ_CHECK_DATASET(d) fuzz_check_dataset(&(d))

#endif
