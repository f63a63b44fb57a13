/* ytree.c — libyaml's document into a small tree of YNodes with 1-based marks, the
 * mapping from an offset inside a scalar back to a file position, typed scalar readers
 * and suggestions; see ytree.h.
 *
 * The libyaml document lives only inside ytree_parse_flags: it is converted and deleted
 * at once, so no libyaml object can leak from any later error path. */
#include "support/ytree.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 100 /* deeper nesting is not a model; it guards the recursion */

typedef struct Conv {
  Arena *a;
  Diag *d;
  unsigned flags;
  yaml_document_t *doc;
  const char *file;
  const char *text, *end;
  size_t *line_start; /* byte offset of each line (libyaml's 0-based line numbers) */
  int nlines;
} Conv;

/* Byte offset of the start of each line. libyaml skips a UTF-8 BOM before counting. */
static void index_lines(Conv *cv) {
  size_t len = (size_t)(cv->end - cv->text), n = 1;
  for (size_t i = 0; i < len; i++) n += cv->text[i] == '\n';
  cv->line_start = arena_alloc(cv->a, sizeof(size_t) * (n + 1));
  size_t at = len >= 3 && !memcmp(cv->text, "\xEF\xBB\xBF", 3) ? 3 : 0;
  cv->line_start[0] = at;
  cv->nlines = 1;
  for (size_t i = at; i < len; i++)
    if (cv->text[i] == '\n') cv->line_start[cv->nlines++] = i + 1;
}

/* Pointer to the character at a libyaml mark (0-based line, column in characters). */
static const char *mark_ptr(const Conv *cv, yaml_mark_t m) {
  if ((int)m.line >= cv->nlines) return NULL;
  const char *p = cv->text + cv->line_start[m.line];
  for (size_t k = 0; k < m.column && p < cv->end && *p != '\n'; k++) {
    p++;
    while (p < cv->end && ((unsigned char)*p & 0xC0) == 0x80) p++;
  }
  return p;
}

static SrcLoc mark_loc(const char *file, yaml_mark_t m) {
  return (SrcLoc){file, (int)m.line + 1, (int)m.column + 1};
}

/* YTREE_JOIN_CALLS (ytree.h): a plain scalar with an unclosed '(' is extended over the
 * source text to its balanced end, and the pieces YAML split off (plain scalars, with no
 * value in a mapping) are dropped. Returns how many following entries were absorbed.
 * It runs before the key checks, so split-off pieces never look like duplicate keys. */
static int rejoin(Conv *cv, YNode *v, YNode **keys, YNode **vals, int nrest) {
  if (v->kind != YN_SCALAR || !v->plain || !v->src) return 0;
  int depth = 0;
  for (const char *p = v->str; *p; p++) depth += (*p == '(') - (*p == ')');
  if (depth <= 0) return 0;
  depth = 0;
  const char *p = v->src;
  for (; p < cv->end; p++) {
    if (*p == '(' || *p == '[' || *p == '{')
      depth++;
    else if (*p == ')' || *p == ']' || *p == '}') {
      if (--depth < 0) break;
    } else if (*p == ',' && depth == 0) {
      break;
    } else if (*p == '#' && p > v->src && (p[-1] == ' ' || p[-1] == '\t')) {
      return 0; /* a comment: leave the text to YAML */
    }
  }
  int k = 0;
  while (k < nrest) {
    YNode *piece = keys ? keys[k] : vals[k];
    if (!piece->src || piece->src >= p) break;
    if (piece->kind != YN_SCALAR || !piece->plain || (keys && !ytree_is_null(vals[k]))) return 0;
    k++;
  }
  const char *e = p;
  while (e > v->src && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
  v->str = arena_strndup(cv->a, v->src, (size_t)(e - v->src));
  v->len = (size_t)(e - v->src);
  return k;
}

static YNode *convert(Conv *cv, yaml_node_t *yn, int depth) {
  YNode *n = arena_alloc(cv->a, sizeof *n);
  n->file = cv->file;
  n->line = (int)yn->start_mark.line + 1;
  n->col = (int)yn->start_mark.column + 1;
  if (depth > MAX_DEPTH) {
    diag_error(cv->d, ytree_loc(n), "the document is nested more than %d levels deep", MAX_DEPTH);
    return NULL;
  }
  switch (yn->type) {
  case YAML_SCALAR_NODE:
    n->kind = YN_SCALAR;
    n->str = arena_strndup(cv->a, (const char *)yn->data.scalar.value, yn->data.scalar.length);
    n->len = yn->data.scalar.length;
    n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->src = mark_ptr(cv, yn->start_mark);
    n->src_end = cv->end;
    return n;
  case YAML_SEQUENCE_NODE: {
    n->kind = YN_SEQ;
    yaml_node_item_t *it = yn->data.sequence.items.start, *top = yn->data.sequence.items.top;
    n->n = (int)(top - it);
    n->items = arena_alloc(cv->a, sizeof(YNode *) * (size_t)(n->n + 1));
    for (int i = 0; i < n->n; i++) {
      n->items[i] = convert(cv, yaml_document_get_node(cv->doc, it[i]), depth + 1);
      if (!n->items[i]) return NULL;
    }
    if ((cv->flags & YTREE_JOIN_CALLS) && yn->data.sequence.style == YAML_FLOW_SEQUENCE_STYLE)
      for (int i = 0; i < n->n; i++) {
        int k = rejoin(cv, n->items[i], NULL, n->items + i + 1, n->n - i - 1);
        memmove(n->items + i + 1, n->items + i + 1 + k, sizeof(YNode *) * (size_t)(n->n - i - 1 - k));
        n->n -= k;
      }
    return n;
  }
  case YAML_MAPPING_NODE: {
    n->kind = YN_MAP;
    yaml_node_pair_t *p = yn->data.mapping.pairs.start, *top = yn->data.mapping.pairs.top;
    n->n = (int)(top - p);
    n->keys = arena_alloc(cv->a, sizeof(YNode *) * (size_t)(n->n + 1));
    n->items = arena_alloc(cv->a, sizeof(YNode *) * (size_t)(n->n + 1));
    for (int i = 0; i < n->n; i++) {
      n->keys[i] = convert(cv, yaml_document_get_node(cv->doc, p[i].key), depth + 1);
      if (!n->keys[i]) return NULL;
      n->items[i] = convert(cv, yaml_document_get_node(cv->doc, p[i].value), depth + 1);
      if (!n->items[i]) return NULL;
    }
    if ((cv->flags & YTREE_JOIN_CALLS) && yn->data.mapping.style == YAML_FLOW_MAPPING_STYLE)
      for (int i = 0; i < n->n; i++) {
        int k = rejoin(cv, n->items[i], n->keys + i + 1, n->items + i + 1, n->n - i - 1);
        size_t rest = sizeof(YNode *) * (size_t)(n->n - i - 1 - k);
        memmove(n->keys + i + 1, n->keys + i + 1 + k, rest);
        memmove(n->items + i + 1, n->items + i + 1 + k, rest);
        n->n -= k;
      }
    for (int i = 0; i < n->n; i++) {
      YNode *k = n->keys[i];
      if (k->kind != YN_SCALAR) {
        diag_error(cv->d, ytree_loc(k), "mapping keys must be names, found %s", ytree_kind_name(k));
        return NULL;
      }
      /* libyaml accepts repeated keys; a model that says a thing twice is a mistake */
      for (int j = 0; j < i; j++)
        if (!strcmp(n->keys[j]->str, k->str)) {
          diag_error(cv->d, ytree_loc(k), "duplicate key '%s' (first at line %d)", k->str, n->keys[j]->line);
          return NULL;
        }
    }
    return n;
  }
  default: diag_error(cv->d, ytree_loc(n), "empty YAML node"); return NULL;
  }
}

/* libyaml's reader reports a byte offset instead of a mark (bad UTF-8, control bytes). */
static SrcLoc offset_loc(const Conv *cv, size_t off) {
  SrcLoc l = {cv->file, 1, 1};
  for (size_t i = 0; i < off && cv->text + i < cv->end; i++) {
    if (cv->text[i] == '\n') {
      l.line++;
      l.col = 1;
    } else if (((unsigned char)cv->text[i] & 0xC0) != 0x80) {
      l.col++;
    }
  }
  return l;
}

YNode *ytree_parse_flags(Arena *a, Diag *d, const char *file, const char *text, size_t len, unsigned flags) {
  Conv cv = {.a = a, .d = d, .flags = flags, .file = file, .text = text, .end = text + len};
  index_lines(&cv);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    diag_error(d, (SrcLoc){file, 0, 0}, "out of memory starting the YAML parser");
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  yaml_document_t doc;
  if (!yaml_parser_load(&parser, &doc)) {
    /* libyaml has already released the partial document */
    SrcLoc at = parser.error == YAML_READER_ERROR ? offset_loc(&cv, parser.problem_offset)
                                                  : mark_loc(file, parser.problem_mark);
    const char *problem = parser.problem ? parser.problem : "malformed document";
    if (parser.context)
      diag_error(d, at, "YAML syntax error: %s (%s at line %d, column %d)", problem, parser.context,
                 (int)parser.context_mark.line + 1, (int)parser.context_mark.column + 1);
    else
      diag_error(d, at, "YAML syntax error: %s", problem);
    yaml_parser_delete(&parser);
    return NULL;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  YNode *tree;
  if (!root) { /* an empty file is an empty mapping: whoever needs a key reports */
    tree = arena_alloc(a, sizeof *tree);
    tree->kind = YN_MAP;
    tree->file = file;
    tree->line = tree->col = 1;
  } else {
    cv.doc = &doc;
    tree = convert(&cv, root, 0);
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return tree;
}

SrcLoc ytree_loc(const YNode *n) {
  return (SrcLoc){n->file, n->line, n->col};
}

static int is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Walk the file text and the scalar's value side by side. Equal characters advance
 * both; the file's extra characters (quotes, escapes, a block header, indentation and
 * folded line breaks) are skipped. This maps plain, quoted and literal block scalars
 * exactly and folded ones to the right word; an escape inside a double-quoted string can
 * shift the column by the escape's length. */
SrcLoc ytree_loc_at(const YNode *n, size_t off) {
  SrcLoc l = ytree_loc(n);
  if (n->kind != YN_SCALAR || !n->src || off > n->len || n->line <= 0) return l;
  const char *s = n->src, *end = n->src_end, *v = n->str, *target = n->str + off, *vend = n->str + n->len;
  int line = n->line, col = n->col;
  while (s < end) {
    int there = v >= target;
    if (there && (v >= vend || *s == *v)) return (SrcLoc){n->file, line, col};
    if (!there && *s == *v) {
      v++;
    } else if (!there && is_space(*v) && !is_space(*s)) {
      v++; /* a space in the value that the file spelled otherwise (a folded break) */
      continue;
    }
    if (*s == '\n') {
      line++;
      col = 1;
      s++;
    } else {
      s++;
      while (s < end && ((unsigned char)*s & 0xC0) == 0x80) s++;
      col++;
    }
  }
  return v >= target ? (SrcLoc){n->file, line, col} : l;
}

YNode *ytree_map_get(const YNode *m, const char *k) {
  if (!m || m->kind != YN_MAP) return NULL;
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->keys[i]->str, k)) return m->items[i];
  return NULL;
}

int ytree_is_null(const YNode *n) {
  if (!n) return 1;
  if (n->kind != YN_SCALAR || !n->plain) return 0;
  return !strcmp(n->str, "") || !strcmp(n->str, "~") || !strcmp(n->str, "null") || !strcmp(n->str, "Null") ||
         !strcmp(n->str, "NULL");
}

const char *ytree_kind_name(const YNode *n) {
  if (ytree_is_null(n)) return "nothing";
  switch (n->kind) {
  case YN_SCALAR: return "a scalar";
  case YN_SEQ: return "a sequence";
  default: return "a mapping";
  }
}

YNode *ytree_parse(Arena *a, Diag *d, const char *file, const char *text, size_t len) {
  return ytree_parse_flags(a, d, file, text, len, 0);
}

YNode *ytree_load(Arena *a, Diag *d, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 14, n = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
  fclose(f);
  if (err) {
    free(buf);
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(err));
    return NULL;
  }
  char *text = arena_strndup(a, buf, n); /* the tree points into the text: same owner */
  free(buf);
  return ytree_parse(a, d, arena_strdup(a, path), text, n);
}

/* ---- typed readers ---- */

int ytree_number(const YNode *n, double *out) {
  if (!n || n->kind != YN_SCALAR || !n->plain || !n->len) return -1;
  char c0 = n->str[0];
  if (c0 != '-' && c0 != '+' && c0 != '.' && (c0 < '0' || c0 > '9')) return -1; /* no "inf", " 1" */
  char *end;
  errno = 0;
  double v = strtod(n->str, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

int ytree_int(const YNode *n, int64_t *out) {
  double v;
  if (ytree_number(n, &v) || v != floor(v) || v < -9.2e18 || v > 9.2e18) return -1;
  /* plain digits are read exactly (a double would round above 2^53) */
  char *end;
  errno = 0;
  long long k = strtoll(n->str, &end, 10);
  *out = !*end && !errno ? (int64_t)k : (int64_t)v;
  return 0;
}

int ytree_bool(const YNode *n, int *out) {
  static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
  if (!n || n->kind != YN_SCALAR || !n->plain) return -1;
  for (int i = 0; i < 3; i++) {
    if (!strcmp(n->str, yes[i])) return *out = 1, 0;
    if (!strcmp(n->str, no[i])) return *out = 0, 0;
  }
  return -1;
}

/* ---- suggestions ---- */

/* Edit distance, capped: only small distances matter for a suggestion. */
static int distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[lb];
}

const char *ytree_suggest(const char *name, const char *const *cands, int n) {
  int best = 99;
  const char *pick = NULL;
  int limit = (int)(strlen(name) + 1) / 3; /* short names: only near-misses */
  if (limit > 3) limit = 3;
  for (int i = 0; i < n; i++) {
    int dist = distance(name, cands[i]);
    if (dist < best && dist <= limit && strcmp(name, cands[i])) best = dist, pick = cands[i];
  }
  return pick;
}
