/* safetensors.c — the safetensors reader and writer; see safetensors.h.
 *
 * Reading validates everything the reference implementation (huggingface/safetensors,
 * tensor.rs) validates — header size limits, JSON, dtypes, shapes, offsets matching
 * dtype x shape, the data buffer covered exactly once without gaps — and a little more
 * (duplicate names, unknown keys, bool bytes other than 0 or 1), so that a bad file is
 * one clear message instead of garbage weights. Data is read tensor by tensor with
 * fseeko/fread, so a large file is never held in memory twice. */
#include "safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afile.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c stores tensors in host order and assumes a little-endian host"
#endif

/* The reference rejects larger headers; so do we, before allocating anything. */
#define ST_MAX_HEADER 100000000ull

static const struct {
  const char *name;
  DType dt;
} st_types[] = {{"F32", DT_F32}, {"F64", DT_F64},  {"I32", DT_I32},
                {"I64", DT_I64}, {"BOOL", DT_BOOL}, {"BF16", DT_BF16}};
#define ST_NTYPES ((int)(sizeof st_types / sizeof st_types[0]))

static const char *st_type_name(DType t) {
  for (int i = 0; i < ST_NTYPES; i++)
    if (st_types[i].dt == t) return st_types[i].name;
  return NULL;
}

typedef unsigned long long ull;

/* One tensor of the header, validated. */
typedef struct Entry {
  const char *name; /* the header's key (owned by the JSON tree) */
  DType dt;
  Shape shape;
  ull b, e;         /* data_offsets, relative to the start of the data buffer */
} Entry;

/* Report at the file (no line: the problem is in binary data) and return -1. */
static int report(Diag *d, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int report(Diag *d, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(d, (SrcLoc){path, 0, 0}, "%s", msg);
  return -1;
}
#define ERR(...) report(d, path, __VA_ARGS__)

/* ---- reading ---- */

static int strp_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_duplicates(const char *path, const Json *root, Diag *d) {
  if (root->n < 2) return 0;
  const char **k = malloc((size_t)root->n * sizeof *k);
  if (!k) return ERR("out of memory");
  memcpy(k, root->keys, (size_t)root->n * sizeof *k);
  qsort(k, (size_t)root->n, sizeof *k, strp_cmp);
  int rc = 0;
  for (int i = 1; i < root->n && !rc; i++)
    if (!strcmp(k[i - 1], k[i])) rc = ERR("duplicate tensor '%s'", k[i]);
  free(k);
  return rc;
}

static int check_metadata(const char *path, const Json *m, Diag *d) {
  if (m->kind != JSON_OBJ) return ERR("__metadata__ must be an object of strings");
  for (int i = 0; i < m->n; i++)
    if (m->items[i].kind != JSON_STR)
      return ERR("__metadata__: value of '%s' is not a string", m->keys[i]);
  return 0;
}

static int parse_entry(const char *path, const char *name, const Json *v, ull buflen, Entry *e,
                       Diag *d) {
  static const char *const keys[] = {"dtype", "shape", "data_offsets"};
  if (v->kind != JSON_OBJ)
    return ERR("tensor '%s': expected an object with dtype, shape and data_offsets", name);
  for (int i = 0; i < v->n; i++) {
    int known = 0;
    for (int k = 0; k < 3; k++) known |= !strcmp(v->keys[i], keys[k]);
    if (!known) return ERR("tensor '%s': unexpected key '%s'", name, v->keys[i]);
    for (int j = 0; j < i; j++)
      if (!strcmp(v->keys[i], v->keys[j])) return ERR("tensor '%s': duplicate key '%s'", name, v->keys[i]);
  }
  const Json *dt = json_get(v, "dtype"), *sh = json_get(v, "shape"), *off = json_get(v, "data_offsets");
  if (!dt || !sh || !off)
    return ERR("tensor '%s': missing '%s'", name, !dt ? "dtype" : !sh ? "shape" : "data_offsets");

  e->name = name;
  if (dt->kind != JSON_STR) return ERR("tensor '%s': dtype must be a string", name);
  int t = 0;
  while (t < ST_NTYPES && strcmp(st_types[t].name, dt->s)) t++;
  if (t == ST_NTYPES) return ERR("tensor '%s': unsupported dtype '%s'", name, dt->s);
  e->dt = st_types[t].dt;

  if (sh->kind != JSON_ARR) return ERR("tensor '%s': shape must be a list of non-negative integers", name);
  if (sh->n > IR_MAX_RANK)
    return ERR("tensor '%s': rank %d is more than the %d mimic supports", name, sh->n, IR_MAX_RANK);
  memset(&e->shape, 0, sizeof e->shape);
  e->shape.rank = sh->n;
  for (int i = 0; i < sh->n; i++) {
    const Json *x = &sh->items[i];
    if (x->kind != JSON_NUM || !x->is_int)
      return ERR("tensor '%s': shape must be a list of non-negative integers", name);
    if (x->i < 0) return ERR("tensor '%s': shape has a negative dimension (%lld)", name, (long long)x->i);
    e->shape.d[i] = x->i;
  }
  /* The product of the non-zero extents must fit in int64 (shape_numel multiplies them
   * all, in order, whatever zeros follow), and so must the byte count. */
  char sbuf[200];
  ull bytes = dtype_size(e->dt), nz = 1, lim = (ull)INT64_MAX;
  for (int i = 0; i < sh->n; i++) {
    ull x = (ull)e->shape.d[i];
    if (!x) continue;
    if (nz > lim / x || bytes > lim / x)
      return ERR("tensor '%s': shape %s is too large", name, shape_str(&e->shape, sbuf, sizeof sbuf));
    nz *= x, bytes *= x;
  }
  if (shape_numel(&e->shape) == 0) bytes = 0;

  if (off->kind != JSON_ARR || off->n != 2 || off->items[0].kind != JSON_NUM ||
      off->items[1].kind != JSON_NUM || !off->items[0].is_int || !off->items[1].is_int ||
      off->items[0].i < 0 || off->items[1].i < off->items[0].i)
    return ERR("tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end", name);
  e->b = (ull)off->items[0].i;
  e->e = (ull)off->items[1].i;
  if (e->e - e->b != bytes)
    return ERR("tensor '%s': data_offsets [%llu,%llu] do not match dtype %s and shape %s (%llu bytes)",
               name, e->b, e->e, dt->s, shape_str(&e->shape, sbuf, sizeof sbuf), bytes);
  if (e->e > buflen)
    return ERR("tensor '%s': data_offsets [%llu,%llu] go past the end of the data (%llu bytes)", name,
               e->b, e->e, buflen);
  return 0;
}

static int entry_cmp(const void *a, const void *b) {
  const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
  if (x->b != y->b) return x->b < y->b ? -1 : 1;
  if (x->e != y->e) return x->e < y->e ? -1 : 1;
  return 0;
}

/* The tensors must tile the data buffer exactly: sorted by offset, each starts where the
 * previous one ended, and the last ends at the end of the file. */
static int check_coverage(const char *path, Entry *ents, int n, ull buflen, Diag *d) {
  Entry **by = malloc((size_t)(n > 0 ? n : 1) * sizeof *by);
  if (!by) return ERR("out of memory");
  for (int i = 0; i < n; i++) by[i] = &ents[i];
  qsort(by, (size_t)n, sizeof *by, entry_cmp);
  ull pos = 0;
  const Entry *owner = NULL; /* the tensor that ends at pos */
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    const Entry *c = by[i];
    if (c->b < pos)
      rc = ERR("tensor '%s': data_offsets [%llu,%llu] overlap tensor '%s' [%llu,%llu]", c->name, c->b,
               c->e, owner->name, owner->b, owner->e);
    else if (c->b > pos)
      rc = ERR("tensor '%s': data_offsets [%llu,%llu] leave a gap: bytes %llu to %llu belong to no tensor",
               c->name, c->b, c->e, pos, c->b);
    else if (c->e > c->b)
      pos = c->e, owner = c;
  }
  if (!rc && pos != buflen)
    rc = ERR("trailing data: the tensors end at byte %llu of the %llu-byte data buffer", pos, buflen);
  free(by);
  return rc;
}

static int read_tensor(const char *path, FILE *f, ull base, const Entry *e, Tensor **out, Diag *d) {
  Tensor *t = tensor_new(e->dt, e->shape);
  size_t nb = tensor_nbytes(t);
  if (nb && (fseeko(f, (off_t)(base + e->b), SEEK_SET) != 0 || fread(t->data, 1, nb, f) != nb)) {
    tensor_free(t);
    return ferror(f) ? ERR("cannot read tensor '%s': %s", e->name, strerror(errno))
                     : ERR("truncated while reading tensor '%s'", e->name);
  }
  if (e->dt == DT_BOOL) {
    const unsigned char *p = t->data;
    for (size_t i = 0; i < nb; i++)
      if (p[i] > 1) {
        unsigned v = p[i];
        tensor_free(t);
        return ERR("tensor '%s': bool element %zu is %u, not 0 or 1", e->name, i, v);
      }
  }
  *out = t;
  return 0;
}

int st_read(const char *path, TensorSet *out, Diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) return ERR("cannot open: %s", strerror(errno));
  int rc = -1, ne = 0;
  char *hdr = NULL;
  Json root = {0};
  Entry *ents = NULL;
  TensorSet got;
  tset_init(&got);
  struct stat st;
  unsigned char lb[8];
  char jerr[160];
  if (fstat(fileno(f), &st) != 0) {
    ERR("cannot read: %s", strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    ERR("not a regular file");
    goto out;
  }
  ull fsize = (ull)st.st_size;
  if (fsize < 8) {
    ERR("truncated: the file has %llu bytes, fewer than the 8 of the header length", fsize);
    goto out;
  }
  if (fread(lb, 1, 8, f) != 8) {
    ERR("cannot read: %s", strerror(errno));
    goto out;
  }
  ull n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | lb[i];
  if (n > ST_MAX_HEADER) {
    ERR("header length %llu is absurd (the limit is %llu bytes)", n, ST_MAX_HEADER);
    goto out;
  }
  if (n > fsize - 8) {
    ERR("truncated: header says %llu bytes but only %llu follow", n, fsize - 8);
    goto out;
  }
  if (!(hdr = malloc(n + 1))) {
    ERR("out of memory");
    goto out;
  }
  if (fread(hdr, 1, n, f) != n) {
    ERR("cannot read: %s", ferror(f) ? strerror(errno) : "unexpected end of file");
    goto out;
  }
  if (json_parse(hdr, n, &root, jerr, sizeof jerr)) {
    ERR("header is not valid JSON: %s", jerr);
    goto out;
  }
  if (root.kind != JSON_OBJ) {
    ERR("header is not a JSON object");
    goto out;
  }
  if (check_duplicates(path, &root, d)) goto out;
  ull buflen = fsize - 8 - n;
  if (!(ents = malloc((size_t)(root.n > 0 ? root.n : 1) * sizeof *ents))) {
    ERR("out of memory");
    goto out;
  }
  for (int i = 0; i < root.n; i++) {
    if (!strcmp(root.keys[i], "__metadata__")) {
      if (check_metadata(path, &root.items[i], d)) goto out;
    } else if (parse_entry(path, root.keys[i], &root.items[i], buflen, &ents[ne++], d)) {
      goto out;
    }
  }
  if (check_coverage(path, ents, ne, buflen, d)) goto out;
  for (int i = 0; i < ne; i++) {
    Tensor *t = NULL;
    if (read_tensor(path, f, 8 + n, &ents[i], &t, d)) goto out;
    tset_put(&got, ents[i].name, t);
  }
  /* Only now, with every tensor read, does `out` change. */
  for (int i = 0; i < got.n; i++) {
    tset_put(out, got.names[i], got.t[i]);
    got.t[i] = NULL;
  }
  rc = 0;
out:
  tset_free(&got);
  free(ents);
  json_free(&root);
  free(hdr);
  fclose(f);
  return rc;
}

/* ---- writing ---- */

typedef struct Buf {
  char *b;
  size_t n, cap;
} Buf;

static void bput(Buf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bput(Buf *s, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->b ? s->b + s->n : NULL, s->b ? s->cap - s->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) abort();
    if (s->b && s->n + (size_t)k < s->cap) {
      s->n += (size_t)k;
      return;
    }
    size_t c = s->cap ? s->cap : 256;
    while (c <= s->n + (size_t)k) c *= 2;
    char *q = realloc(s->b, c);
    if (!q) {
      fprintf(stderr, "mimic: out of memory\n");
      abort();
    }
    s->b = q;
    s->cap = c;
  }
}

static void bput_jstr(Buf *s, const char *str) {
  bput(s, "\"");
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    if (*p == '"' || *p == '\\') bput(s, "\\%c", *p);
    else if (*p < 0x20) bput(s, "\\u%04x", *p);
    else bput(s, "%c", *p);
  }
  bput(s, "\"");
}

typedef struct Item {
  const char *name;
  const Tensor *t;
} Item;

/* Largest element first keeps every tensor aligned to its element size (the data buffer
 * starts 8-aligned); names break ties, as in the reference writer. */
static int item_cmp(const void *a, const void *b) {
  const Item *x = a, *y = b;
  size_t sx = dtype_size(x->t->dtype), sy = dtype_size(y->t->dtype);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

int st_write(const char *path, const TensorSet *ts, Diag *d) {
  for (int i = 0; i < ts->n; i++) {
    if (!st_type_name(ts->t[i]->dtype))
      return ERR("tensor '%s': cannot write dtype %s", ts->names[i], dtype_name(ts->t[i]->dtype));
    if (!strcmp(ts->names[i], "__metadata__"))
      return ERR("a tensor cannot be named '__metadata__' (the name is reserved)");
  }
  Item *it = malloc((size_t)(ts->n > 0 ? ts->n : 1) * sizeof *it);
  if (!it) return ERR("out of memory");
  for (int i = 0; i < ts->n; i++) it[i] = (Item){ts->names[i], ts->t[i]};
  qsort(it, (size_t)ts->n, sizeof *it, item_cmp);

  Buf h = {0};
  ull off = 0;
  bput(&h, "{");
  for (int i = 0; i < ts->n; i++) {
    const Tensor *t = it[i].t;
    ull nb = tensor_nbytes(t);
    bput(&h, i ? "," : "");
    bput_jstr(&h, it[i].name);
    bput(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_type_name(t->dtype));
    for (int k = 0; k < t->shape.rank; k++) bput(&h, k ? ",%lld" : "%lld", (long long)t->shape.d[k]);
    bput(&h, "],\"data_offsets\":[%llu,%llu]}", off, off + nb);
    off += nb;
  }
  bput(&h, "}");
  while (h.n % 8) bput(&h, " ");

  unsigned char lb[8];
  for (int i = 0; i < 8; i++) lb[i] = (unsigned char)((ull)h.n >> (8 * i));
  AFile af;
  int rc = -1;
  if (afile_open(&af, path, d) == 0) {
    afile_write(&af, lb, 8);
    afile_write(&af, h.b, h.n);
    for (int i = 0; i < ts->n; i++) afile_write(&af, it[i].t->data, tensor_nbytes(it[i].t));
    rc = afile_commit(&af, d);
  }
  free(h.b);
  free(it);
  return rc;
}
