/* Fuzz target: IDX images and labels (src/data/idx.c), raw and gzip.
 * Input: <mode byte> <split u16> <images bytes | labels bytes>. mode bit 0: also load the labels file
 * (else labels_path = NULL, as `tailor predict` does); bit 1: gzip the images bytes first, so the
 * IDX parser is reached through zlib (gzip seeds in the corpus reach zlib's own error paths). */
#include <zlib.h>
#include "data/dataset.h"
#include "fuzz.h"

/* data gzip-compressed into a malloc'ed buffer (*out_len bytes). */
static uint8_t *gzip(const uint8_t *data, size_t size, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, (uLong)size);
    uint8_t *out = malloc(cap);
    if (!out) abort();
    z.next_in = (Bytef *)data; z.avail_in = (uInt)size;
    z.next_out = out; z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    const uint8_t *img, *lab;
    size_t nimg, nlab;
    fuzz_split(data + 1, size - 1, &img, &nimg, &lab, &nlab);
    const char *ip, *lp = NULL;
    if (mode & 2) {
        size_t gl;
        uint8_t *g = gzip(img, nimg, &gl);
        ip = fuzz_file(0, g, gl);
        free(g);
    } else {
        ip = fuzz_file(0, img, nimg);
    }
    if (mode & 1) lp = fuzz_file(1, lab, nlab);
    tl_dataset d;
    tl_error err;
    if (tl_idx_load(&d, ip, lp, &err) == 0) {
        if (d.c != 1 || d.n < 0 || d.h <= 0 || d.w <= 0) abort();
        FUZZ_CHECK_DATASET(d);
        tl_dataset_free(&d);
    }
    return 0;
}
