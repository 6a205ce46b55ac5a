/* Fuzz target: CSV features + labels (src/data/csv.c).
 * Input: <mode byte> <split u16> <train bytes | test bytes>. mode bit 0: load the test file too;
 * bits 1..3 pick the label column argument; bits 4..5 na= (refuse, drop, mean); bit 6 rownames=skip;
 * bit 7 a classes= list (with header=1 when bits 4..5 are 3). */
#include <math.h>
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
    static const char *const classes[3] = {"a", "b", "1"};
    int na = (mode >> 4) & 3;
    tl_csv_opts o = {.label = label_cols[(mode >> 1) & 7], .header = na == 3 ? 1 : -1, .na = na == 3 ? 0 : na,
                     .skip_rownames = (mode >> 6) & 1, .classes = (mode & 128) ? classes : NULL, .nclasses = (mode & 128) ? 3 : 0};
    if (tl_csv_load_opts(&train, &test, trp, tep, &o, &err) == 0) {
        if (train.n < 1 || train.c < 1 || train.c != test.c || train.num_classes != test.num_classes) abort();
        for (size_t k = 0; k < (size_t)train.n * train.c; k++) if (!isfinite(train.x[k])) abort();  /* NA filled or dropped */
        FUZZ_CHECK_DATASET(train);
        FUZZ_CHECK_DATASET(test);
        tl_dataset_free(&train);
        tl_dataset_free(&test);
    }
    return 0;
}
