/* frontend.c — fe_load_yaml: reads the model file and its includes, collects parameters
 * (with -D overrides) and modules, then lowers the model (lower.c). Also the helpers
 * every front-end file shares: one-error reporting, growing arrays, suggestions.
 *
 * Includes: a file's own parameters and modules take precedence over those of the files
 * it includes; among included files the first definition wins. Each file is read once
 * (a diamond is fine); a file that includes itself, directly or not, is an error. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

static const char *const top_keys[] = {"name", "params", "include", "inputs", "weights", "modules", "body", "outputs"};
#define NTOP (int)(sizeof top_keys / sizeof top_keys[0])

/* ---- shared helpers ---- */

int fe_err(FeCtx *c, SrcLoc loc, const char *fmt, ...) {
  if (c->d->nerr != c->nerr0) return -1; /* the first error is the one that matters */
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (int i = 0; i < c->ndefs; i++) /* an error inside a -D value: say which one */
    if (loc.file == c->defs[i].file) {
      diag_error(c->d, loc, "in %s: %s", c->defs[i].text, msg);
      return -1;
    }
  diag_error(c->d, loc, "%s", msg);
  return -1;
}

int fe_failed(const FeCtx *c) {
  return c->d->nerr != c->nerr0;
}

void *fe_grow(FeCtx *c, void *p, int n, int *cap, size_t size) {
  if (n < *cap) return p;
  int nc = *cap ? 2 * *cap : 8;
  while (nc <= n) nc *= 2;
  void *q = arena_alloc(c->tmp, size * (size_t)nc);
  if (n) memcpy(q, p, size * (size_t)n);
  *cap = nc;
  return q;
}

const char *fe_suggest(FeCtx *c, const char *name, const char *const *cands, int n) {
  const char *pick = ytree_suggest(name, cands, n); /* the one rule for near-misses */
  return pick ? arena_printf(c->tmp, " (did you mean '%s'?)", pick) : "";
}

/* ---- files ---- */

static char *read_file(FeCtx *c, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  char *text = arena_strndup(c->tmp, buf, n); /* NUL-terminated copy that dies with the load */
  free(buf);
  *len = n;
  return text;
}

/* The path of `inc` as written in `from`: relative to from's directory. */
static const char *join(FeCtx *c, const char *from, const char *inc) {
  const char *slash = strrchr(from, '/');
  if (inc[0] == '/' || !slash) return arena_strdup(c->tmp, inc);
  return arena_printf(c->tmp, "%.*s/%s", (int)(slash - from), from, inc);
}

static int add_param(FeCtx *c, const YNode *key, const YNode *val) {
  if (!fe_is_ident(key->str) || strchr(key->str, '.'))
    return fe_err(c, fe_loc(key), "parameter names must be identifiers, got '%s'", key->str);
  if (!strcmp(key->str, "batch") || !strcmp(key->str, "index"))
    return fe_err(c, fe_loc(key), "'%s' is reserved and cannot be a parameter", key->str);
  if (val->kind != YN_SCALAR || fe_is_null(val))
    return fe_err(c, fe_loc(val), "parameter '%s' must be a number or an expression, found %s", key->str,
                  fe_kind_name(val));
  for (int i = 0; i < c->nparams; i++)
    if (!strcmp(c->params[i].name, key->str)) return 0; /* defined closer to the main file */
  c->params = fe_grow(c, c->params, c->nparams, &c->capparams, sizeof(GParam));
  c->params[c->nparams++] = (GParam){.name = key->str, .expr = val, .dflt = val};
  return 0;
}

static int add_module(FeCtx *c, const YNode *key, const YNode *def) {
  if (!fe_is_ident(key->str)) return fe_err(c, fe_loc(key), "module names must be identifiers, got '%s'", key->str);
  for (int i = 0; i < c->nmods; i++)
    if (!strcmp(c->mods[i].name, key->str)) return 0;
  c->mods = fe_grow(c, c->mods, c->nmods, &c->capmods, sizeof(Module));
  if (fe_parse_module(c, key->str, def, &c->mods[c->nmods])) return -1;
  c->nmods++;
  return 0;
}

/* Load `path` (as the user would name it); `from` is the include entry that named it,
 * NULL for the main file. *root is NULL when the file was already loaded. */
static int load_file(FeCtx *c, const char *path, const YNode *from, const YNode **root) {
  *root = NULL;
  char real[PATH_MAX];
  size_t len;
  char *text = NULL;
  if (realpath(path, real)) text = read_file(c, path, &len);
  if (!text) {
    if (!from) return fe_err(c, (SrcLoc){path, 0, 0}, "cannot read the model file: %s", strerror(errno));
    return fe_err(c, fe_loc(from), "cannot read include file '%s': %s", path, strerror(errno));
  }
  for (int i = 0; i < c->nstack; i++)
    if (!strcmp(c->stack[i], real)) {
      char chain[300];
      size_t at = 0;
      for (int k = i; k < c->nstack && at < sizeof chain; k++)
        at += (size_t)snprintf(chain + at, sizeof chain - at, "%s -> ", c->shown[k]);
      return fe_err(c, fe_loc(from), "include cycle: %s%s", chain, path);
    }
  for (int i = 0; i < c->nfiles; i++)
    if (!strcmp(c->files[i], real)) return 0;
  const char *keep = arena_strdup(c->tmp, real);
  c->files = fe_grow(c, c->files, c->nfiles, &c->capfiles, sizeof(char *));
  c->files[c->nfiles++] = keep;
  const YNode *doc = fe_yaml_parse(c, path, text, len);
  if (!doc) return -1;
  if (doc->kind != YN_MAP)
    return fe_err(c, fe_loc(doc),
                  "a model file is a mapping (name, params, inputs, weights, modules, body, "
                  "outputs), found %s",
                  fe_kind_name(doc));
  for (int i = 0; i < doc->n; i++) {
    int ok = 0;
    for (int k = 0; k < NTOP; k++) ok |= !strcmp(doc->keys[i]->str, top_keys[k]);
    if (!ok) {
      const char *hint = fe_suggest(c, doc->keys[i]->str, top_keys, NTOP);
      if (*hint) return fe_err(c, fe_loc(doc->keys[i]), "unknown key '%s'%s", doc->keys[i]->str, hint);
      return fe_err(c, fe_loc(doc->keys[i]),
                    "unknown key '%s' (a model has name, params, include, inputs, "
                    "weights, modules, body and outputs)",
                    doc->keys[i]->str);
    }
  }
  const YNode *params = fe_map_get(doc, "params"), *mods = fe_map_get(doc, "modules"),
              *inc = fe_map_get(doc, "include");
  if (params && !fe_is_null(params)) {
    if (params->kind != YN_MAP)
      return fe_err(c, fe_loc(params), "params must be a mapping of names to values, found %s", fe_kind_name(params));
    for (int i = 0; i < params->n; i++)
      if (add_param(c, params->keys[i], params->items[i])) return -1;
  }
  if (mods && !fe_is_null(mods)) {
    if (mods->kind != YN_MAP)
      return fe_err(c, fe_loc(mods), "modules must be a mapping of names to modules, found %s", fe_kind_name(mods));
    for (int i = 0; i < mods->n; i++)
      if (add_module(c, mods->keys[i], mods->items[i])) return -1;
  }
  if (inc && !fe_is_null(inc)) {
    const YNode *const *items = (const YNode *const *)&inc;
    int n = 1;
    if (inc->kind == YN_SEQ) items = (const YNode *const *)inc->items, n = inc->n;
    int cap = c->capstack;
    c->stack = fe_grow(c, c->stack, c->nstack, &c->capstack, sizeof(char *));
    c->shown = fe_grow(c, c->shown, c->nstack, &cap, sizeof(char *));
    c->shown[c->nstack] = path;
    c->stack[c->nstack++] = keep;
    for (int i = 0; i < n; i++) {
      const YNode *sub;
      if (items[i]->kind != YN_SCALAR || fe_is_null(items[i]))
        return fe_err(c, fe_loc(items[i]), "include takes file names, found %s", fe_kind_name(items[i]));
      if (load_file(c, join(c, path, items[i]->str), items[i], &sub)) return -1;
    }
    c->nstack--;
  }
  *root = doc;
  return 0;
}

/* ---- the entry point ---- */

static int apply_defines(FeCtx *c) {
  for (int i = 0; i < c->opt->ndefines; i++) {
    const FeDefine *df = &c->opt->defines[i];
    GParam *p = NULL;
    for (int k = 0; k < c->nparams; k++)
      if (!strcmp(c->params[k].name, df->name)) p = &c->params[k];
    const char **names = arena_alloc(c->tmp, sizeof(char *) * (size_t)(c->nparams + 1));
    for (int k = 0; k < c->nparams; k++) names[k] = c->params[k].name;
    SrcLoc at = df->loc;
    if (!at.file) at.file = "<command line>";
    if (!p) return fe_err(c, at, "no parameter named '%s'%s", df->name, fe_suggest(c, df->name, names, c->nparams));
    YNode *n = arena_alloc(c->tmp, sizeof *n); /* the override's text stands in for the default */
    n->kind = YN_SCALAR;
    n->plain = 1;
    n->file = arena_strdup(c->tmp, at.file); /* a pointer of its own: fe_err knows it */
    c->defs = fe_grow(c, c->defs, c->ndefs, &c->capdefs, sizeof(*c->defs));
    c->defs[c->ndefs].file = n->file;
    c->defs[c->ndefs++].text = arena_printf(c->tmp, "-D %s=%s", df->name, df->value ? df->value : "");
    n->line = at.line;
    n->col = at.col;
    n->str = arena_strdup(c->tmp, df->value ? df->value : "");
    n->len = strlen(n->str);
    p->expr = n;
  }
  return 0;
}

static const char *model_name(FeCtx *c, const YNode *root, const char *path) {
  const YNode *n = fe_map_get(root, "name");
  if (n && n->kind == YN_SCALAR && !fe_is_null(n)) return n->str;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  return arena_strndup(c->tmp, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

Graph *fe_load_yaml(const char *path, const FeOptions *opt, FeInfo *info, Diag *d) {
  static const FeOptions none = {0};
  if (info) memset(info, 0, sizeof *info);
  FeCtx c = {.d = d, .nerr0 = d->nerr, .opt = opt ? opt : &none};
  c.tmp = arena_new();
  c.batch = c.opt->batch > 0 ? c.opt->batch : 1;
  const YNode *root;
  int r = load_file(&c, path, NULL, &root);
  if (!r) {
    const YNode *nm = fe_map_get(root, "name");
    if (nm && (nm->kind != YN_SCALAR || fe_is_null(nm)))
      r = fe_err(&c, fe_loc(nm), "name must be a scalar, found %s", fe_kind_name(nm));
  }
  if (!r) r = apply_defines(&c);
  for (int i = 0; !r && i < c.nparams; i++) r = fe_eval_param(&c, &c.params[i]);
  if (!r) {
    c.g = ir_graph_new(model_name(&c, root, path));
    r = fe_lower_model(&c, root);
  }
  if (r || fe_failed(&c)) {
    if (!fe_failed(&c)) diag_error(d, (SrcLoc){path, 0, 0}, "internal error: the front end failed without a message");
    ir_graph_free(c.g);
    arena_free(c.tmp);
    return NULL;
  }
  if (info && c.nparams) {
    info->params = arena_alloc(c.g->arena, sizeof(FeParam) * (size_t)c.nparams);
    info->nparams = c.nparams;
    for (int i = 0; i < c.nparams; i++)
      info->params[i] = (FeParam){ir_intern(c.g, c.params[i].name), c.params[i].v.num, c.params[i].v.is_int};
  }
  arena_free(c.tmp);
  return c.g;
}
