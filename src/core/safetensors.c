#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json.h"
#include "core/safetensors.h"

/* Largest header we accept (the format's own reference limit is 100 MB). */
#define ST_MAX_HEADER (100u << 20)

size_t tl_st_elsize(const tl_st_tensor *t) { return strcmp(t->dtype, "I64") ? 4 : 8; }

int64_t tl_st_numel(const tl_st_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void write_header(FILE *f, const tl_st_tensor *t, int n, const char *const *meta, int nmeta) {
    fputc('{', f);
    if (nmeta) {
        fputs("\"__metadata__\":{", f);
        for (int i = 0; i < nmeta; i++) {
            if (i) fputc(',', f);
            tl_json_write_string(f, meta[2 * i]);
            fputc(':', f);
            tl_json_write_string(f, meta[2 * i + 1]);
        }
        fputc('}', f);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = (uint64_t)tl_st_numel(&t[i]) * tl_st_elsize(&t[i]);
        if (i || nmeta) fputc(',', f);
        tl_json_write_string(f, t[i].name);
        fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        fprintf(f, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    fputc('}', f);
}

int tl_st_write(const char *path, const tl_st_tensor *t, int n, const char *const *meta, int nmeta,
                tl_error *err) {
    char *hdr = NULL;
    size_t hlen = 0;
    FILE *m = open_memstream(&hdr, &hlen);
    if (!m) return tl_fail(err, "%s: out of memory", path);
    write_header(m, t, n, meta, nmeta);
    /* Pads the header to 8 bytes, as the format recommends. The stream's buffer grows inside glibc: when
     * that runs out of memory the stream fails (and hlen would never reach a multiple of 8). */
    int grew = fflush(m) == 0;
    while (grew && hlen % 8) grew = fputc(' ', m) != EOF && fflush(m) == 0;
    if (fclose(m) != 0 || !grew) { free(hdr); return tl_fail(err, "%s: out of memory", path); }
    tl_atomic_file af;
    if (tl_atomic_open(&af, path, err)) { free(hdr); return -1; }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(hdr, 1, hlen, af.f) == hlen;
    free(hdr);
    for (int i = 0; ok && i < n; i++) {
        size_t cnt = (size_t)tl_st_numel(&t[i]);
        ok = fwrite(t[i].data, tl_st_elsize(&t[i]), cnt, af.f) == cnt;
    }
    if (!ok) { tl_atomic_abort(&af); return tl_fail(err, "%s: cannot write: %s", path, strerror(errno)); }
    return tl_atomic_commit(&af, err);
}

/* Orders [begin, end) byte spans by begin, then end (zero-size spans before the span they touch). */
static int cmp_span(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

int tl_st_parse(tl_st_file *f, void *buf, size_t len, const char *what, tl_error *err) {
    memset(f, 0, sizeof *f);
    f->blob = buf;
    const uint8_t *b = buf;
    if (len < 8) { tl_st_free(f); return tl_fail(err, "%s: not a safetensors file (too short)", what); }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)b[i] << (8 * i);
    if (hlen > ST_MAX_HEADER || hlen > len - 8) { tl_st_free(f); return tl_fail(err, "%s: safetensors header size %llu exceeds the file", what, (unsigned long long)hlen); }
    tl_json *root = tl_json_parse((const char *)b + 8, (size_t)hlen, what, err);
    if (!root) { tl_st_free(f); return -1; }
    if (root->type != TL_JSON_OBJECT) { tl_json_free(root); tl_st_free(f); return tl_fail(err, "%s: safetensors header is not an object", what); }
    const uint8_t *data = b + 8 + hlen;
    uint64_t dlen = len - 8 - hlen;
    f->t = calloc((size_t)root->count + 1, sizeof *f->t);
    uint64_t (*span)[2] = calloc((size_t)root->count + 1, sizeof *span);
    size_t names_len = 0;
    for (tl_json *c = root->child; c; c = c->next) {
        names_len += strlen(c->key) + 1;
        if (c->type == TL_JSON_OBJECT && !strcmp(c->key, "__metadata__"))
            for (tl_json *m = c->child; m; m = m->next) names_len += strlen(m->key) + (m->str ? strlen(m->str) : 0) + 2;
    }
    char *names = f->names = malloc(names_len + 1);
    f->meta = calloc((size_t)root->count * 2 + 2, sizeof *f->meta);
    if (!f->t || !names || !f->meta || !span) { free(span); tl_json_free(root); tl_st_free(f); return tl_fail(err, "%s: out of memory", what); }
    const char *bad = NULL;
    for (tl_json *c = root->child; c && !bad; c = c->next) {
        if (!strcmp(c->key, "__metadata__")) {
            if (c->type != TL_JSON_OBJECT) { bad = "__metadata__ is not an object"; break; }
            char **mm = realloc(f->meta, ((size_t)f->nmeta + (size_t)c->count) * 2 * sizeof *mm + sizeof *mm);
            if (!mm) { bad = "out of memory"; break; }
            f->meta = mm;
            for (tl_json *m = c->child; m; m = m->next) {
                if (m->type != TL_JSON_STRING) { bad = "metadata values must be strings"; break; }
                f->meta[2 * f->nmeta] = strcpy(names, m->key); names += strlen(m->key) + 1;
                f->meta[2 * f->nmeta + 1] = strcpy(names, m->str); names += strlen(m->str) + 1;
                f->nmeta++;
            }
            continue;
        }
        const tl_json *dt = tl_json_get(c, "dtype"), *sh = tl_json_get(c, "shape"), *off = tl_json_get(c, "data_offsets");
        if (!dt || dt->type != TL_JSON_STRING || !sh || sh->type != TL_JSON_ARRAY || !off || off->type != TL_JSON_ARRAY || off->count != 2) { bad = "tensor entry lacks dtype, shape or data_offsets"; break; }
        if (strcmp(dt->str, "F32") && strcmp(dt->str, "I32") && strcmp(dt->str, "I64")) { bad = "only F32, I32 and I64 tensors are supported"; break; }
        if (sh->count > TL_ST_MAX_DIMS) { bad = "too many dimensions"; break; }
        for (int i = 0; i < f->n; i++) if (!strcmp(f->t[i].name, c->key)) bad = "duplicate tensor name";
        if (bad) break;
        tl_st_tensor *t = &f->t[f->n++];
        t->name = strcpy(names, c->key); names += strlen(c->key) + 1;
        t->dtype = !strcmp(dt->str, "F32") ? "F32" : !strcmp(dt->str, "I32") ? "I32" : "I64";
        double numel = 1;
        for (const tl_json *d = sh->child; d; d = d->next) {
            if (d->type != TL_JSON_NUMBER || d->num < 0 || d->num > 1e12 || d->num != (double)(int64_t)d->num) { bad = "bad shape"; break; }
            t->shape[t->ndim++] = (int64_t)d->num;
            numel *= d->num;
        }
        if (bad) break;
        double o0 = off->child->num, o1 = off->child->next->num;
        if (off->child->type != TL_JSON_NUMBER || off->child->next->type != TL_JSON_NUMBER || o0 < 0 || o1 < o0 ||
            o1 > (double)dlen || o0 != (double)(uint64_t)o0 || o1 != (double)(uint64_t)o1) { bad = "data_offsets out of range"; break; }
        if (o1 - o0 != numel * (double)tl_st_elsize(t)) { bad = "shape does not match the byte count"; break; }
        if ((uint64_t)o0 % tl_st_elsize(t)) { bad = "misaligned tensor data"; break; }
        t->data = data + (uint64_t)o0;
        span[f->n - 1][0] = (uint64_t)o0;
        span[f->n - 1][1] = (uint64_t)o1;
    }
    tl_json_free(root);
    /* The tensors must tile the data exactly: no gap, no overlap, nothing left over. */
    qsort(span, (size_t)f->n, sizeof *span, cmp_span);
    for (int i = 0; !bad && i < f->n; i++)
        if (span[i][0] != (i ? span[i - 1][1] : 0)) bad = "tensor data is not contiguous (a gap or an overlap)";
    if (!bad && (f->n ? span[f->n - 1][1] : 0) != dlen) bad = "tensor data does not cover the file exactly";
    free(span);
    if (bad) { tl_st_free(f); return tl_fail(err, "%s: bad safetensors file: %s", what, bad); }
    return 0;
}

int tl_st_read(tl_st_file *f, const char *path, tl_error *err) {
    memset(f, 0, sizeof *f);
    FILE *in = fopen(path, "rb");
    if (!in) return tl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    long size = fseek(in, 0, SEEK_END) == 0 ? ftell(in) : -1;
    if (size < 0 || fseek(in, 0, SEEK_SET) != 0) { fclose(in); return tl_fail(err, "%s: cannot read", path); }
    void *buf = malloc((size_t)size + 1);
    if (!buf) { fclose(in); return tl_fail(err, "%s: out of memory (%ld bytes)", path, size); }
    size_t got = fread(buf, 1, (size_t)size, in);
    fclose(in);
    if (got != (size_t)size) { free(buf); return tl_fail(err, "%s: short read", path); }
    return tl_st_parse(f, buf, (size_t)size, path, err);
}

const tl_st_tensor *tl_st_find(const tl_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++) if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *tl_st_meta(const tl_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++) if (!strcmp(f->meta[2 * i], key)) return f->meta[2 * i + 1];
    return NULL;
}

void tl_st_free(tl_st_file *f) {
    free(f->t); free(f->meta); free(f->blob); free(f->names);
    memset(f, 0, sizeof *f);
}
