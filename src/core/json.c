#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/json.h"

#define JSON_MAX_DEPTH 64

typedef struct {
    const char *s, *end, *what;
    tl_error *err;
    int failed;
} parser;

static void skip_ws(parser *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static tl_json *fail(parser *p, const char *msg, const char *start) {
    if (!p->failed) tl_fail(p->err, "%s: invalid JSON at byte %ld: %s", p->what, (long)(p->s - start), msg);
    p->failed = 1;
    return NULL;
}

static tl_json *node(tl_json_type t) {
    tl_json *n = calloc(1, sizeof *n);
    if (n) n->type = t;
    return n;
}

static void put_utf8(char **o, unsigned cp) {
    char *q = *o;
    if (cp < 0x80) *q++ = (char)cp;
    else if (cp < 0x800) { *q++ = (char)(0xC0 | cp >> 6); *q++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { *q++ = (char)(0xE0 | cp >> 12); *q++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *q++ = (char)(0x80 | (cp & 0x3F)); }
    else { *q++ = (char)(0xF0 | cp >> 18); *q++ = (char)(0x80 | ((cp >> 12) & 0x3F)); *q++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *q++ = (char)(0x80 | (cp & 0x3F)); }
    *o = q;
}

static int hex4(const char *s, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

/* Parses a string literal at p->s (which points at the opening quote); returns a malloc'ed copy. */
static char *parse_string(parser *p, const char *start) {
    p->s++;
    const char *q = p->s;
    while (q < p->end && *q != '"') { if (*q == '\\') q++; q++; }
    if (q >= p->end) { fail(p, "unterminated string", start); return NULL; }
    char *out = malloc((size_t)(q - p->s) + 1), *o = out;
    if (!out) { fail(p, "out of memory", start); return NULL; }
    while (p->s < q) {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) { free(out); fail(p, "control character in string", start); return NULL; }
        if (c != '\\') { *o++ = (char)c; continue; }
        char e = *p->s++;
        switch (e) {
        case '"': *o++ = '"'; break;  case '\\': *o++ = '\\'; break; case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break; case 'f': *o++ = '\f'; break;  case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break; case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp;
            if (q - p->s < 4 || hex4(p->s, &cp)) { free(out); fail(p, "bad \\u escape", start); return NULL; }
            p->s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && q - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
                unsigned lo;
                if (!hex4(p->s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); p->s += 6; }
            }
            if (cp == 0) { free(out); fail(p, "NUL in string", start); return NULL; }
            put_utf8(&o, cp);
            break;
        }
        default: free(out); fail(p, "bad escape", start); return NULL;
        }
    }
    *o = 0;
    p->s = q + 1;
    return out;
}

static tl_json *parse_value(parser *p, const char *start, int depth);

static tl_json *parse_container(parser *p, const char *start, int depth, int is_obj) {
    if (depth > JSON_MAX_DEPTH) return fail(p, "nesting too deep", start);
    tl_json *n = node(is_obj ? TL_JSON_OBJECT : TL_JSON_ARRAY), **tail = n ? &n->child : NULL;
    if (!n) return fail(p, "out of memory", start);
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == (is_obj ? '}' : ']')) { p->s++; return n; }
    for (;;) {
        char *key = NULL;
        if (is_obj) {
            skip_ws(p);
            if (p->s >= p->end || *p->s != '"') { tl_json_free(n); return fail(p, "expected a member name", start); }
            if (!(key = parse_string(p, start))) { tl_json_free(n); return NULL; }
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') { free(key); tl_json_free(n); return fail(p, "expected ':'", start); }
            p->s++;
        }
        tl_json *v = parse_value(p, start, depth + 1);
        if (!v) { free(key); tl_json_free(n); return NULL; }
        v->key = key;
        *tail = v; tail = &v->next; n->count++;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') { p->s++; continue; }
        if (p->s < p->end && *p->s == (is_obj ? '}' : ']')) { p->s++; return n; }
        tl_json_free(n);
        return fail(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'", start);
    }
}

static tl_json *parse_value(parser *p, const char *start, int depth) {
    skip_ws(p);
    if (p->s >= p->end) return fail(p, "unexpected end", start);
    char c = *p->s;
    if (c == '{' || c == '[') return parse_container(p, start, depth, c == '{');
    if (c == '"') {
        char *s = parse_string(p, start);
        if (!s) return NULL;
        tl_json *n = node(TL_JSON_STRING);
        if (!n) { free(s); return fail(p, "out of memory", start); }
        n->str = s;
        return n;
    }
    static const struct { const char *w; tl_json_type t; double v; } words[] = {
        {"true", TL_JSON_BOOL, 1}, {"false", TL_JSON_BOOL, 0}, {"null", TL_JSON_NULL, 0}};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(words[i].w);
        if ((size_t)(p->end - p->s) >= l && !memcmp(p->s, words[i].w, l)) {
            p->s += l;
            tl_json *n = node(words[i].t);
            if (!n) return fail(p, "out of memory", start);
            n->num = words[i].v;
            return n;
        }
    }
    /* number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    const char *q = p->s;
    if (q < p->end && *q == '-') q++;
    if (q >= p->end || !isdigit((unsigned char)*q)) return fail(p, "unexpected character", start);
    if (*q == '0') q++; else while (q < p->end && isdigit((unsigned char)*q)) q++;
    if (q < p->end && *q == '.') { q++; if (q >= p->end || !isdigit((unsigned char)*q)) return fail(p, "bad number", start); while (q < p->end && isdigit((unsigned char)*q)) q++; }
    if (q < p->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < p->end && (*q == '+' || *q == '-')) q++;
        if (q >= p->end || !isdigit((unsigned char)*q)) return fail(p, "bad number", start);
        while (q < p->end && isdigit((unsigned char)*q)) q++;
    }
    char buf[64];
    if (q - p->s >= (long)sizeof buf) return fail(p, "number too long", start);
    memcpy(buf, p->s, (size_t)(q - p->s));
    buf[q - p->s] = 0;
    tl_json *n = node(TL_JSON_NUMBER);
    if (!n) return fail(p, "out of memory", start);
    n->num = strtod(buf, NULL);
    p->s = q;
    return n;
}

tl_json *tl_json_parse(const char *text, size_t len, const char *what, tl_error *err) {
    parser p = {text, text + len, what, err, 0};
    tl_json *root = parse_value(&p, text, 0);
    if (!root) return NULL;
    skip_ws(&p);
    if (p.s != p.end) { tl_json_free(root); return fail(&p, "trailing characters", text); }
    return root;
}

void tl_json_free(tl_json *n) {
    while (n) {
        tl_json *next = n->next;
        tl_json_free(n->child);
        free(n->key);
        free(n->str);
        free(n);
        n = next;
    }
}

const tl_json *tl_json_get(const tl_json *obj, const char *key) {
    if (!obj || obj->type != TL_JSON_OBJECT) return NULL;
    for (const tl_json *c = obj->child; c; c = c->next)
        if (!strcmp(c->key, key)) return c;
    return NULL;
}

void tl_json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void tl_json_write_number(FILE *f, double v) {
    if (!isfinite(v)) { fputs("null", f); return; }
    if (fabs(v) < 1e15 && v == (double)(long long)v) fprintf(f, "%lld", (long long)v);
    else fprintf(f, "%.17g", v);
}
