/* The image loader's throughput: decode + transform + normalise of a folder of image files, as a
 * training epoch visits them (shuffled, no cache), against bench_loader.py's PyTorch DataLoader.
 * Usage: bench_loader ROOT SIZE WORKERS [EPOCHS]: ROOT in the ImageFolder layout (train/ is read);
 * transforms random-resized-crop:size=SIZE,flip; batch 64; prints images/s of each epoch and the median. */
#include <stdio.h>
#include <stdlib.h>
#include "core/error.h"
#include "data/dataset.h"
#include "timing.h"

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: bench_loader ROOT SIZE WORKERS [EPOCHS]\n"); return 2; }
    int size = atoi(argv[2]), workers = atoi(argv[3]), epochs = argc > 4 ? atoi(argv[4]) : 3, B = 64;
    tl_dataset tr, te, va;
    tl_error err = {{0}};
    tl_transform t;
    char spec[64];
    snprintf(spec, sizeof spec, "random-resized-crop:size=%d,flip", size);
    if (tl_folder_load(&tr, &te, &va, argv[1], NULL, &err) || tl_transform_parse(&t, spec, "--augment", &err) ||
        tl_images_configure(tr.images, 3, tl_transform_load_side(&t), 0, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    float mean[3] = {124, 116, 104}, std[3] = {58, 57, 57};
    tr.c = 3;
    tl_loader *L = tl_loader_create(&tr, mean, std, &t, 3, size, size, B, 1, workers, &err);
    int n = tr.n - tr.n % B, *order = malloc(sizeof *order * (size_t)tr.n);
    double ips[64];
    tl_rng rng;
    tl_rng_seed(&rng, 1, TL_RNG_SAMPLER);
    for (int e = 0; e < epochs && e < 64; e++) {
        for (int i = 0; i < tr.n; i++) order[i] = i;
        tl_rng_shuffle(&rng, order, tr.n);
        double t0 = now();
        if (!L || tl_loader_start(L, order, n, e, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        const float *x;
        const int *y;
        volatile float sink = 0;
        int got, seen = 0;
        while ((got = tl_loader_next(L, &x, &y, &err)) > 0) { sink += x[0]; seen += got; }
        if (got < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        ips[e] = seen / (now() - t0);
        printf("epoch %d: %.1f images/s\n", e, ips[e]);
    }
    printf("tailor loader, %d workers, size %d: median %.1f images/s\n", workers, size, median(ips, epochs));
    tl_loader_free(L);
    free(order);
    tl_dataset_free(&tr); tl_dataset_free(&te); tl_dataset_free(&va);
    return 0;
}
