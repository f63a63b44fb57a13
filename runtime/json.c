/* json.c — a strict recursive-descent JSON reader; see json.h. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct P {
  const char *s;  /* the text */
  size_t n, at;   /* its length and the read position */
  char *err;      /* message buffer */
  size_t errn;
  int failed;     /* set by the first error; later ones are not recorded */
} P;

static int fail(P *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(P *p, const char *fmt, ...) {
  if (p->failed) return -1;
  p->failed = 1;
  int k = snprintf(p->err, p->errn, "at byte %zu: ", p->at);
  if (k < 0 || (size_t)k >= p->errn) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err + k, p->errn - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

static int peek(P *p) {
  return p->at < p->n ? (unsigned char)p->s[p->at] : -1;
}

static void ws(P *p) {
  while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\r' || peek(p) == '\n') p->at++;
}

static int grow(void **ptr, int *cap, int need, size_t elem) {
  if (need <= *cap) return 0;
  int c = *cap ? *cap * 2 : 4;
  void *q = realloc(*ptr, (size_t)c * elem);
  if (!q) return -1;
  *ptr = q;
  *cap = c;
  return 0;
}

/* ---- strings ---- */

typedef struct Str {
  char *b;
  size_t n, cap;
} Str;

static int put(Str *s, const char *c, size_t k) {
  if (s->n + k + 1 > s->cap) {
    size_t c2 = s->cap ? s->cap * 2 : 32;
    while (c2 < s->n + k + 1) c2 *= 2;
    char *q = realloc(s->b, c2);
    if (!q) return -1;
    s->b = q;
    s->cap = c2;
  }
  memcpy(s->b + s->n, c, k);
  s->n += k;
  s->b[s->n] = 0;
  return 0;
}

static int put_utf8(Str *s, uint32_t cp) {
  char b[4];
  size_t k;
  if (cp < 0x80) b[0] = (char)cp, k = 1;
  else if (cp < 0x800) b[0] = (char)(0xc0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3f)), k = 2;
  else if (cp < 0x10000)
    b[0] = (char)(0xe0 | cp >> 12), b[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
    b[2] = (char)(0x80 | (cp & 0x3f)), k = 3;
  else
    b[0] = (char)(0xf0 | cp >> 18), b[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
    b[2] = (char)(0x80 | (cp >> 6 & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f)), k = 4;
  return put(s, b, k);
}

/* Length of the valid UTF-8 sequence at p (at most `left` bytes), or 0 when invalid:
 * overlong forms, surrogates and code points above U+10FFFF are rejected. */
static size_t utf8_len(const unsigned char *p, size_t left) {
  uint32_t c = p[0], cp, min;
  size_t k;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) k = 2, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) k = 3, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) k = 4, cp = c & 0x07, min = 0x10000;
  else return 0;
  if (k > left) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return k;
}

static int hex4(P *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int c = peek(p);
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return fail(p, "bad \\u escape");
    v = v << 4 | (uint32_t)d;
    p->at++;
  }
  *out = v;
  return 0;
}

static int escape(P *p, Str *s) {
  int c = peek(p);
  p->at++;
  const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
  const char *e = c > 0 ? strchr(from, c) : NULL;
  if (e) return put(s, to + (e - from), 1);
  if (c != 'u') {
    p->at--;
    return fail(p, "bad escape in string");
  }
  uint32_t cp, lo;
  if (hex4(p, &cp)) return -1;
  if (cp >= 0xd800 && cp <= 0xdbff) { /* a high surrogate must be followed by a low one */
    if (peek(p) != '\\' || p->at + 1 >= p->n || p->s[p->at + 1] != 'u')
      return fail(p, "unpaired surrogate in \\u escape");
    p->at += 2;
    if (hex4(p, &lo)) return -1;
    if (lo < 0xdc00 || lo > 0xdfff) return fail(p, "unpaired surrogate in \\u escape");
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  } else if (cp >= 0xdc00 && cp <= 0xdfff) {
    return fail(p, "unpaired surrogate in \\u escape");
  }
  if (cp == 0) return fail(p, "\\u0000 is not allowed in a string");
  return put_utf8(s, cp);
}

static char *string(P *p) {
  Str s = {0};
  p->at++; /* the opening quote */
  if (put(&s, "", 0)) goto oom;
  for (;;) {
    int c = peek(p);
    if (c < 0) {
      fail(p, "unterminated string");
      break;
    }
    if (c == '"') {
      p->at++;
      return s.b;
    }
    if (c < 0x20) {
      fail(p, "control character in string");
      break;
    }
    if (c == '\\') {
      p->at++;
      if (escape(p, &s)) break;
      continue;
    }
    size_t k = utf8_len((const unsigned char *)p->s + p->at, p->n - p->at);
    if (!k) {
      fail(p, "invalid UTF-8 in string");
      break;
    }
    if (put(&s, p->s + p->at, k)) goto oom;
    p->at += k;
  }
  free(s.b);
  return NULL;
oom:
  fail(p, "out of memory");
  free(s.b);
  return NULL;
}

/* ---- numbers ---- */

static int digits(P *p) {
  size_t start = p->at;
  while (peek(p) >= '0' && peek(p) <= '9') p->at++;
  return p->at > start;
}

static int number(P *p, Json *j) {
  size_t start = p->at;
  int neg = peek(p) == '-', integral = 1;
  if (neg) p->at++;
  if (peek(p) == '0') p->at++;
  else if (!digits(p)) return fail(p, "bad number");
  if (peek(p) == '.') {
    p->at++, integral = 0;
    if (!digits(p)) return fail(p, "bad number");
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->at++, integral = 0;
    if (peek(p) == '+' || peek(p) == '-') p->at++;
    if (!digits(p)) return fail(p, "bad number");
  }
  char buf[64];
  size_t len = p->at - start;
  char *tmp = len < sizeof buf ? buf : malloc(len + 1);
  if (!tmp) return fail(p, "out of memory");
  memcpy(tmp, p->s + start, len);
  tmp[len] = 0;
  j->kind = JSON_NUM;
  j->num = strtod(tmp, NULL);
  if (tmp != buf) free(tmp);
  if (integral) { /* exact int64 value, without going through a double */
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    j->is_int = 1;
    for (size_t i = start + (size_t)neg; i < p->at; i++) {
      unsigned dg = (unsigned)(p->s[i] - '0');
      if (v > (lim - dg) / 10) {
        j->is_int = 0;
        break;
      }
      v = v * 10 + dg;
    }
    if (j->is_int) j->i = neg ? (int64_t)(0 - v) : (int64_t)v;
  }
  return 0;
}

/* ---- values ---- */

static int value(P *p, Json *j, int depth);

static int literal(P *p, const char *word) {
  size_t k = strlen(word);
  if (p->n - p->at < k || memcmp(p->s + p->at, word, k)) return fail(p, "unexpected character");
  p->at += k;
  return 0;
}

static int container(P *p, Json *j, int depth) {
  int obj = peek(p) == '{', cap = 0, kcap = 0;
  char close = obj ? '}' : ']';
  j->kind = obj ? JSON_OBJ : JSON_ARR;
  p->at++;
  ws(p);
  if (peek(p) == close) {
    p->at++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    if (obj) {
      ws(p);
      if (peek(p) != '"') return fail(p, "expected a string key");
      if (!(key = string(p))) return -1;
      ws(p);
      if (peek(p) != ':') {
        free(key);
        return fail(p, "expected ':'");
      }
      p->at++;
      if (grow((void **)&j->keys, &kcap, j->n + 1, sizeof *j->keys)) {
        free(key);
        return fail(p, "out of memory");
      }
      j->keys[j->n] = key;
    }
    if (grow((void **)&j->items, &cap, j->n + 1, sizeof *j->items)) {
      free(key);
      return fail(p, "out of memory");
    }
    memset(&j->items[j->n], 0, sizeof *j->items);
    j->n++; /* counted before parsing so that json_free sees a partial value */
    if (value(p, &j->items[j->n - 1], depth + 1)) return -1;
    ws(p);
    if (peek(p) == ',') {
      p->at++;
      continue;
    }
    if (peek(p) == close) {
      p->at++;
      return 0;
    }
    return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int value(P *p, Json *j, int depth) {
  if (depth > JSON_MAX_DEPTH) return fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
  ws(p);
  int c = peek(p);
  switch (c) {
    case -1: return fail(p, "unexpected end of text");
    case '{': case '[': return container(p, j, depth);
    case '"':
      j->kind = JSON_STR;
      return (j->s = string(p)) ? 0 : -1;
    case 't': j->kind = JSON_BOOL, j->b = 1; return literal(p, "true");
    case 'f': j->kind = JSON_BOOL; return literal(p, "false");
    case 'n': j->kind = JSON_NULL; return literal(p, "null");
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return number(p, j);
      return fail(p, "unexpected character");
  }
}

int json_parse(const char *text, size_t len, Json *out, char *err, size_t errn) {
  P p = {text, len, 0, err, errn, 0};
  memset(out, 0, sizeof *out);
  if (errn) err[0] = 0;
  if (value(&p, out, 0) == 0) {
    ws(&p);
    if (p.at == p.n) return 0;
    fail(&p, "unexpected text after the value");
  }
  json_free(out);
  return -1;
}

void json_free(Json *j) {
  for (int i = 0; i < j->n; i++) {
    if (j->keys) free(j->keys[i]);
    json_free(&j->items[i]);
  }
  free(j->keys);
  free(j->items);
  free(j->s);
  memset(j, 0, sizeof *j);
}

const Json *json_get(const Json *j, const char *key) {
  if (j->kind != JSON_OBJ) return NULL;
  for (int i = 0; i < j->n; i++)
    if (!strcmp(j->keys[i], key)) return &j->items[i];
  return NULL;
}
