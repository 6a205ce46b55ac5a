/* Fuzz target: PNG / JPEG decoding (src/data/decode.c) and image lists (src/data/imagelist.c).
 * Input: <mode byte> then, for mode bit 0 clear, one image file (header probe, then decoding, at full
 * size or, mode bit 1 set, with JPEG DCT scaling to a shorter side of 2); for bit 0 set,
 * <split u16> <train list | test list> of "PATH LABEL" lines read against a folder of three small
 * PNGs made at start-up (a.png, b.png: 4x4 gray; c.png: 4x4 RGB). Every '/' of a list is replaced
 * by '_' so a list can only name files inside that folder. */
#include <png.h>
#include "data/dataset.h"
#include "fuzz.h"

static char root[64];

static void remove_root(void) {
    static const char *const names[3] = {"a.png", "b.png", "c.png"};
    char p[128];
    for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s/%s", root, names[i]); unlink(p); }
    rmdir(root);
}

static void write_png(const char *name, int channels, int seed) {
    uint8_t px[4 * 4 * 3];
    for (int i = 0; i < 4 * 4 * channels; i++) px[i] = (uint8_t)(seed * 37 + i * 11);
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = im.height = 4;
    im.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    char p[128];
    snprintf(p, sizeof p, "%s/%s", root, name);
    if (!png_image_write_to_file(&im, p, 0, px, 0, NULL)) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    snprintf(root, sizeof root, "/tmp/tailor-fuzz-XXXXXX");
    if (!mkdtemp(root)) abort();
    atexit(remove_root);
    write_png("a.png", 1, 1);
    write_png("b.png", 1, 2);
    write_png("c.png", 3, 3);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tl_dataset d, e, v;
    tl_error err;
    if (!(data[0] & 1)) {
        const char *path = fuzz_file(0, data + 1, size - 1);
        tl_image_info info;
        tl_image im = {0}, tmp = {0};
        int probed = tl_image_probe(&info, path, &err);
        if (tl_image_load(&im, &tmp, path, 3, (data[0] & 2) ? 2 : 0, &err) == 0) {
            if (probed != 1 || im.c != 3 || im.h < 1 || im.w < 1) abort();
            volatile unsigned sink = 0;
            for (size_t i = 0; i < (size_t)im.h * im.w * im.c; i++) sink += im.pix[i];
            (void)sink;
        }
        tl_image_free(&im);
        tl_image_free(&tmp);
        return 0;
    }
    uint8_t *text = malloc(size);
    if (!text) abort();
    for (size_t i = 0; i < size; i++) text[i] = data[i] == '/' ? '_' : data[i];
    const uint8_t *tr, *te;
    size_t ntr, nte;
    fuzz_split(text + 1, size - 1, &tr, &ntr, &te, &nte);
    const char *trp = fuzz_file(0, tr, ntr), *tep = fuzz_file(1, te, nte);
    if (tl_imagelist_load(&d, &e, &v, root, trp, tep, NULL, &err) == 0) {
        if (d.c != e.c || d.images != e.images || v.n != 0) abort();
        FUZZ_CHECK_DATASET(d);
        FUZZ_CHECK_DATASET(e);
        tl_dataset_free(&d);
        tl_dataset_free(&e);
    }
    free(text);
    return 0;
}
