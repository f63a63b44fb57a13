/* print.c — the IR's canonical text form (docs/ir.md).
 *
 * The printer's output is the canonical text: parse.c reads it back into an identical
 * graph, so print -> parse -> print is byte-identical. Two details carry that promise:
 * floats print as the shortest of %.15g/%.16g/%.17g that reads back to the same bits, and
 * strings escape every byte the parser would not take literally. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

/* A growable string; the whole graph is printed into one before it is written out. */
typedef struct Buf {
  char *p;
  size_t len, cap;
} Buf;

static void reserve(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    fprintf(stderr, "mimic: error: out of memory\n");
    exit(2);
  }
  b->p = p;
  b->cap = cap;
}

static void put(Buf *b, const char *s, size_t n) {
  reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void puts_(Buf *b, const char *s) {
  put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) putf(Buf *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < (int)sizeof tmp) {
    put(b, tmp, (size_t)n);
    return;
  }
  reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Shortest of %.15g, %.16g, %.17g that strtod reads back to the same bits (%.17g always
 * does), made to look like a float so that the parser never takes it for an int. */
static void put_float(Buf *b, double x) {
  char s[40];
  if (isnan(x)) {
    puts_(b, "nan"); /* the sign and payload of a NaN are not kept */
    return;
  }
  if (isinf(x)) {
    puts_(b, x < 0 ? "-inf" : "inf");
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, x);
    double y = strtod(s, NULL);
    if (!memcmp(&x, &y, sizeof x)) break;
  }
  if (!strpbrk(s, ".e")) strcat(s, ".0");
  puts_(b, s);
}

/* A double-quoted string; bytes >= 0x80 (UTF-8) go through as they are. */
static void put_str(Buf *b, const char *s) {
  puts_(b, "\"");
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
    case '"': puts_(b, "\\\""); break;
    case '\\': puts_(b, "\\\\"); break;
    case '\n': puts_(b, "\\n"); break;
    case '\t': puts_(b, "\\t"); break;
    default:
      if (*p < 0x20 || *p == 0x7f) putf(b, "\\x%02x", *p);
      else put(b, (const char *)p, 1);
    }
  }
  puts_(b, "\"");
}

static void put_attr(Buf *b, const Attr *a) {
  putf(b, "%s=", a->key);
  switch (a->kind) {
  case AK_INT: putf(b, "%lld", (long long)a->v.i); break;
  case AK_FLOAT: put_float(b, a->v.f); break;
  case AK_STR: put_str(b, a->v.s); break;
  case AK_DTYPE: puts_(b, dtype_name(a->v.dt)); break;
  case AK_INTS:
    puts_(b, "[");
    for (int i = 0; i < a->n; i++) putf(b, i ? ",%lld" : "%lld", (long long)a->v.is[i]);
    puts_(b, "]");
    break;
  case AK_FLOATS:
    puts_(b, "[");
    for (int i = 0; i < a->n; i++) {
      if (i) puts_(b, ", ");
      put_float(b, a->v.fs[i]);
    }
    puts_(b, "]");
    break;
  }
}

static void put_node(Buf *b, const Graph *g, int id) {
  const Node *n = &g->nodes[id];
  const OpInfo *info = op_info(n->op);
  putf(b, "  %%%d = %s", id, info->name);
  if (n->op == OP_INPUT || n->op == OP_WEIGHT) {
    puts_(b, " ");
    put_str(b, n->name);
  }
  if (n->nin) {
    puts_(b, "(");
    for (int i = 0; i < n->nin; i++) putf(b, i ? ", %%%d" : "%%%d", n->in[i]);
    puts_(b, ")");
  }
  if (n->nattr) {
    puts_(b, " {");
    for (int i = 0; i < n->nattr; i++) {
      if (i) puts_(b, ", ");
      put_attr(b, &n->attr[i]);
    }
    puts_(b, "}");
  }
  char sh[IR_MAX_RANK * 21 + 3];
  putf(b, " : %s%s", dtype_name(n->dtype), shape_str(&n->shape, sh, sizeof sh));
  if (n->loc.file) {
    puts_(b, " @");
    put_str(b, n->loc.file);
    putf(b, ":%d:%d", n->loc.line, n->loc.col);
  }
  puts_(b, "\n");
}

char *ir_print_str(const Graph *g) {
  Buf b = {0};
  puts_(&b, "graph ");
  put_str(&b, g->name);
  puts_(&b, " {\n");
  for (int i = 0; i < g->n; i++) put_node(&b, g, i);
  for (int i = 0; i < g->nout; i++) {
    puts_(&b, "  output ");
    put_str(&b, g->outs[i].name);
    putf(&b, " = %%%d\n", g->outs[i].id);
  }
  puts_(&b, "}\n");
  return b.p;
}

void ir_print(const Graph *g, FILE *f) {
  char *s = ir_print_str(g);
  fputs(s, f);
  free(s);
}
