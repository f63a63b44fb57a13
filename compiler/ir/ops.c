/* ops.c — the op table (from ops.def), dtype names and sizes.
 *
 * ops.def states each op's inputs and attributes as short strings so that adding an op
 * is one line; they are parsed once into OpInfo records. The parsed table is immutable
 * after that first call (pthread_once), so it is not mutable global state in the sense
 * STYLE.md forbids. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef struct OpRow {
  const char *name;
  OpClass cls;
  const char *ins, *attrs;
} OpRow;

static const OpRow rows[OP_COUNT] = {
#define OP(id, nm, c, i, a) [OP_##id] = {nm, OPC_##c, i, a},
#include "ir/ops.def"
#undef OP
};

static OpInfo table[OP_COUNT];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* Split `s` on spaces; returns the number of words copied into w (each a static copy). */
static int words(const char *s, char w[][48], int max) {
  int n = 0;
  while (*s) {
    while (*s == ' ') s++;
    if (!*s) break;
    int len = 0;
    while (s[len] && s[len] != ' ') len++;
    if (n == max || len >= 48) {
      fprintf(stderr, "mimic: internal error: ops.def entry too long: %s\n", s);
      abort();
    }
    memcpy(w[n], s, (size_t)len);
    w[n][len] = 0;
    n++;
    s += len;
  }
  return n;
}

/* Strings in OpInfo point into this storage, which lives as long as the table. */
static char names_store[OP_COUNT][OP_MAX_INPUTS + OP_MAX_ATTRS][48];
static char dflt_store[OP_COUNT][OP_MAX_ATTRS][48];

static void build_table(void) {
  for (int op = 0; op < OP_COUNT; op++) {
    const OpRow *r = &rows[op];
    OpInfo *info = &table[op];
    info->name = r->name;
    info->cls = r->cls;
    char w[OP_MAX_INPUTS][48];
    int n = words(r->ins, w, OP_MAX_INPUTS);
    info->nin_min = 0;
    info->nin_max = 0;
    info->nin_names = n;
    for (int i = 0; i < n; i++) {
      size_t len = strlen(w[i]);
      char mark = w[i][len - 1];
      if (mark == '?' || mark == '*') w[i][len - 1] = 0;
      strcpy(names_store[op][i], w[i]);
      info->in_names[i] = names_store[op][i];
      if (mark == '*') {
        info->nin_min++;
        info->nin_max = -1;
      } else {
        if (mark != '?') info->nin_min++;
        if (info->nin_max >= 0) info->nin_max++;
      }
    }
    char a[OP_MAX_ATTRS][48];
    int na = words(r->attrs, a, OP_MAX_ATTRS);
    info->nattr = na;
    for (int i = 0; i < na; i++) {
      char *colon = strchr(a[i], ':');
      char *eq = strchr(a[i], '=');
      if (!colon) abort();
      *colon = 0;
      if (eq) *eq = 0;
      const char *kind = colon + 1;
      AttrSpec *s = &info->attr[i];
      strcpy(names_store[op][OP_MAX_INPUTS + i], a[i]);
      s->name = names_store[op][OP_MAX_INPUTS + i];
      if (!strcmp(kind, "i")) s->kind = AK_INT;
      else if (!strcmp(kind, "f")) s->kind = AK_FLOAT;
      else if (!strcmp(kind, "is")) s->kind = AK_INTS;
      else if (!strcmp(kind, "fs")) s->kind = AK_FLOATS;
      else if (!strcmp(kind, "s")) s->kind = AK_STR;
      else if (!strcmp(kind, "dt")) s->kind = AK_DTYPE;
      else abort();
      if (eq) {
        strcpy(dflt_store[op][i], eq + 1);
        s->dflt = dflt_store[op][i];
      } else {
        s->dflt = NULL;
      }
    }
  }
}

const OpInfo *op_info(OpKind op) {
  pthread_once(&table_once, build_table);
  return &table[op];
}

int op_lookup(const char *name, OpKind *out) {
  for (int op = 0; op < OP_COUNT; op++)
    if (!strcmp(rows[op].name, name)) {
      *out = (OpKind)op;
      return 0;
    }
  return -1;
}

int op_is_primitive(OpKind op) {
  return rows[op].cls != OPC_HIGH;
}

/* ---- dtypes ---- */

static const char *const dt_names[DT_COUNT] = {"f32", "f64", "i32", "bool", "i64", "bf16"};
static const size_t dt_sizes[DT_COUNT] = {4, 8, 4, 1, 8, 2};

const char *dtype_name(DType t) {
  return (unsigned)t < DT_COUNT ? dt_names[t] : "?";
}

int dtype_parse(const char *s, DType *out) {
  for (int t = 0; t < DT_COUNT; t++)
    if (!strcmp(s, dt_names[t])) {
      *out = (DType)t;
      return 0;
    }
  return -1;
}

size_t dtype_size(DType t) {
  return (unsigned)t < DT_COUNT ? dt_sizes[t] : 0;
}

int dtype_is_float(DType t) {
  return t == DT_F32 || t == DT_F64 || t == DT_BF16;
}

int dtype_in_ir(DType t) {
  return t == DT_F32 || t == DT_F64 || t == DT_I32 || t == DT_BOOL;
}
