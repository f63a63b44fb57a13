/* parse.c — reads the IR's text form (docs/ir.md) back into a graph.
 *
 * A hand-written lexer and recursive-descent parser over one line per statement. Nodes
 * are rebuilt through ir_emit, so every type rule runs again; the builder is given the
 * location of the node's op name in the .mir text, so its messages point there, and the
 * `@"file":line:col` provenance is put back on the node afterwards. The first error is
 * reported once, at the line and column of the offending token, and parsing stops. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef enum TokKind {
  T_EOF, T_NL, T_IDENT, T_NUM, T_STR, T_ID, T_PUNCT
} TokKind;

typedef struct Tok {
  TokKind k;
  const char *s; /* the token's text in the source */
  int len;       /* its length in bytes */
  int line, col; /* 1-based; columns count bytes */
  char *str;     /* T_STR: the decoded string (parse arena) */
  int id;        /* T_ID: the number after '%' */
} Tok;

typedef struct Parser {
  const char *p;          /* next unread byte */
  const char *line_start; /* first byte of the current line */
  int line;
  const char *file;       /* for diagnostics */
  Tok t;                  /* the current token */
  Diag *d;
  Arena *tmp;             /* token strings and attribute values, freed after the parse */
  Graph *g;
  const char *last_file;  /* last interned provenance file (nodes mostly share one) */
  int *named, nnamed, namedcap; /* ids of input and weight nodes, for duplicate names */
} Parser;

/* ---- diagnostics ---- */

static int __attribute__((format(printf, 3, 4))) err(Parser *p, const Tok *t, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(p->d, (SrcLoc){p->file, t->line, t->col}, "%s", msg);
  return -1;
}

/* How a token reads in a message: "'foo'", "a string", "end of line". */
static const char *desc(const Tok *t, char *buf, size_t n) {
  switch (t->k) {
  case T_EOF: return "end of file";
  case T_NL: return "end of line";
  case T_STR: return "a string";
  default: snprintf(buf, n, "'%.*s'", t->len > 40 ? 40 : t->len, t->s); return buf;
  }
}

#define DESC(t) desc((t), dbuf, sizeof dbuf)

/* ---- lexer ---- */

static int is_alpha(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c) {
  return c >= '0' && c <= '9';
}

static int hexval(int c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int lex_string(Parser *p, Tok *t) {
  const char *s = p->p + 1;
  /* the decoded string is never longer than its raw text up to the end of the line */
  size_t raw = strcspn(s, "\n");
  char *out = arena_alloc(p->tmp, raw + 1), *o = out;
  for (;;) {
    unsigned char c = (unsigned char)*s;
    if (!c || c == '\n') return err(p, t, "unterminated string");
    if (c == '"') break;
    if (c != '\\') {
      *o++ = (char)c;
      s++;
      continue;
    }
    Tok at = {.line = p->line, .col = (int)(s - p->line_start) + 1};
    switch (s[1]) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case 'n': *o++ = '\n'; break;
    case 't': *o++ = '\t'; break;
    case 'x': {
      int h = hexval(s[2]), l = h < 0 ? -1 : hexval(s[3]);
      if (h < 0 || l < 0) return err(p, &at, "\\x in a string needs two hex digits");
      if (!h && !l) return err(p, &at, "a string cannot contain a NUL byte (\\x00)");
      *o++ = (char)(h * 16 + l);
      s += 2;
      break;
    }
    default:
      if (!s[1] || s[1] == '\n') return err(p, t, "unterminated string");
      return err(p, &at, "unknown escape '\\%c' in a string", s[1]);
    }
    s += 2;
  }
  *o = 0;
  t->k = T_STR;
  t->str = out;
  t->len = (int)(s + 1 - t->s);
  return 0;
}

/* Reads the next token into p->t; -1 after reporting a lexical error. */
static int next(Parser *p) {
  for (;;) {
    char c = *p->p;
    if (c == ' ' || c == '\t' || c == '\r') p->p++;
    else if (c == '#')
      while (*p->p && *p->p != '\n') p->p++;
    else break;
  }
  Tok *t = &p->t;
  *t = (Tok){.s = p->p, .line = p->line, .col = (int)(p->p - p->line_start) + 1};
  const char *s = p->p;
  unsigned char c = (unsigned char)*s;
  if (!c) {
    t->k = T_EOF;
    return 0;
  }
  if (c == '\n') {
    t->k = T_NL;
    t->len = 1;
    p->p++;
    p->line++;
    p->line_start = p->p;
    return 0;
  }
  if (c == '"') {
    if (lex_string(p, t)) return -1;
  } else if (is_alpha(c)) {
    while (is_alpha(s[t->len]) || is_digit(s[t->len])) t->len++;
    int special = (t->len == 3 && (!strncmp(s, "inf", 3) || !strncmp(s, "nan", 3)));
    t->k = special ? T_NUM : T_IDENT;
  } else if (is_digit(c) || c == '.' || ((c == '-' || c == '+') && (is_digit(s[1]) || s[1] == '.' || is_alpha(s[1])))) {
    /* a number, checked by num_form when it is used; swallow what follows so that
     * "12ab" is one bad number rather than a number and a name */
    t->k = T_NUM;
    t->len = 1;
    for (;;) {
      char ch = s[t->len], prev = s[t->len - 1];
      if (is_alpha(ch) || is_digit(ch) || ch == '.') t->len++;
      else if ((ch == '-' || ch == '+') && (prev == 'e' || prev == 'E')) t->len++;
      else break;
    }
  } else if (c == '%') {
    if (!is_digit(s[1])) return err(p, t, "expected a node id (digits) after '%%'");
    long long v = 0;
    t->len = 1;
    while (is_digit(s[t->len])) {
      v = v * 10 + (s[t->len++] - '0');
      if (v > INT_MAX) return err(p, t, "node id is too large");
    }
    t->k = T_ID;
    t->id = (int)v;
  } else if (strchr("=(){}[],:@", c)) {
    t->k = T_PUNCT;
    t->len = 1;
  } else if (c >= 0x21 && c < 0x7f) {
    return err(p, t, "unexpected character '%c'", c);
  } else {
    return err(p, t, "unexpected byte 0x%02x", c);
  }
  p->p += t->len;
  return 0;
}

static int is_punct(const Tok *t, char c) {
  return t->k == T_PUNCT && *t->s == c;
}

static int is_word(const Tok *t, const char *w) {
  return t->k == T_IDENT && (int)strlen(w) == t->len && !strncmp(t->s, w, (size_t)t->len);
}

/* Expects punctuation c, then moves past it; `what` says where, for the message. */
static int expect(Parser *p, char c, const char *what) {
  char dbuf[64];
  if (!is_punct(&p->t, c)) return err(p, &p->t, "expected '%c' %s, got %s", c, what, DESC(&p->t));
  return next(p);
}

/* ---- numbers ---- */

enum { NUM_BAD, NUM_INT, NUM_FLOAT };

/* [-+]? (digits [. digits?]? | . digits) ([eE] [-+]? digits)?  or  [-+]? (inf | nan) */
static int num_form(const Tok *t) {
  const char *s = t->s, *e = t->s + t->len;
  if (s < e && (*s == '-' || *s == '+')) s++;
  if (e - s == 3 && (!strncmp(s, "inf", 3) || !strncmp(s, "nan", 3))) return NUM_FLOAT;
  int digits = 0, flt = 0;
  while (s < e && is_digit(*s)) s++, digits++;
  if (s < e && *s == '.') {
    s++, flt = 1;
    while (s < e && is_digit(*s)) s++, digits++;
  }
  if (!digits) return NUM_BAD;
  if (s < e && (*s == 'e' || *s == 'E')) {
    s++, flt = 1;
    if (s < e && (*s == '-' || *s == '+')) s++;
    if (s == e || !is_digit(*s)) return NUM_BAD;
    while (s < e && is_digit(*s)) s++;
  }
  return s != e ? NUM_BAD : flt ? NUM_FLOAT : NUM_INT;
}

/* The current token as an int64; `what` names it in the message. */
static int tok_int(Parser *p, const char *what, int64_t *out) {
  char dbuf[64], buf[32];
  const Tok *t = &p->t;
  if (t->k != T_NUM || num_form(t) != NUM_INT) return err(p, t, "expected %s, got %s", what, DESC(t));
  if (t->len >= (int)sizeof buf) return err(p, t, "integer %.*s is out of range", t->len, t->s);
  memcpy(buf, t->s, (size_t)t->len);
  buf[t->len] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE) return err(p, t, "integer %s is out of range", buf);
  *out = v;
  return 0;
}

static int tok_float(Parser *p, const char *what, double *out) {
  char dbuf[64], buf[512];
  const Tok *t = &p->t;
  if (t->k != T_NUM || num_form(t) == NUM_BAD) return err(p, t, "expected %s, got %s", what, DESC(t));
  if (t->len >= (int)sizeof buf) return err(p, t, "number is too long");
  memcpy(buf, t->s, (size_t)t->len);
  buf[t->len] = 0;
  double v = strtod(buf, NULL);
  if (isinf(v) && !strstr(buf, "inf")) return err(p, t, "float %s is out of range", buf);
  *out = v;
  return 0;
}

/* A non-negative int that fits an int (line, column). */
static int tok_small(Parser *p, const char *what, int *out) {
  int64_t v;
  if (tok_int(p, what, &v)) return -1;
  if (v < 0 || v > INT_MAX) return err(p, &p->t, "expected %s, got %lld", what, (long long)v);
  *out = (int)v;
  return next(p);
}

/* ---- attributes ---- */

static const char *kind_name(AttrKind k) {
  static const char *const names[] = {"an int", "a float", "an int list", "a float list", "a string", "a dtype"};
  return names[k];
}

/* `[` numbers `]` into a list attribute (s->kind is AK_INTS or AK_FLOATS). */
_Static_assert(sizeof(int64_t) == sizeof(double), "one 8-byte slot holds an int or a float");
static int parse_list(Parser *p, const OpInfo *info, const AttrSpec *s, Attr *a) {
  int cap = 8;
  void *vals = arena_alloc(p->tmp, 8 * (size_t)cap);
  if (next(p)) return -1;
  a->n = 0;
  while (!is_punct(&p->t, ']')) {
    if (a->n) {
      char dbuf[64];
      if (!is_punct(&p->t, ',')) return err(p, &p->t, "expected ',' or ']' in a list, got %s", DESC(&p->t));
      if (next(p)) return -1;
    }
    if (a->n == cap) {
      void *more = arena_alloc(p->tmp, 8 * (size_t)cap * 2);
      memcpy(more, vals, 8 * (size_t)cap);
      vals = more;
      cap *= 2;
    }
    int form = p->t.k == T_NUM ? num_form(&p->t) : NUM_BAD;
    if (s->kind == AK_INTS && form == NUM_FLOAT)
      return err(p, &p->t, "%s: attribute '%s' must be an int list", info->name, s->name);
    if (s->kind == AK_INTS ? tok_int(p, "an integer", (int64_t *)vals + a->n)
                           : tok_float(p, "a number", (double *)vals + a->n))
      return -1;
    a->n++;
    if (next(p)) return -1;
  }
  if (s->kind == AK_INTS) a->v.is = vals;
  else a->v.fs = vals;
  return next(p);
}

/* The value after `key=`, checked against the attribute's kind in the op table. */
static int parse_value(Parser *p, const OpInfo *info, const AttrSpec *s, Attr *a) {
  Tok *t = &p->t;
  a->key = s->name;
  a->kind = s->kind;
  int form = t->k == T_NUM ? num_form(t) : NUM_BAD;
  int ok;
  switch (s->kind) {
  case AK_INT: ok = t->k == T_NUM && form != NUM_FLOAT; break;
  case AK_FLOAT: ok = t->k == T_NUM; break;
  case AK_INTS:
  case AK_FLOATS: ok = is_punct(t, '['); break;
  case AK_STR: ok = t->k == T_STR; break;
  case AK_DTYPE: ok = t->k == T_IDENT; break;
  default: ok = 0;
  }
  if (!ok) return err(p, t, "%s: attribute '%s' must be %s", info->name, s->name, kind_name(s->kind));
  switch (s->kind) {
  case AK_INT:
    if (tok_int(p, "an integer", &a->v.i)) return -1;
    break;
  case AK_FLOAT:
    if (tok_float(p, "a number", &a->v.f)) return -1;
    break;
  case AK_STR: a->v.s = t->str; break;
  case AK_DTYPE: {
    char name[16];
    snprintf(name, sizeof name, "%.*s", t->len, t->s);
    if (t->len >= (int)sizeof name || dtype_parse(name, &a->v.dt))
      return err(p, t, "unknown dtype '%.*s'", t->len > 40 ? 40 : t->len, t->s);
    break;
  }
  default: return parse_list(p, info, s, a);
  }
  return next(p);
}

/* `{ key=value, ... }`: any order, each key at most once; missing required ones are an
 * error at the op name (`op`), missing optional ones are left to ir_emit's defaults. */
static int parse_attrs(Parser *p, const OpInfo *info, const Tok *op, Attr *as, int *nattr) {
  char dbuf[64];
  int given[OP_MAX_ATTRS] = {0};
  *nattr = 0;
  if (is_punct(&p->t, '{')) {
    if (next(p)) return -1;
    for (;;) {
      Tok key = p->t;
      if (key.k != T_IDENT) return err(p, &key, "expected an attribute name, got %s", DESC(&key));
      int i = 0;
      while (i < info->nattr && !is_word(&key, info->attr[i].name)) i++;
      if (i == info->nattr) return err(p, &key, "%s: unknown attribute '%.*s'", info->name, key.len, key.s);
      if (given[i]) return err(p, &key, "%s: attribute '%s' is given twice", info->name, info->attr[i].name);
      given[i] = 1;
      if (next(p) || expect(p, '=', "after the attribute name")) return -1;
      if (parse_value(p, info, &info->attr[i], &as[(*nattr)++])) return -1;
      if (is_punct(&p->t, '}')) break;
      if (!is_punct(&p->t, ',')) return err(p, &p->t, "expected ',' or '}' after an attribute, got %s", DESC(&p->t));
      if (next(p)) return -1;
    }
    if (next(p)) return -1;
  }
  for (int i = 0; i < info->nattr; i++)
    if (!given[i] && !info->attr[i].dflt)
      return err(p, op, "%s: missing attribute '%s'", info->name, info->attr[i].name);
  return 0;
}

/* ---- nodes, outputs, the graph ---- */

/* `: dtype[d0,d1,...]`; the dtype token is left in *at for messages about the type. */
static int parse_type(Parser *p, DType *dt, Shape *s, Tok *at) {
  char dbuf[64], name[16];
  if (expect(p, ':', "and the node's type")) return -1;
  *at = p->t;
  if (p->t.k != T_IDENT) return err(p, &p->t, "expected a dtype, got %s", DESC(&p->t));
  snprintf(name, sizeof name, "%.*s", p->t.len, p->t.s);
  if (p->t.len >= (int)sizeof name || dtype_parse(name, dt))
    return err(p, &p->t, "unknown dtype '%.*s'", p->t.len > 40 ? 40 : p->t.len, p->t.s);
  if (!dtype_in_ir(*dt)) return err(p, &p->t, "dtype %s cannot appear in a graph", name);
  if (next(p) || expect(p, '[', "after the dtype")) return -1;
  *s = shape_scalar();
  while (!is_punct(&p->t, ']')) {
    if (s->rank) {
      if (!is_punct(&p->t, ',')) return err(p, &p->t, "expected ',' or ']' in a shape, got %s", DESC(&p->t));
      if (next(p)) return -1;
    }
    if (s->rank == IR_MAX_RANK) return err(p, &p->t, "a shape has at most %d dimensions", IR_MAX_RANK);
    int64_t v;
    if (tok_int(p, "a dimension", &v)) return -1;
    if (v < 0) return err(p, &p->t, "dimension %lld is negative", (long long)v);
    s->d[s->rank++] = v;
    if (next(p)) return -1;
  }
  return next(p);
}

/* `@"file":line:col`, when present. */
static int parse_loc(Parser *p, SrcLoc *loc) {
  char dbuf[64];
  *loc = SRCLOC_NONE;
  if (!is_punct(&p->t, '@')) return 0;
  if (next(p)) return -1;
  if (p->t.k != T_STR) return err(p, &p->t, "expected a quoted file name after '@', got %s", DESC(&p->t));
  if (!p->last_file || strcmp(p->last_file, p->t.str)) p->last_file = ir_intern(p->g, p->t.str);
  loc->file = p->last_file;
  if (next(p) || expect(p, ':', "after the file name") || tok_small(p, "a line number", &loc->line) ||
      expect(p, ':', "after the line number") || tok_small(p, "a column number", &loc->col))
    return -1;
  return 0;
}

static int end_of_line(Parser *p, const char *what) {
  char dbuf[64];
  if (p->t.k == T_EOF) return 0;
  if (p->t.k != T_NL) return err(p, &p->t, "unexpected %s %s", DESC(&p->t), what);
  return next(p);
}

static int parse_node(Parser *p) {
  char dbuf[64];
  Graph *g = p->g;
  Tok idt = p->t;
  if (idt.id != g->n) return err(p, &idt, "expected node %%%d here, got %%%d (ids count up from %%0)", g->n, idt.id);
  if (next(p) || expect(p, '=', "after the node id")) return -1;
  Tok opt = p->t;
  OpKind op;
  if (opt.k != T_IDENT) return err(p, &opt, "expected an op name, got %s", DESC(&opt));
  char name[32];
  snprintf(name, sizeof name, "%.*s", opt.len, opt.s);
  if (opt.len >= (int)sizeof name || op_lookup(name, &op))
    return err(p, &opt, "unknown op '%.*s'", opt.len > 40 ? 40 : opt.len, opt.s);
  const OpInfo *info = op_info(op);
  if (next(p)) return -1;

  NodeSpec sp = {.op = op, .loc = {p->file, opt.line, opt.col}};
  int named = op == OP_INPUT || op == OP_WEIGHT;
  if (p->t.k == T_STR) {
    if (!named) return err(p, &p->t, "%s: only input and weight nodes have a name", info->name);
    sp.name = p->t.str;
    /* input and weight names are one namespace: the runtime binds both by name */
    for (int i = 0; i < p->nnamed; i++)
      if (!strcmp(g->nodes[p->named[i]].name, sp.name))
        return err(p, &p->t, "%s name '%s' is already used by %%%d", info->name, sp.name, p->named[i]);
    if (p->nnamed == p->namedcap) {
      p->namedcap = p->namedcap ? 2 * p->namedcap : 64;
      int *more = arena_alloc(p->tmp, sizeof(int) * (size_t)p->namedcap);
      if (p->nnamed) memcpy(more, p->named, sizeof(int) * (size_t)p->nnamed);
      p->named = more;
    }
    p->named[p->nnamed++] = g->n; /* the id this node will get */
    if (next(p)) return -1;
  } else if (named) {
    return err(p, &p->t, "%s: expected the %s's name as a quoted string, got %s", info->name, info->name, DESC(&p->t));
  }

  int cap = 8, *in = arena_alloc(p->tmp, sizeof(int) * (size_t)cap);
  if (is_punct(&p->t, '(')) {
    do {
      if (next(p)) return -1;
      if (p->t.k != T_ID) return err(p, &p->t, "expected an input (%%id), got %s", DESC(&p->t));
      if (p->t.id >= g->n) return err(p, &p->t, "undefined value %%%d", p->t.id);
      if (sp.nin == cap) {
        int *more = arena_alloc(p->tmp, sizeof(int) * (size_t)cap * 2);
        memcpy(more, in, sizeof(int) * (size_t)cap);
        in = more;
        cap *= 2;
      }
      in[sp.nin++] = p->t.id;
      if (next(p)) return -1;
    } while (is_punct(&p->t, ','));
    if (expect(p, ')', "after the inputs")) return -1;
  }
  sp.in = in;

  Attr as[OP_MAX_ATTRS];
  if (parse_attrs(p, info, &opt, as, &sp.nattr)) return -1;
  sp.attr = as;

  DType dt;
  Shape s;
  Tok tyt;
  if (parse_type(p, &dt, &s, &tyt)) return -1;
  SrcLoc prov;
  if (parse_loc(p, &prov) || end_of_line(p, "after the node")) return -1;

  sp.dtype = dt;
  sp.shape = &s;
  int id = ir_emit(g, &sp, p->d);
  if (id < 0) return -1;
  Node *n = &g->nodes[id];
  if (n->dtype != dt || !shape_eq(&n->shape, &s)) {
    char b1[IR_MAX_RANK * 21 + 3], b2[IR_MAX_RANK * 21 + 3];
    return err(p, &tyt, "%%%d: written type %s%s but %s gives %s%s", id, dtype_name(dt), shape_str(&s, b1, sizeof b1),
               info->name, dtype_name(n->dtype), shape_str(&n->shape, b2, sizeof b2));
  }
  n->loc = prov;
  return 0;
}

static int parse_output(Parser *p) {
  char dbuf[64];
  Graph *g = p->g;
  if (next(p)) return -1;
  Tok nt = p->t;
  if (nt.k != T_STR) return err(p, &nt, "expected the output's name as a quoted string, got %s", DESC(&nt));
  for (int i = 0; i < g->nout; i++)
    if (!strcmp(g->outs[i].name, nt.str)) return err(p, &nt, "duplicate output '%s'", nt.str);
  if (next(p) || expect(p, '=', "after the output's name")) return -1;
  if (p->t.k != T_ID) return err(p, &p->t, "expected a node id (%%id), got %s", DESC(&p->t));
  if (p->t.id >= g->n) return err(p, &p->t, "undefined value %%%d", p->t.id);
  ir_add_output(g, nt.str, p->t.id);
  if (next(p)) return -1;
  return end_of_line(p, "after the output");
}

static int skip_newlines(Parser *p) {
  while (p->t.k == T_NL)
    if (next(p)) return -1;
  return 0;
}

static int parse_graph(Parser *p) {
  char dbuf[64];
  if (next(p) || skip_newlines(p)) return -1;
  if (!is_word(&p->t, "graph")) return err(p, &p->t, "expected 'graph' at the start of the IR text, got %s", DESC(&p->t));
  if (next(p)) return -1;
  if (p->t.k != T_STR) return err(p, &p->t, "expected the graph's name as a quoted string, got %s", DESC(&p->t));
  p->g = ir_graph_new(p->t.str);
  if (next(p) || expect(p, '{', "after the graph's name") || end_of_line(p, "after '{'")) return -1;
  for (;;) {
    if (skip_newlines(p)) return -1;
    Tok t = p->t;
    if (is_punct(&t, '}')) break;
    if (t.k == T_ID) {
      if (p->g->nout) return err(p, &t, "nodes must come before the outputs");
      if (parse_node(p)) return -1;
    } else if (is_word(&t, "output")) {
      if (parse_output(p)) return -1;
    } else if (t.k == T_EOF) {
      return err(p, &t, "missing '}' at the end of the graph");
    } else {
      return err(p, &t, "expected a node (%%id = ...), an output or '}', got %s", DESC(&t));
    }
  }
  if (next(p)) return -1;
  if (p->t.k != T_EOF && p->t.k != T_NL) return err(p, &p->t, "unexpected %s after '}'", DESC(&p->t));
  if (skip_newlines(p)) return -1;
  if (p->t.k != T_EOF) return err(p, &p->t, "unexpected %s after the end of the graph", DESC(&p->t));
  return 0;
}

Graph *ir_parse(const char *text, const char *file, Diag *d) {
  Parser p = {.p = text, .line_start = text, .line = 1, .file = file ? file : "<ir>", .d = d};
  p.tmp = arena_new();
  int rc = parse_graph(&p);
  arena_free(p.tmp);
  if (rc) {
    ir_graph_free(p.g);
    return NULL;
  }
  return p.g;
}

Graph *ir_parse_file(const char *path, Diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len - 1 == 0) {
      char *more = realloc(buf, cap * 2);
      if (!more) free(buf);
      buf = more;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf) {
    fprintf(stderr, "mimic: error: out of memory\n");
    exit(2);
  }
  buf[len] = 0;
  Graph *g = NULL;
  if (bad) diag_error(d, (SrcLoc){path, 0, 0}, "cannot read the file");
  else if (strlen(buf) != len) diag_error(d, (SrcLoc){path, 0, 0}, "the file contains a NUL byte");
  else g = ir_parse(buf, path, d);
  free(buf);
  return g;
}
