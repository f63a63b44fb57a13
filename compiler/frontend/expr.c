/* expr.c — the lexer and recursive-descent parser for expressions: body statements
 * (`name = expression`), parameter values, shapes and initializers.
 *
 * Grammar (Python's precedence, lowest first):
 *   assign  := NAME '=' expr
 *   expr    := arith [('<' | '<=' | '==' | '!=' | '>' | '>=') arith]
 *   arith   := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | '//' | '%') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := postfix ['**' unary]
 *   postfix := primary (('(' args ')') | ('[' subscripts ']'))*
 *   primary := NUMBER | NAME | STRING | '(' expr ')' | '[' [expr (',' expr)*] ']'
 * A NAME may contain dots (`attn.qkv.weight` is one name). Every node records the byte
 * offset of its token so that errors point into the YAML file. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe.h"

#define MAX_NEST 200 /* parentheses and calls deeper than this are not a model */

typedef enum TokKind { T_END, T_NUM, T_NAME, T_STR, T_OP } TokKind;

typedef struct Tok {
  TokKind k;
  size_t pos, len; /* where the token is in the text */
  double num;      /* T_NUM */
  int is_int;
  char op[4]; /* T_OP: "+", "**", "...", ... */
} Tok;

typedef struct Parser {
  FeCtx *c;
  const Src *src;
  const char *s; /* the text */
  size_t i;      /* next unread byte */
  Tok t;         /* current token */
  int depth;
} Parser;

SrcLoc fe_src_loc(const Src *s, size_t pos) {
  return fe_loc_at(s->node, pos);
}

static int perr(Parser *p, size_t pos, const char *fmt, const char *arg) {
  return fe_err(p->c, fe_src_loc(p->src, pos), fmt, arg);
}

static int name_start(char ch) {
  return isalpha((unsigned char)ch) || ch == '_';
}

static int name_char(char ch) {
  return isalnum((unsigned char)ch) || ch == '_';
}

int fe_is_ident(const char *s) {
  if (!name_start(*s)) return 0;
  while (*s) {
    if (*s == '.') {
      if (!name_char(s[1])) return 0;
    } else if (!name_char(*s)) {
      return 0;
    }
    s++;
  }
  return 1;
}

/* Read the next token into p->t; -1 after reporting a bad character. */
static int next(Parser *p) {
  const char *s = p->s;
  size_t i = p->i;
  while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') i++;
  Tok t = {.pos = i};
  if (!s[i]) {
    t.k = T_END;
  } else if (isdigit((unsigned char)s[i]) || (s[i] == '.' && isdigit((unsigned char)s[i + 1]))) {
    size_t j = i;
    int is_int = 1;
    while (isdigit((unsigned char)s[j])) j++;
    if (s[j] == '.') {
      is_int = 0;
      j++;
      while (isdigit((unsigned char)s[j])) j++;
    }
    if ((s[j] == 'e' || s[j] == 'E') && (isdigit((unsigned char)s[j + 1]) ||
                                         ((s[j + 1] == '+' || s[j + 1] == '-') && isdigit((unsigned char)s[j + 2])))) {
      is_int = 0;
      j += 2;
      while (isdigit((unsigned char)s[j])) j++;
    }
    if (name_start(s[j])) {
      p->i = j;
      return perr(p, i, "malformed number '%s'", arena_strndup(p->c->tmp, s + i, j + 1 - i));
    }
    t.k = T_NUM;
    t.num = strtod(arena_strndup(p->c->tmp, s + i, j - i), NULL);
    t.is_int = is_int;
    i = j;
  } else if (name_start(s[i])) {
    size_t j = i;
    while (name_char(s[j]) || (s[j] == '.' && name_char(s[j + 1]))) j++;
    t.k = T_NAME;
    i = j;
  } else if (s[i] == '\'' || s[i] == '"') {
    size_t j = i + 1;
    while (s[j] && s[j] != s[i]) j++;
    if (!s[j]) return perr(p, i, "unterminated string %s", s[i] == '"' ? "(missing '\"')" : "(missing \"'\")");
    t.k = T_STR;
    i = j + 1;
  } else {
    static const char *const ops[] = {"...", "**", "//", "<=", ">=", "==", "!=", "+", "-", "*", "/",
                                      "%",   "<",  ">",  "(",  ")",  "[",  "]",  ",", ":", "="};
    t.k = T_OP;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
      size_t n = strlen(ops[k]);
      if (!strncmp(s + i, ops[k], n)) {
        memcpy(t.op, ops[k], n + 1);
        i += n;
        break;
      }
    }
    if (!t.op[0]) {
      size_t n = 1;
      while (((unsigned char)s[i + n] & 0xC0) == 0x80) n++; /* one UTF-8 character */
      return perr(p, i, "unexpected character '%s'", arena_strndup(p->c->tmp, s + i, n));
    }
  }
  t.len = i - t.pos;
  p->t = t;
  p->i = i;
  return 0;
}

static int is_op(const Parser *p, const char *op) {
  return p->t.k == T_OP && !strcmp(p->t.op, op);
}

static const char *describe(Parser *p) {
  if (p->t.k == T_END) return "the end of the text";
  return arena_printf(p->c->tmp, "'%.*s'", (int)p->t.len, p->s + p->t.pos);
}

static int expect(Parser *p, const char *op) {
  if (!is_op(p, op)) {
    const char *what = arena_printf(p->c->tmp, "expected '%s' but found %s", op, describe(p));
    return perr(p, p->t.pos, "%s", what);
  }
  return next(p);
}

static Expr *node(Parser *p, ExKind k, size_t pos) {
  Expr *e = arena_alloc(p->c->tmp, sizeof *e);
  e->kind = k;
  e->pos = pos;
  return e;
}

static void push(Parser *p, Expr ***v, int *n, int *cap, Expr *e) {
  *v = fe_grow(p->c, *v, *n, cap, sizeof(Expr *));
  (*v)[(*n)++] = e;
}

static Expr *expr(Parser *p);
static Expr *unary(Parser *p);

static Expr *binary(Parser *p, BinOp op, size_t pos, Expr *a, Expr *b) {
  if (!b) return NULL;
  Expr *e = node(p, EX_BIN, pos);
  e->op = op;
  e->args = arena_alloc(p->c->tmp, 2 * sizeof(Expr *));
  e->args[0] = a;
  e->args[1] = b;
  e->nargs = 2;
  return e;
}

/* '(' already consumed; the function name is in `call`. */
static Expr *call_args(Parser *p, Expr *call) {
  int cap = 0, kcap[3] = {0, 0, 0};
  while (!is_op(p, ")")) {
    Parser save = *p;
    if (p->t.k == T_NAME) { /* keyword argument? look one token ahead */
      size_t kpos = p->t.pos;
      const char *kname = arena_strndup(p->c->tmp, p->s + p->t.pos, p->t.len);
      if (next(p)) return NULL;
      if (is_op(p, "=")) {
        if (next(p)) return NULL;
        for (int k = 0; k < call->nkw; k++)
          if (!strcmp(call->kw[k], kname)) {
            perr(p, kpos, "argument '%s' is given twice", kname);
            return NULL;
          }
        Expr *v = expr(p);
        if (!v) return NULL;
        int n = call->nkw;
        call->kw = fe_grow(p->c, call->kw, n, &kcap[0], sizeof(char *));
        call->kwval = fe_grow(p->c, call->kwval, n, &kcap[1], sizeof(Expr *));
        call->kwpos = fe_grow(p->c, call->kwpos, n, &kcap[2], sizeof(size_t));
        call->kw[n] = kname;
        call->kwval[n] = v;
        call->kwpos[n] = kpos;
        call->nkw++;
        goto sep;
      }
      *p = save;
    }
    if (call->nkw) {
      perr(p, p->t.pos, "%s", "a positional argument cannot follow a keyword argument");
      return NULL;
    }
    Expr *a = expr(p);
    if (!a) return NULL;
    push(p, &call->args, &call->nargs, &cap, a);
  sep:
    if (is_op(p, ",")) {
      if (next(p)) return NULL;
    } else if (!is_op(p, ")")) {
      const char *what =
          arena_printf(p->c->tmp, "expected ',' or ')' in the arguments of '%s' but found %s", call->name, describe(p));
      perr(p, p->t.pos, "%s", what);
      return NULL;
    }
  }
  return next(p) ? NULL : call;
}

/* One subscript: `...`, an expression, or a slice lo:hi[:step] with parts optional. */
static Expr *subscript(Parser *p) {
  if (is_op(p, "...")) {
    Expr *e = node(p, EX_ELLIPSIS, p->t.pos);
    return next(p) ? NULL : e;
  }
  Expr *lo = NULL;
  size_t pos = p->t.pos;
  if (!is_op(p, ":")) {
    lo = expr(p);
    if (!lo || !is_op(p, ":")) return lo;
  }
  Expr *e = node(p, EX_SLICE, pos);
  e->args = arena_alloc(p->c->tmp, 3 * sizeof(Expr *));
  e->nargs = 3;
  e->args[0] = lo;
  for (int k = 1; k < 3 && is_op(p, ":"); k++) {
    if (next(p)) return NULL;
    if (is_op(p, ":") || is_op(p, ",") || is_op(p, "]")) continue;
    if (!(e->args[k] = expr(p))) return NULL;
  }
  return e;
}

static Expr *primary(Parser *p) {
  Tok t = p->t;
  switch (t.k) {
  case T_NUM: {
    Expr *e = node(p, EX_NUM, t.pos);
    e->num = t.num;
    e->is_int = t.is_int;
    return next(p) ? NULL : e;
  }
  case T_STR: {
    Expr *e = node(p, EX_STR, t.pos);
    e->name = arena_strndup(p->c->tmp, p->s + t.pos + 1, t.len - 2);
    return next(p) ? NULL : e;
  }
  case T_NAME: {
    Expr *e = node(p, EX_NAME, t.pos);
    e->name = arena_strndup(p->c->tmp, p->s + t.pos, t.len);
    if (next(p)) return NULL;
    if (is_op(p, "(")) {
      e->kind = EX_CALL;
      if (next(p)) return NULL;
      return call_args(p, e);
    }
    return e;
  }
  case T_OP:
    if (is_op(p, "(")) {
      if (next(p)) return NULL;
      Expr *e = expr(p);
      if (!e || expect(p, ")")) return NULL;
      return e;
    }
    if (is_op(p, "[")) {
      Expr *e = node(p, EX_LIST, t.pos);
      int cap = 0;
      if (next(p)) return NULL;
      while (!is_op(p, "]")) {
        Expr *a = expr(p);
        if (!a) return NULL;
        push(p, &e->args, &e->nargs, &cap, a);
        if (is_op(p, ",")) {
          if (next(p)) return NULL;
        } else if (!is_op(p, "]")) {
          const char *what = arena_printf(p->c->tmp, "expected ',' or ']' in a list but found %s", describe(p));
          perr(p, p->t.pos, "%s", what);
          return NULL;
        }
      }
      return next(p) ? NULL : e;
    }
    /* fallthrough */
  default: {
    const char *what = arena_printf(p->c->tmp, "expected an expression but found %s", describe(p));
    perr(p, t.pos, "%s", what);
    return NULL;
  }
  }
}

static Expr *postfix(Parser *p) {
  Expr *e = primary(p);
  while (e && (is_op(p, "[") || is_op(p, "("))) {
    if (is_op(p, "(")) {
      perr(p, p->t.pos, "%s", "only a function name can be called");
      return NULL;
    }
    Expr *ix = node(p, EX_INDEX, p->t.pos);
    int cap = 0;
    push(p, &ix->args, &ix->nargs, &cap, e);
    if (next(p)) return NULL;
    for (;;) {
      Expr *s = subscript(p);
      if (!s) return NULL;
      push(p, &ix->args, &ix->nargs, &cap, s);
      if (is_op(p, "]")) break;
      if (expect(p, ",")) return NULL;
    }
    if (next(p)) return NULL;
    e = ix;
  }
  return e;
}

static Expr *power(Parser *p) {
  Expr *e = postfix(p);
  if (e && is_op(p, "**")) {
    size_t pos = p->t.pos;
    if (next(p)) return NULL;
    return binary(p, B_POW, pos, e, unary(p));
  }
  return e;
}

static Expr *unary(Parser *p) {
  if (is_op(p, "-") || is_op(p, "+")) {
    int neg = is_op(p, "-");
    size_t pos = p->t.pos;
    if (++p->depth > MAX_NEST) {
      perr(p, pos, "%s", "the expression is nested too deeply");
      return NULL;
    }
    if (next(p)) return NULL;
    Expr *a = unary(p);
    p->depth--;
    if (!a || !neg) return a;
    Expr *e = node(p, EX_NEG, pos);
    e->args = arena_alloc(p->c->tmp, sizeof(Expr *));
    e->args[0] = a;
    e->nargs = 1;
    return e;
  }
  return power(p);
}

static Expr *term(Parser *p) {
  Expr *e = unary(p);
  while (e && (is_op(p, "*") || is_op(p, "/") || is_op(p, "//") || is_op(p, "%"))) {
    BinOp op = is_op(p, "*") ? B_MUL : is_op(p, "/") ? B_DIV : is_op(p, "//") ? B_FLOORDIV : B_MOD;
    size_t pos = p->t.pos;
    if (next(p)) return NULL;
    e = binary(p, op, pos, e, unary(p));
  }
  return e;
}

static Expr *arith(Parser *p) {
  Expr *e = term(p);
  while (e && (is_op(p, "+") || is_op(p, "-"))) {
    BinOp op = is_op(p, "+") ? B_ADD : B_SUB;
    size_t pos = p->t.pos;
    if (next(p)) return NULL;
    e = binary(p, op, pos, e, term(p));
  }
  return e;
}

static Expr *expr(Parser *p) {
  if (++p->depth > MAX_NEST) {
    perr(p, p->t.pos, "%s", "the expression is nested too deeply");
    return NULL;
  }
  Expr *e = arith(p);
  static const struct {
    const char *tok;
    BinOp op;
  } cmps[] = {{"<", B_LT}, {"<=", B_LE}, {">", B_GT}, {">=", B_GE}, {"==", B_EQ}, {"!=", B_NE}};
  for (size_t k = 0; e && k < sizeof cmps / sizeof cmps[0]; k++)
    if (is_op(p, cmps[k].tok)) {
      size_t pos = p->t.pos;
      if (next(p)) return NULL;
      e = binary(p, cmps[k].op, pos, e, arith(p));
      break;
    }
  p->depth--;
  return e;
}

static int start(Parser *p, FeCtx *c, const Src *s) {
  *p = (Parser){.c = c, .src = s, .s = s->node->str};
  return next(p);
}

static int finish(Parser *p) {
  if (p->t.k == T_END) return 0;
  const char *what = arena_printf(p->c->tmp, "unexpected %s after the end of the expression", describe(p));
  return perr(p, p->t.pos, "%s", what);
}

Expr *fe_parse_expr(FeCtx *c, const Src *s) {
  Parser p;
  if (start(&p, c, s)) return NULL;
  Expr *e = expr(&p);
  if (!e || finish(&p)) return NULL;
  return e;
}

int fe_parse_assign(FeCtx *c, const Src *s, const char **name, size_t *name_pos, Expr **e) {
  Parser p;
  if (start(&p, c, s)) return -1;
  Tok t = p.t;
  if (t.k != T_NAME) return perr(&p, t.pos, "%s", "expected a statement 'name = expression'");
  if (next(&p)) return -1;
  if (!is_op(&p, "=")) {
    const char *what =
        arena_printf(c->tmp, "expected '=' after '%.*s' (a statement is 'name = expression') but found %s", (int)t.len,
                     p.s + t.pos, describe(&p));
    return perr(&p, p.t.pos, "%s", what);
  }
  if (next(&p)) return -1;
  *name = arena_strndup(c->tmp, p.s + t.pos, t.len);
  *name_pos = t.pos;
  *e = expr(&p);
  if (!*e || finish(&p)) return -1;
  return 0;
}
