/* Fuzz target: CIFAR binary records (src/data/cifar.c).
 * Input: <mode byte> <file bytes>; mode bit 0 picks CIFAR-100 (2 label bytes) over CIFAR-10; bit 1
 * loads the file twice as two batches (the multi-file path of data_batch_1..5). */
#include "data/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    const char *p = fuzz_file(0, data + 1, size - 1);
    const char *paths[2] = {p, p};
    tl_dataset d;
    tl_error err;
    if (tl_cifar_load(&d, paths, (mode & 2) ? 2 : 1, (mode & 1) ? 100 : 10, &err) == 0) {
        if (d.c != 3 || d.h != 32 || d.w != 32) abort();
        FUZZ_CHECK_DATASET(d);
        tl_dataset_free(&d);
    }
    return 0;
}
