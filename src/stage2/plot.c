/* weight_norms.png: ‖w_c‖ of one or more classifiers per class, classes ordered by training count
 * (largest first), one coloured line per classifier (methods.md §8: joint training leaves head
 * classes with larger norms). Drawn like src/eval/plot.c: its own PLplot stream with the pngcairo
 * device, errors collected with plsError, fatal ones caught through plsexit, the PNG written to a
 * temporary name, fsync'ed and renamed into place. PLplot keeps global state: one thread at a time. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <plplot/plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/error.h"
#include "stage2/stage2.h"

static _Thread_local jmp_buf *fatal_jump;
static _Thread_local char fatal_msg[512];

static int on_plexit(const char *msg) {
    if (!fatal_jump) return 1;
    snprintf(fatal_msg, sizeof fatal_msg, "%s", msg);
    longjmp(*fatal_jump, 1);
}

static void draw(const float *const *norms, const char *const *labels, int nseries, const int64_t *count, int C,
                 const char *title, const int *order) {
    static const unsigned char rgb[8][3] = {{255, 255, 255}, {0, 0, 0}, {215, 215, 215}, {110, 110, 110},
                                            {31, 119, 180}, {230, 120, 10}, {44, 160, 44}, {214, 39, 40}};
    plscmap0n(16);
    for (int i = 0; i < 8; i++) plscol0(i, rgb[i][0], rgb[i][1], rgb[i][2]);
    plinit();
    pladv(0);
    plwidth(1.5);
    double hi = 0;
    for (int s = 0; s < nseries; s++)
        for (int c = 0; c < C; c++) hi = fmax(hi, norms[s][c]);
    plvpor(0.1, 0.97, 0.12, 0.9);
    plwind(-0.5, C - 0.5, 0, 1.12 * (hi > 0 ? hi : 1));
    plcol0(2);
    plbox("", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox("bc", 0, 0, "bcnstv", 0, 0);
    pllab("classes by training count (largest first; the count under each)", "weight norm", title);
    plschr(0, C <= 20 ? 0.75 : 0.5);
    char text[32];
    for (int k = 0; k < C && C <= 40; k++) {
        snprintf(text, sizeof text, "%lld", (long long)count[order[k]]);
        plmtex("b", 1.2, (k + 0.5) / C, 0.5, text);
    }
    PLFLT *x = malloc((size_t)C * sizeof *x), *y = malloc((size_t)C * sizeof *y);
    for (int s = 0; s < nseries && x && y; s++) {
        for (int k = 0; k < C; k++) { x[k] = k; y[k] = norms[s][order[k]]; }
        plcol0(4 + s % 4);
        plline(C, x, y);
        plschr(0, 1.0);
        plstring(C, x, y, "●");
        plschr(0, 0.8);
        plptex(-0.4, 1.12 * hi * (0.96 - 0.06 * s), 1, 0, 0.0, labels[s]);   /* legend, top left */
    }
    free(x);
    free(y);
    plschr(0, 1.0);
}

int tl_stage2_plot_norms(const char *path, const float *const *norms, const char *const *labels, int nseries,
                         const int64_t *count, int C, const char *title, tl_error *err) {
    const char *menu[128], *dev[128], **pm = menu, **pd = dev;
    int ndev = 128, found = 0;
    plgFileDevs(&pm, &pd, &ndev);
    for (int i = 0; i < ndev; i++) found |= !strcmp(dev[i], "pngcairo");
    if (!found) return tl_fail(err, "%s: PLplot has no pngcairo device (Debian package plplot-driver-cairo)", path);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp) return tl_fail(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    fclose(f);
    int *order = malloc((size_t)C * sizeof *order);
    if (!order) { remove(tmp); return tl_fail(err, "out of memory"); }
    for (int c = 0; c < C; c++) order[c] = c;
    for (int i = 1; i < C; i++)   /* insertion sort: count descending, label ascending */
        for (int j = i; j > 0 && count[order[j]] > count[order[j - 1]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    PLINT old, stream, code = 0;
    char msg[1024] = "";
    jmp_buf jump;
    plgstrm(&old);
    plsexit(on_plexit);
    if (setjmp(jump)) {
        fatal_jump = NULL;
        plsstrm(old);
        remove(tmp);
        free(order);
        return tl_fail(err, "%s: PLplot: %s", path, fatal_msg);
    }
    fatal_jump = &jump;
    plmkstrm(&stream);
    plsError(&code, msg);
    plsdev("pngcairo");
    plsfnam(tmp);
    plspage(0, 0, 900, 560, 0, 0);
    draw(norms, labels, nseries, count, C, title, order);
    plend1();
    fatal_jump = NULL;
    plsstrm(old);
    free(order);
    if (code) { remove(tmp); return tl_fail(err, "%s: PLplot: %s", path, msg); }
    int fd = open(tmp, O_RDONLY);
    int bad = fd < 0 || fsync(fd) != 0;
    if (fd >= 0) close(fd);
    if (!bad && rename(tmp, path) == 0) return 0;
    remove(tmp);
    return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
}
