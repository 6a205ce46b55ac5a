/* PNG figures with PLplot's pngcairo device: one fresh stream per figure (the caller's stream is
 * restored), PLplot's messages captured instead of printed, its fatal errors turned into an error
 * return, and the PNG written to a temporary name, checked complete, fsync'ed and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <plplot/plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "core/dist.h"
#include "core/error.h"
#include "eval/figure.h"

typedef struct {
    jmp_buf jump;
    tl_error *err;
    const char *path;
    char tmp[4200];
    PLINT old_stream, code;
    char errmsg[1024];      /* PLplot writes plabort messages here (plsError) instead of stderr */
} figure;

/* PLplot's exit handler takes no user pointer, so the figure being drawn is this thread's one piece
 * of static state. Outside a figure the handler returns and PLplot does what it always does. */
static _Thread_local figure *current_figure;

static int on_plexit(const char *msg) {
    figure *fig = current_figure;
    if (!fig) return 1;
    current_figure = NULL;
    tl_fail(fig->err, "%s: PLplot: %s", fig->path, msg);
    longjmp(fig->jump, 1);
}

/* Checks that the pngcairo device exists (for an unknown device plinit would prompt on stdin), names
 * the temporary file and creates it, so PLplot's own open cannot fail. */
static int fig_prepare(figure *fig, const char *path, tl_error *err) {
    memset(fig, 0, sizeof *fig);
    fig->err = err;
    fig->path = path;
    const char *menu[128], *dev[128], **pm = menu, **pd = dev;
    int ndev = 128, found = 0;
    plgFileDevs(&pm, &pd, &ndev);
    for (int i = 0; i < ndev; i++) found |= !strcmp(dev[i], "pngcairo");
    if (!found) return tl_fail(err, "%s: PLplot has no pngcairo device (Debian package plplot-driver-cairo)", path);
    if (snprintf(fig->tmp, sizeof fig->tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof fig->tmp)
        return tl_fail(err, "%s: path too long", path);
    FILE *f = fopen(fig->tmp, "wb");
    if (!f) return tl_fail(err, "%s: cannot write: %s", path, strerror(errno));
    fclose(f);
    plgstrm(&fig->old_stream);
    plsexit(on_plexit);
    return 0;
}

/* A fresh stream writing a w x h PNG with the palette, a white background and black text. */
static void fig_begin(figure *fig, int w, int h, const unsigned char (*palette)[3], int ncolors) {
    PLINT stream;
    plmkstrm(&stream);
    plsError(&fig->code, fig->errmsg);
    plsdev("pngcairo");
    plsfnam(fig->tmp);
    plspage(0, 0, w, h, 0, 0);
    plscmap0n(ncolors > 16 ? ncolors : 16);
    for (int i = 0; i < ncolors; i++) plscol0(i, palette[i][0], palette[i][1], palette[i][2]);
    plinit();
    pladv(0);
    plwidth(1.5);
}

static void fig_abandon(figure *fig) {
    plsstrm(fig->old_stream);
    remove(fig->tmp);
}

/* After plend1: restores the caller's stream, then makes the PNG durable and moves it into place. */
static int fig_finish(figure *fig) {
    plsstrm(fig->old_stream);
    if (fig->code) {
        size_t k = strlen(fig->errmsg);
        while (k && fig->errmsg[k - 1] == '\n') fig->errmsg[--k] = 0;
        remove(fig->tmp);
        return tl_fail(fig->err, "%s: PLplot: %s", fig->path, fig->errmsg);
    }
    int fd = open(fig->tmp, O_RDONLY);
    int bad = fd < 0 || fsync(fd) != 0;
    int saved = errno;
    /* cairo drops write errors (a full disk): a PNG is complete only when it ends in its IEND chunk. */
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    struct stat st;
    if (!bad && (fstat(fd, &st) != 0 || st.st_size < 12 || pread(fd, tail, 12, st.st_size - 12) != 12 || memcmp(tail, iend, 12))) {
        struct statvfs vfs;
        bad = 1;
        saved = statvfs(fig->tmp, &vfs) == 0 && vfs.f_bavail == 0 ? ENOSPC : EIO;
    }
    if (fd >= 0) close(fd);
    if (!bad && rename(fig->tmp, fig->path) == 0) return 0;
    if (!bad) saved = errno;
    remove(fig->tmp);
    return tl_fail(fig->err, "%s: cannot write: %s", fig->path, strerror(saved));
}

/* Draws one figure: draw(ctx) runs inside a fresh stream; a fatal PLplot error jumps back here.
 * Only fig (in memory, its address taken) is live across setjmp, so nothing can be clobbered. */
int tl_figure_draw(const char *path, int w, int h, const unsigned char (*palette)[3], int ncolors,
                   void (*draw)(const void *ctx), const void *ctx, tl_error *err) {
    if (!tl_dist_writes()) return 0;  /* only rank 0 of an MPI job writes files */
    figure fig;
    if (fig_prepare(&fig, path, err)) return -1;
    current_figure = &fig;
    if (setjmp(fig.jump)) { fig_abandon(&fig); return -1; }   /* on_plexit cleared current_figure */
    fig_begin(&fig, w, h, palette, ncolors);
    draw(ctx);
    plend1();
    current_figure = NULL;
    return fig_finish(&fig);
}

/* PLplot reads '#' as the start of an escape sequence; a literal one is "##". */
void tl_plot_text(char *out, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 3 < cap; s++) {
        if (*s == '#') out[o++] = '#';
        out[o++] = *s;
    }
    out[o] = 0;
}

void tl_plot_class_text(char *out, size_t cap, int c, const char *const *names) {
    if (names) tl_plot_text(out, cap, names[c]);
    else snprintf(out, cap, "%d", c);
}
