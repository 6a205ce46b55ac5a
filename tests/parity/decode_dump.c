/* Decodes image files with tailor's decoder, for test_decode.py.
 * Usage: decode_dump MIN_SIDE PATH... OUT.safetensors: tensor "<i>" (I32, h x w x c) is PATH i decoded
 * (tl_image_decode with MIN_SIDE: 0 = full size), or absent when decoding fails; the metadata entry
 * "<i>" is "ok" or the error message, and "probe<i>" the header's "h w c" (tl_image_probe).
 * decode_dump stats ROOT OUT.safetensors: the per-channel mean and std (tl_norm_stats) of the training
 * split of the image folder ROOT as 3-channel images at full size, as tensors "mean" and "std" (F32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/safetensors.h"
#include "data/dataset.h"

static int stats(const char *root, const char *out) {
    tl_dataset tr, te, va;
    tl_error err = {{0}};
    float m[3], sd[3];
    if (tl_folder_load(&tr, &te, &va, root, NULL, &err) || tl_images_configure(tr.images, 3, 0, 0, &err) ||
        (tr.c = 3, tl_norm_stats(m, sd, &tr, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    tl_st_tensor t[2] = {{"mean", "F32", 1, {3}, m}, {"std", "F32", 1, {3}, sd}};
    int rc = tl_st_write(out, t, 2, NULL, 0, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    tl_dataset_free(&tr); tl_dataset_free(&te); tl_dataset_free(&va);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "stats")) return stats(argv[2], argv[3]);
    if (argc < 3) { fprintf(stderr, "usage: decode_dump MIN_SIDE PATH... OUT\n"); return 2; }
    int n = argc - 3, min_side = atoi(argv[1]), nt = 0, nm = 0;
    tl_st_tensor *t = calloc((size_t)n + 1, sizeof *t);
    char **meta = calloc(4 * (size_t)n + 1, sizeof *meta), (*names)[16] = calloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++) {
        tl_image im = {0};
        tl_image_info info;
        tl_error err = {{0}};
        const char *path = argv[2 + i];
        int p = tl_image_probe(&info, path, &err);
        char buf[64];
        snprintf(names[i], sizeof names[i], "%d", i);
        snprintf(buf, sizeof buf, "probe%d", i);
        meta[nm++] = strdup(buf);
        snprintf(buf, sizeof buf, "%d %d %d", p == 1 ? info.h : -1, p == 1 ? info.w : -1, p == 1 ? info.c : -1);
        meta[nm++] = strdup(buf);
        meta[nm++] = strdup(names[i]);
        if (tl_image_decode(&im, path, min_side, &err)) {
            meta[nm++] = strdup(err.msg);
            tl_image_free(&im);
            continue;
        }
        meta[nm++] = strdup("ok");
        int32_t *v = malloc((size_t)im.h * im.w * im.c * sizeof *v);
        for (size_t j = 0; j < (size_t)im.h * im.w * im.c; j++) v[j] = im.pix[j];
        t[nt++] = (tl_st_tensor){names[i], "I32", 3, {im.h, im.w, im.c}, v};
        tl_image_free(&im);
    }
    tl_error err = {{0}};
    if (tl_st_write(argv[argc - 1], t, nt, (const char *const *)meta, nm / 2, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    for (int i = 0; i < nt; i++) free((void *)t[i].data);
    for (int i = 0; i < nm; i++) free(meta[i]);
    free(t); free(meta); free(names);
    return 0;
}
