#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "data/file.h"
#include "study/grid.h"

/* The built-in grids, in the grid file syntax. Every stage-1 model gets the stage-2 methods and the
 * inference rules that suit its head (tau-norm and LWS need a linear head). */
#define LINEAR_EXTRAS(P) \
    P "+crt = retrain " P " --method crt\n" P "+lws = retrain " P " --method lws\n" \
    P "+tau-norm = retrain " P " --method tau\n" P "+ncm = retrain " P " --method ncm\n" \
    P "+la = eval " P " --posthoc logit-adjust:tau=auto\n"
#define OTHER_EXTRAS(P) \
    P "+crt = retrain " P " --method crt\n" P "+ncm = retrain " P " --method ncm\n" \
    P "+la = eval " P " --posthoc logit-adjust:tau=auto\n"

static const char quick_grid[] =
    "ce = train --loss ce\n"
    "class = train --sampler class\n"
    "balanced-softmax = train --loss balanced-softmax\n"
    "ce+crt = retrain ce --method crt\n"
    "ce+la = eval ce --posthoc logit-adjust:tau=auto\n";

#define STANDARD_BODY \
    "ce = train --loss ce\n" LINEAR_EXTRAS("ce") \
    "class = train --sampler class\n" LINEAR_EXTRAS("class") \
    "sqrt = train --sampler sqrt\n" LINEAR_EXTRAS("sqrt") \
    "progressive = train --sampler progressive\n" LINEAR_EXTRAS("progressive") \
    "balanced-softmax = train --loss balanced-softmax\n" LINEAR_EXTRAS("balanced-softmax") \
    "cb-focal = train --loss sigmoid:gamma=1,weights=effective,beta=0.9999\n" LINEAR_EXTRAS("cb-focal") \
    "ldam-drw = train --loss ldam:max_m=0.5,s=30,weights=effective,beta=0.9999,drw=$DRW --head cosine:s=30\n" \
    OTHER_EXTRAS("ldam-drw") \
    "sla = train --ssl sla\n" OTHER_EXTRAS("sla") \
    "causal = train --head causal:heads=2,tau=16,gamma=0.03125,alpha=1\n" \
    "causal+tde = eval causal --posthoc tde:alpha=auto\n" OTHER_EXTRAS("causal")

static const char standard_grid[] = STANDARD_BODY;

static const char full_grid[] = STANDARD_BODY
    "focal = train --loss focal:gamma=1\n" LINEAR_EXTRAS("focal")
    "ce-inverse = train --loss ce:weights=inverse\n" LINEAR_EXTRAS("ce-inverse")
    "ce-drw = train --loss ce:weights=effective,beta=0.9999,drw=$DRW\n" LINEAR_EXTRAS("ce-drw")
    "logit-adjust = train --loss logit-adjust\n" LINEAR_EXTRAS("logit-adjust")
    "oversample = train --sampler oversample\n" LINEAR_EXTRAS("oversample")
    "class-sla = train --sampler class --ssl sla\n" OTHER_EXTRAS("class-sla");

const char *tl_study_grid_builtin(const char *name) {
    return !strcmp(name, "quick") ? quick_grid : !strcmp(name, "standard") ? standard_grid
         : !strcmp(name, "full") ? full_grid : NULL;
}

static const char *const owned[] = {"data", "lt", "val", "epochs", "seed", "threads", "out", "run",
                                    "resume", "config", "split", "quiet"};

static int owned_option(const char *arg) {
    if (strncmp(arg, "--", 2)) return 0;
    size_t len = strcspn(arg + 2, "=");
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        if (strlen(owned[i]) == len && !strncmp(arg + 2, owned[i], len)) return 1;
    return 0;
}

static int find(const tl_study_grid *g, const char *name) {
    for (int i = 0; i < g->n; i++) if (!strcmp(g->c[i].name, name)) return i;
    return -1;
}

/* Splits s (modified) at blanks into at most cap tokens. */
static int tokens(char *s, char **tok, int cap) {
    int n = 0;
    for (char *p = strtok(s, " \t\r"); p; p = strtok(NULL, " \t\r")) {
        if (n == cap) return -1;
        tok[n++] = p;
    }
    return n;
}

static int parse_line(tl_study_grid *g, char *line, int lineno, const char *source, tl_error *err) {
    char *tok[128];
    char *eq = strchr(line, '=');
    if (!eq) return tl_fail(err, "%s: line %d: expected NAME = train|retrain|eval ...", source, lineno);
    *eq = 0;
    char *name[2];
    int nn = tokens(line, name, 2);
    if (nn != 1) return tl_fail(err, "%s: line %d: expected one candidate name before '='", source, lineno);
    if (strlen(name[0]) >= TL_STUDY_NAME_MAX)
        return tl_fail(err, "%s: line %d: candidate name '%s' is longer than %d characters", source, lineno, name[0], TL_STUDY_NAME_MAX - 1);
    for (const char *p = name[0]; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._+-", *p))
            return tl_fail(err, "%s: line %d: candidate name '%s': only letters, digits and . _ + - are allowed", source, lineno, name[0]);
    if (find(g, name[0]) >= 0) return tl_fail(err, "%s: line %d: candidate '%s' is defined twice", source, lineno, name[0]);
    int n = tokens(eq + 1, tok, 128);
    if (n < 0) return tl_fail(err, "%s: line %d: more than 128 words", source, lineno);
    if (n == 0) return tl_fail(err, "%s: line %d: candidate '%s' has no command (train, retrain or eval)", source, lineno, name[0]);
    if (g->n == TL_STUDY_MAX_CANDIDATES) return tl_fail(err, "%s: more than %d candidates", source, TL_STUDY_MAX_CANDIDATES);
    tl_study_candidate *c = &g->c[g->n];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name[0]);
    c->line = lineno;
    c->parent = -1;
    int first = 1;
    if (!strcmp(tok[0], "train")) c->kind = TL_STUDY_TRAIN;
    else if (!strcmp(tok[0], "retrain") || !strcmp(tok[0], "eval")) {
        c->kind = !strcmp(tok[0], "retrain") ? TL_STUDY_RETRAIN : TL_STUDY_POSTHOC;
        if (n < 2 || !strncmp(tok[1], "--", 2))
            return tl_fail(err, "%s: line %d: %s needs the train candidate it works on: %s = %s PARENT ...", source, lineno, tok[0], c->name, tok[0]);
        c->parent = find(g, tok[1]);
        if (c->parent < 0) return tl_fail(err, "%s: line %d: unknown candidate '%s' (a train line above must define it)", source, lineno, tok[1]);
        if (g->c[c->parent].kind != TL_STUDY_TRAIN)
            return tl_fail(err, "%s: line %d: '%s' is not a train candidate (%s works on stage-1 models)", source, lineno, tok[1], tok[0]);
        first = 2;
    } else {
        return tl_fail(err, "%s: line %d: unknown command '%s' (valid: train, retrain, eval)", source, lineno, tok[0]);
    }
    int has_method = 0;
    for (int i = first; i < n; i++) {
        if (owned_option(tok[i]))
            return tl_fail(err, "%s: line %d: %s is set by the study for every candidate; leave it out of the grid", source, lineno, tok[i]);
        if (!strncmp(tok[i], "--method", 8) && (tok[i][8] == 0 || tok[i][8] == '=')) has_method = 1;
    }
    if (first == 1 && n > 1 && strncmp(tok[1], "--", 2))
        return tl_fail(err, "%s: line %d: '%s' is not an option (train options start with --)", source, lineno, tok[1]);
    if (c->kind == TL_STUDY_RETRAIN && !has_method)
        return tl_fail(err, "%s: line %d: retrain needs --method crt|ncm|tau|lws", source, lineno);
    if (c->kind == TL_STUDY_POSTHOC &&
        !((n == 4 && !strcmp(tok[2], "--posthoc")) || (n == 3 && !strncmp(tok[2], "--posthoc=", 10))))
        return tl_fail(err, "%s: line %d: an eval candidate is `%s = eval PARENT --posthoc RULE` and nothing else", source, lineno, c->name);
    c->argc = n - first;
    c->argv = calloc((size_t)c->argc + 1, sizeof *c->argv);
    if (!c->argv) return tl_fail(err, "out of memory");
    g->n++;   /* owned from here, freed with the grid */
    for (int i = 0; i < c->argc; i++)
        if (!(c->argv[i] = strdup(tok[first + i]))) return tl_fail(err, "out of memory");
    return 0;
}

int tl_study_grid_parse(tl_study_grid *g, const char *text, const char *source, tl_error *err) {
    g->n = 0;
    char *copy = strdup(text);
    if (!copy) return tl_fail(err, "out of memory");
    int lineno = 0, rc = 0;
    char *save = NULL;
    for (char *line = copy; line && !rc; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        if (strspn(line, " \t\r") == strlen(line)) continue;
        rc = parse_line(g, line, lineno, source, err);
    }
    free(copy);
    if (!rc && g->n == 0) rc = tl_fail(err, "%s: no candidate (one a line: NAME = train|retrain|eval ...)", source);
    if (rc) tl_study_grid_free(g);
    return rc ? -1 : 0;
}

int tl_study_grid_load(tl_study_grid *g, const char *spec, tl_error *err) {
    const char *text = tl_study_grid_builtin(spec);
    char source[4200];
    if (text) {
        snprintf(source, sizeof source, "--grid %s", spec);
        return tl_study_grid_parse(g, text, source, err);
    }
    if (!tl_file_exists(spec))
        return tl_fail(err, "--grid %s: not a built-in grid (quick, standard, full) and no such file", spec);
    unsigned char *data;
    int64_t len;
    snprintf(source, sizeof source, "--grid %s", spec);
    if (tl_file_read(&data, &len, spec, err)) return tl_fail_prefix(err, "--grid");
    if (memchr(data, 0, (size_t)len)) { free(data); return tl_fail(err, "%s: not a text file", source); }
    char *s = malloc((size_t)len + 1);
    if (!s) { free(data); return tl_fail(err, "out of memory"); }
    memcpy(s, data, (size_t)len);
    s[len] = 0;
    free(data);
    int rc = tl_study_grid_parse(g, s, source, err);
    free(s);
    return rc;
}

void tl_study_grid_free(tl_study_grid *g) {
    for (int i = 0; i < g->n; i++) {
        for (int k = 0; k < g->c[i].argc; k++) free(g->c[i].argv[k]);
        free(g->c[i].argv);
    }
    g->n = 0;
}

static int uses(const tl_study_candidate *c, const char *option) {
    size_t n = strlen(option);
    for (int k = 0; k < c->argc; k++)
        if (!strncmp(c->argv[k], option, n) && (c->argv[k][n] == 0 || c->argv[k][n] == '=')) return 1;
    return 0;
}

int tl_study_grid_drop(tl_study_grid *g, const char *option) {
    int gone[TL_STUDY_MAX_CANDIDATES], map[TL_STUDY_MAX_CANDIDATES], m = 0;
    for (int i = 0; i < g->n; i++) {
        const tl_study_candidate *c = &g->c[i];
        gone[i] = c->kind == TL_STUDY_TRAIN ? uses(c, option) : gone[c->parent];
    }
    for (int i = 0; i < g->n; i++) {
        tl_study_candidate *c = &g->c[i];
        if (gone[i]) {
            for (int k = 0; k < c->argc; k++) free(c->argv[k]);
            free(c->argv);
            continue;
        }
        map[i] = m;
        if (c->parent >= 0) c->parent = map[c->parent];
        g->c[m++] = *c;
    }
    int dropped = g->n - m;
    g->n = m;
    return dropped;
}

void tl_study_grid_write(FILE *f, const tl_study_grid *g) {
    for (int i = 0; i < g->n; i++) {
        const tl_study_candidate *c = &g->c[i];
        fprintf(f, "%s = %s%s%s", c->name, c->kind == TL_STUDY_TRAIN ? "train" : c->kind == TL_STUDY_RETRAIN ? "retrain" : "eval",
                c->parent >= 0 ? " " : "", c->parent >= 0 ? g->c[c->parent].name : "");
        for (int k = 0; k < c->argc; k++) fprintf(f, " %s", c->argv[k]);
        fputc('\n', f);
    }
}

int tl_study_drw_epoch(int epochs) {
    int e = (epochs * 160 + 100) / 200;
    return e < epochs ? e : epochs - 1;
}

/* a with every "$DRW" replaced by the DRW epoch, as a new string. */
static char *resolve(const char *a, int epochs) {
    char num[16];
    snprintf(num, sizeof num, "%d", tl_study_drw_epoch(epochs));
    size_t cap = strlen(a) * 4 + 16;
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    for (const char *p = a; *p;) {
        if (!strncmp(p, "$DRW", 4)) { o += sprintf(o, "%s", num); p += 4; }
        else *o++ = *p++;
    }
    *o = 0;
    return out;
}

int tl_study_args(const tl_study_candidate *c, int epochs, char **out, int cap) {
    if (c->argc > cap) return -1;
    for (int i = 0; i < c->argc; i++)
        if (!(out[i] = resolve(c->argv[i], epochs))) {
            while (i--) free(out[i]);
            return -1;
        }
    return c->argc;
}

void tl_study_command_text(const tl_study_grid *g, int i, int epochs, char *buf, size_t cap) {
    const tl_study_candidate *c = &g->c[i];
    size_t len = c->parent < 0 ? (size_t)snprintf(buf, cap, "train")
                               : (size_t)snprintf(buf, cap, "%s --run <%s>", c->kind == TL_STUDY_RETRAIN ? "retrain" : "eval",
                                                  g->c[c->parent].name);
    for (int k = 0; k < c->argc && len < cap; k++) {
        char *a = resolve(c->argv[k], epochs);
        len += (size_t)snprintf(buf + len, cap - len, " %s", a ? a : c->argv[k]);
        free(a);
    }
}
