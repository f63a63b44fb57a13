/* npy.c — the .npy reader and writer; see npy.h.
 *
 * The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }. We parse the subset NumPy writes — quoted keys and strings, True /
 * False, tuples of non-negative integers — with the Python rules that matter (`(3)` is an
 * int, not a tuple; `(3,)` is), and require exactly the three keys. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afile.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c stores data in host order and assumes a little-endian host"
#endif

#define NPY_MAX_HEADER (1u << 20) /* NumPy itself refuses headers over 10000 bytes */

static const struct {
  const char *descr;
  DType dt;
} npy_types[] = {{"<f4", DT_F32}, {"<f8", DT_F64}, {"<i4", DT_I32}, {"<i8", DT_I64}, {"|b1", DT_BOOL}};
#define NPY_NTYPES ((int)(sizeof npy_types / sizeof npy_types[0]))

typedef unsigned long long ull;

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

/* ---- the header dict ---- */

typedef struct Hp {
  const char *s;   /* header text */
  size_t n, at;    /* its length, read position */
  char *err;       /* message buffer for the first error */
  size_t errn;
} Hp;

typedef struct Header {
  char descr[32];
  int fortran;
  Shape shape;
} Header;

static int hfail(Hp *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hfail(Hp *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->err, h->errn, fmt, ap);
  va_end(ap);
  return -1;
}

static int hpeek(Hp *h) {
  return h->at < h->n ? (unsigned char)h->s[h->at] : -1;
}

static void hws(Hp *h) {
  while (hpeek(h) == ' ' || hpeek(h) == '\t' || hpeek(h) == '\n' || hpeek(h) == '\r') h->at++;
}

/* A quoted string without escapes ('...' or "..."), into out. */
static int hstr(Hp *h, char *out, size_t outn) {
  int q = hpeek(h);
  if (q != '\'' && q != '"') return -1;
  size_t start = ++h->at;
  while (h->at < h->n && h->s[h->at] != q && h->s[h->at] != '\\' && h->s[h->at] != '\n') h->at++;
  if (hpeek(h) != q || h->at - start >= outn) return -1;
  memcpy(out, h->s + start, h->at - start);
  out[h->at - start] = 0;
  h->at++;
  return 0;
}

static int hword(Hp *h, const char *w) {
  size_t k = strlen(w);
  if (h->n - h->at < k || memcmp(h->s + h->at, w, k)) return 0;
  char next = h->at + k < h->n ? h->s[h->at + k] : ' ';
  if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') || next == '_')
    return 0;
  h->at += k;
  return 1;
}

static int hshape(Hp *h, Shape *s) {
  memset(s, 0, sizeof *s);
  if (hpeek(h) != '(') return hfail(h, "bad header: shape must be a tuple");
  h->at++;
  hws(h);
  int commas = 0;
  while (hpeek(h) != ')') {
    int neg = hpeek(h) == '-';
    h->at += (size_t)neg;
    if (hpeek(h) < '0' || hpeek(h) > '9') return hfail(h, "bad header: shape must be a tuple of integers");
    ull v = 0;
    while (hpeek(h) >= '0' && hpeek(h) <= '9') {
      unsigned dg = (unsigned)(hpeek(h) - '0');
      if (v > ((ull)INT64_MAX - dg) / 10) return hfail(h, "bad header: shape dimension is too large");
      v = v * 10 + dg;
      h->at++;
    }
    if (hpeek(h) == 'L') h->at++; /* Python 2 long, as in files from old NumPy */
    if (neg && v) return hfail(h, "bad header: shape has a negative dimension (-%llu)", v);
    if (s->rank == IR_MAX_RANK) return hfail(h, "rank is more than the %d mimic supports", IR_MAX_RANK);
    s->d[s->rank++] = (int64_t)v;
    hws(h);
    if (hpeek(h) == ',') {
      h->at++, commas++;
      hws(h);
    } else if (hpeek(h) != ')') {
      return hfail(h, "bad header: expected ',' or ')' in shape");
    }
  }
  if (s->rank == 1 && !commas) return hfail(h, "bad header: shape (n) is not a tuple; write (n,)");
  h->at++;
  return 0;
}

static int parse_header(const char *s, size_t n, Header *hd, char *err, size_t errn) {
  static const char *const keys[] = {"descr", "fortran_order", "shape"};
  Hp h = {s, n, 0, err, errn};
  int seen[3] = {0};
  hws(&h);
  if (hpeek(&h) != '{') return hfail(&h, "bad header: expected a dict");
  h.at++;
  for (;;) {
    char key[64];
    hws(&h);
    if (hpeek(&h) == '}') break;
    if (hstr(&h, key, sizeof key)) return hfail(&h, "bad header: expected a quoted key");
    int k = 0;
    while (k < 3 && strcmp(key, keys[k])) k++;
    if (k == 3) return hfail(&h, "bad header: unexpected key '%s'", key);
    if (seen[k]++) return hfail(&h, "bad header: duplicate key '%s'", key);
    hws(&h);
    if (hpeek(&h) != ':') return hfail(&h, "bad header: expected ':' after '%s'", key);
    h.at++;
    hws(&h);
    if (k == 0) {
      if (hpeek(&h) == '[') return hfail(&h, "structured dtypes are not supported");
      if (hstr(&h, hd->descr, sizeof hd->descr)) return hfail(&h, "bad header: descr must be a string");
    } else if (k == 1) {
      if (hword(&h, "True")) hd->fortran = 1;
      else if (hword(&h, "False")) hd->fortran = 0;
      else return hfail(&h, "bad header: fortran_order must be True or False");
    } else if (hshape(&h, &hd->shape)) {
      return -1;
    }
    hws(&h);
    if (hpeek(&h) == ',') h.at++;
    else if (hpeek(&h) != '}') return hfail(&h, "bad header: expected ',' or '}' after '%s'", key);
  }
  h.at++;
  hws(&h);
  if (h.at != h.n) return hfail(&h, "bad header: unexpected text after the dict");
  for (int k = 0; k < 3; k++)
    if (!seen[k]) return hfail(&h, "bad header: missing '%s'", keys[k]);
  return 0;
}

/* ---- reading ---- */

/* Validates the parsed header; returns the dtype or -1 after reporting. */
static int header_dtype(const char *path, const Header *hd, Diag *d) {
  for (int i = 0; i < NPY_NTYPES; i++)
    if (!strcmp(hd->descr, npy_types[i].descr)) {
      if (hd->fortran) return ERR("Fortran-order data is not supported (save a C-order array)");
      return (int)npy_types[i].dt;
    }
  if (hd->descr[0] == '>') return ERR("big-endian data ('%s') is not supported", hd->descr);
  return ERR("unsupported dtype '%s' (mimic reads <f4, <f8, <i4, <i8, |b1)", hd->descr);
}

int npy_read(const char *path, Tensor **out, Diag *d) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return ERR("cannot open: %s", strerror(errno));
  int rc = -1;
  char *hdr = NULL, herr[160], sbuf[200];
  Tensor *t = NULL;
  Header hd = {0};
  unsigned char pre[12];
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    ERR("cannot read: %s", strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    ERR("not a regular file");
    goto out;
  }
  ull fsize = (ull)st.st_size, got = fread(pre, 1, fsize < 12 ? fsize : 12, f);
  if (got < 6 || memcmp(pre, "\x93NUMPY", 6)) {
    ERR("not a .npy file (bad magic)");
    goto out;
  }
  if (got < 8) {
    ERR("truncated: the file ends inside the preamble");
    goto out;
  }
  int major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    ERR("unsupported .npy format version %d.%d", major, minor);
    goto out;
  }
  ull lenb = major == 1 ? 2 : 4, hlen = 0;
  if (got < 8 + lenb) {
    ERR("truncated: the file ends inside the preamble");
    goto out;
  }
  for (ull i = 0; i < lenb; i++) hlen |= (ull)pre[8 + i] << (8 * i);
  ull start = 8 + lenb;
  if (hlen > NPY_MAX_HEADER) {
    ERR("header length %llu is absurd (the limit is %u bytes)", hlen, NPY_MAX_HEADER);
    goto out;
  }
  if (hlen > fsize - start) {
    ERR("truncated: header says %llu bytes but only %llu follow", hlen, fsize - start);
    goto out;
  }
  if (!(hdr = malloc(hlen + 1)) || fseeko(f, (off_t)start, SEEK_SET) != 0 ||
      fread(hdr, 1, hlen, f) != hlen) {
    ERR("cannot read the header: %s", hdr ? strerror(errno) : "out of memory");
    goto out;
  }
  if (parse_header(hdr, hlen, &hd, herr, sizeof herr)) {
    ERR("%s", herr);
    goto out;
  }
  int dt = header_dtype(path, &hd, d);
  if (dt < 0) goto out;
  ull need = dtype_size((DType)dt), nz = 1, lim = (ull)INT64_MAX;
  for (int i = 0; i < hd.shape.rank; i++) {
    ull x = (ull)hd.shape.d[i];
    if (!x) continue;
    if (nz > lim / x || need > lim / x) {
      ERR("shape %s is too large", shape_str(&hd.shape, sbuf, sizeof sbuf));
      goto out;
    }
    nz *= x, need *= x;
  }
  if (shape_numel(&hd.shape) == 0) need = 0;
  ull have = fsize - start - hlen;
  if (have < need) {
    ERR("truncated data: shape %s of %s needs %llu bytes but the file has %llu",
        shape_str(&hd.shape, sbuf, sizeof sbuf), hd.descr, need, have);
    goto out;
  }
  if (have > need) {
    ERR("trailing data: %llu bytes after the %llu of shape %s %s", have - need, need,
        shape_str(&hd.shape, sbuf, sizeof sbuf), hd.descr);
    goto out;
  }
  t = tensor_new((DType)dt, hd.shape);
  if (need && fread(t->data, 1, need, f) != need) {
    ERR("cannot read the data: %s", ferror(f) ? strerror(errno) : "unexpected end of file");
    goto out;
  }
  if (dt == DT_BOOL) {
    const unsigned char *p = t->data;
    for (ull i = 0; i < need; i++)
      if (p[i] > 1) {
        ERR("bool element %llu is %u, not 0 or 1", i, p[i]);
        goto out;
      }
  }
  *out = t;
  t = NULL;
  rc = 0;
out:
  tensor_free(t);
  free(hdr);
  fclose(f);
  return rc;
}

/* ---- writing ---- */

int npy_write(const char *path, const Tensor *t, Diag *d) {
  const char *descr = NULL;
  for (int i = 0; i < NPY_NTYPES; i++)
    if (npy_types[i].dt == t->dtype) descr = npy_types[i].descr;
  if (!descr)
    return ERR("cannot write dtype %s to .npy (NumPy has no such dtype; convert to f32)",
               dtype_name(t->dtype));
  /* Exactly NumPy's header: the dict, padded with spaces and ended by '\n' so that the
   * data starts at a multiple of 64 bytes. Rank <= 8 keeps it far below 65535 bytes. */
  char h[512];
  int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->shape.rank; i++)
    n += snprintf(h + n, sizeof h - (size_t)n, i ? ", %lld" : "%lld", (long long)t->shape.d[i]);
  n += snprintf(h + n, sizeof h - (size_t)n, "%s), }", t->shape.rank == 1 ? "," : "");
  while ((10 + n + 1) % 64) h[n++] = ' ';
  h[n++] = '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff),
                           (unsigned char)(n >> 8)};
  AFile af;
  if (afile_open(&af, path, d)) return -1;
  afile_write(&af, pre, sizeof pre);
  afile_write(&af, h, (size_t)n);
  afile_write(&af, t->data, tensor_nbytes(t));
  return afile_commit(&af, d);
}
