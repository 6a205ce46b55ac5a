/* tailor plot: a run's figures that training does not draw: its 2-D feature embedding (runs trained
 * with --feat-dim 2) and its per-class weight norms, written into the run folder or to --out. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "tailor.h"

static const tl_option plot_opts[] = {
    {"run", NULL, "finished run folder", 0, 0, 0},
    {"out", "", "PNG to write (default RUN/embedding.png or RUN/weight_norms.png)", 0, 0, 0},
    {"split", "test", "embedding: the images to draw, test or train (the long-tailed training view)", 0, 0, 0},
    {"max-points", "6000", "embedding: draw at most this many images (an even subsample)", 0, 0, 0},
    {"batch", "256", "batch size", 0, 0, 0},
    {"threads", "2", "threads", 0, 0, 0},
};
#define NOPTS ((int)(sizeof plot_opts / sizeof *plot_opts))

int tl_cmd_plot(int argc, char **argv) {
    const char *synopsis = "embedding|weights --run DIR [options]";
    if (argc < 1 || (strcmp(argv[0], "embedding") && strcmp(argv[0], "weights"))) {
        if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
            tl_options_usage(plot_opts, NOPTS, "plot", synopsis, stdout);
            return 0;
        }
        fprintf(stderr, "tailor: plot: give a figure: embedding or weights (tailor plot --help)\n");
        return 2;
    }
    const char *what = argv[0];
    if (tl_options_help(argc - 1, argv + 1, plot_opts, NOPTS, "plot", synopsis)) return 0;
    tl_error err = {{0}}, terr = {{0}};
    tl_options *o = tl_options_parse(plot_opts, NOPTS, argc - 1, argv + 1, "plot", &err);
    if (!o) { fprintf(stderr, "tailor: %s\n", err.msg); return 2; }
    tl_run *run = NULL;
    tl_data *data = NULL;
    tl_folder *run_lock = NULL;
    char out[4200];
    long batch, threads = 1, val, maxp;
    int status = 1;
    const char *dir = tl_options_get(o, "run");
    int bad_threads = tl_options_int(o, "threads", 1, 256, &threads, &terr);
    if (!(run = tl_run_open(dir, bad_threads ? 1 : (int)threads, &err)) || tl_options_int(o, "batch", 1, 65536, &batch, &err))
        goto done;
    if (bad_threads) { err = terr; goto done; }
    const tl_config *cfg = tl_run_config(run);
    if (tl_config_int(cfg, "val", 0, 1000000, &val, &err) ||
        !(data = tl_data_open(tl_config_get(cfg, "data"), tl_config_get(cfg, "lt"), (int)val, NULL, &err)) ||
        tl_run_set_batch(run, (int)batch, &err))
        goto done;
    const char *file = strcmp(what, "weights") ? "embedding.png" : "weight_norms.png";
    if (*tl_options_get(o, "out")) snprintf(out, sizeof out, "%s", tl_options_get(o, "out"));
    else if ((size_t)snprintf(out, sizeof out, "%s/%s", dir, file) >= sizeof out) {
        snprintf(err.msg, sizeof err.msg, "path too long: %s/%s", dir, file);
        goto done;
    } else if (!(run_lock = tl_folder_lock(dir, "--run", &err)))  /* the figure goes into the run: one writer at a time */
        goto done;
    if (!strcmp(what, "weights")) {
        if (tl_run_plot_weights(run, data, out, &err)) goto done;
    } else {
        const char *split = tl_options_get(o, "split");
        if (tl_options_int(o, "max-points", 1, 100000000, &maxp, &err)) goto done;
        if (strcmp(split, "test") && strcmp(split, "train")) {
            snprintf(err.msg, sizeof err.msg, "--split: '%s' is not test or train", split);
            goto done;
        }
        if (tl_run_plot_embedding(run, data, strcmp(split, "train") ? TL_SPLIT_TEST : TL_SPLIT_TRAIN, (int)maxp, out, &err))
            goto done;
    }
    printf("%s\n", out);
    status = 0;
done:
    if (status) fprintf(stderr, "tailor: %s\n", err.msg);
    tl_folder_unlock(run_lock);
    tl_data_free(data);
    tl_run_free(run);
    tl_options_free(o);
    return status;
}
