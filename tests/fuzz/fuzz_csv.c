/* Fuzz target: CSV features + labels (src/data/csv.c).
 * Input: <mode byte> <split u16> <train bytes | test bytes>. mode bit 0: load the test file too;
 * bits 1..3 pick the label column argument. */
#include "data/dataset.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const label_cols[8] = {NULL, "0", "1", "label", "-1", "2", "y", "99999999999999999999"};
    int mode = data[0];
    const uint8_t *tr, *te;
    size_t ntr, nte;
    fuzz_split(data + 1, size - 1, &tr, &ntr, &te, &nte);
    const char *trp = fuzz_file(0, tr, ntr), *tep = (mode & 1) ? fuzz_file(1, te, nte) : NULL;
    tl_dataset train, test;
    tl_error err;
    if (tl_csv_load(&train, &test, trp, tep, label_cols[(mode >> 1) & 7], &err) == 0) {
        if (train.n < 1 || train.c < 1 || train.c != test.c || train.num_classes != test.num_classes) abort();
        FUZZ_CHECK_DATASET(train);
        FUZZ_CHECK_DATASET(test);
        tl_dataset_free(&train);
        tl_dataset_free(&test);
    }
    return 0;
}
