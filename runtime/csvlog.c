/* csvlog.c — the training log as CSV; see csvlog.h. */
#include "csvlog.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"

/* The whole file, NUL-terminated, malloc'd; NULL with errno set when it cannot be read. */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, got;
  char *buf = malloc(cap + 1);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *nb = realloc(buf, (cap *= 2) + 1);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
  fclose(f);
  if (err) {
    free(buf);
    errno = err;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* The length of the complete lines at the start of text (up to the last '\n'). */
static size_t complete_len(const char *text, size_t len) {
  while (len && text[len - 1] != '\n') len--;
  return len;
}

static char *join_header(const char *const *cols, int ncols) {
  size_t n = 1;
  for (int i = 0; i < ncols; i++) n += strlen(cols[i]) + 1;
  char *h = malloc(n), *p = h;
  if (!h) return NULL;
  for (int i = 0; i < ncols; i++) p += sprintf(p, "%s%s", i ? "," : "", cols[i]);
  *p = 0;
  return h;
}

/* The state of an existing log for appending: *fresh when it has no complete header
 * line (absent or empty: write one); a partial last line is cut off. 0, or -1 after
 * reporting (a header that is not `header`). */
static int check_existing(const char *path, const char *header, int *fresh, Diag *d) {
  size_t len;
  char *old = read_all(path, &len);
  *fresh = 1;
  if (!old) {
    if (errno == ENOENT) return 0;
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(errno));
    return -1;
  }
  size_t keep = complete_len(old, len);
  if (keep) { /* a header line is there: it must be ours */
    char *nl = strchr(old, '\n');
    *nl = 0;
    if (nl > old && nl[-1] == '\r') nl[-1] = 0;
    if (strcmp(old, header)) {
      diag_error(d, (SrcLoc){path, 1, 1},
                 "the log's columns are '%s' but this run writes '%s'; move the old log away or "
                 "write to another folder",
                 old, header);
      free(old);
      return -1;
    }
    *fresh = 0;
  }
  free(old);
  if (keep < len && truncate(path, (off_t)keep) != 0) { /* a crash's partial row */
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: %s", strerror(errno));
    return -1;
  }
  return 0;
}

int csv_open(CsvLog *l, const char *path, const char *const *cols, int ncols, int append, Diag *d) {
  memset(l, 0, sizeof *l);
  for (int i = 0; i < ncols; i++)
    if (!cols[i][0] || strpbrk(cols[i], ",\"\r\n")) {
      diag_error(d, (SrcLoc){path, 0, 0}, "column name '%s' must be non-empty, without ',', '\"' or a line break",
                 cols[i]);
      return -1;
    }
  char *header = join_header(cols, ncols);
  int fresh = 1;
  if (!header) {
    errno = ENOMEM;
    goto cannot_write;
  }
  if (append && check_existing(path, header, &fresh, d)) {
    free(header);
    return -1;
  }
  l->path = strdup(path);
  l->ncols = ncols;
  if (!l->path || !(l->f = fopen(path, fresh ? "wb" : "ab"))) goto cannot_write;
  if (fresh) fprintf(l->f, "%s\n", header);
  if (fflush(l->f) != 0 || ferror(l->f)) goto cannot_write;
  free(header);
  return 0;
cannot_write:
  diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: %s", strerror(errno ? errno : EIO));
  free(header);
  csv_close(l);
  return -1;
}

int csv_row(CsvLog *l, const double *vals, Diag *d) {
  for (int i = 0; i < l->ncols; i++) {
    if (i) fputc(',', l->f);
    if (!isnan(vals[i])) fprintf(l->f, "%.9g", vals[i]);
  }
  fputc('\n', l->f);
  if (fflush(l->f) != 0 || ferror(l->f)) {
    diag_error(d, (SrcLoc){l->path, 0, 0}, "cannot write: %s", strerror(errno ? errno : EIO));
    return -1;
  }
  return 0;
}

void csv_close(CsvLog *l) {
  if (!l) return;
  if (l->f) fclose(l->f);
  free(l->path);
  l->f = NULL;
  l->path = NULL;
}

int csv_drop_after(const char *path, double x, Diag *d) {
  size_t len;
  char *text = read_all(path, &len);
  if (!text) {
    if (errno == ENOENT) return 0;
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(errno));
    return -1;
  }
  len = complete_len(text, len);
  AFile af;
  if (afile_open(&af, path, d)) {
    free(text);
    return -1;
  }
  for (size_t at = 0, line = 0; at < len; line++) {
    char *nl = memchr(text + at, '\n', len - at);
    size_t n = (size_t)(nl - (text + at)) + 1;
    char *end;
    double v = strtod(text + at, &end);
    if (line == 0 || end == text + at || !(v > x)) afile_write(&af, text + at, n);
    at += n;
  }
  free(text);
  return afile_commit(&af, d);
}

/* Split one line (NUL-terminated, no '\n') at commas, in place, into at most max cells
 * (further cells are ignored). Returns the count of cells in the line;
 * with cells NULL it only counts and changes nothing. */
static int split(char *line, char **cells, int max) {
  int n = 0;
  for (char *p = line;;) {
    char *c = strchr(p, ',');
    if (n < max) cells[n] = p;
    n++;
    if (!c) return n;
    if (n <= max) *c = 0;
    p = c + 1;
  }
}

int csv_read(const char *path, CsvTable *t, Diag *d) {
  memset(t, 0, sizeof *t);
  size_t len;
  char *text = read_all(path, &len);
  if (!text) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(errno));
    return -1;
  }
  len = complete_len(text, len);
  text[len] = 0;
  long lines = 0;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  if (!lines) {
    free(text);
    diag_error(d, (SrcLoc){path, 0, 0}, "not a log: no header line");
    return -1;
  }
  char *p = text, *nl = strchr(p, '\n');
  *nl = 0;
  int nc = split(p, NULL, 0);
  t->cols = calloc((size_t)nc, sizeof(char *));
  char **cells = calloc((size_t)nc, sizeof(char *));
  t->vals = malloc(sizeof(double) * (size_t)nc * (size_t)(lines - 1) + 1);
  if (!t->cols || !cells || !t->vals) {
    free(cells);
    free(text);
    csv_table_free(t);
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot read: %s", strerror(ENOMEM));
    return -1;
  }
  t->ncols = nc;
  split(p, cells, nc);
  for (int i = 0; i < nc; i++) t->cols[i] = strdup(cells[i]);
  for (p = nl + 1; *p; p = nl + 1) {
    nl = strchr(p, '\n');
    *nl = 0;
    int got = split(p, cells, nc);
    double *row = t->vals + (size_t)t->rows * (size_t)nc;
    for (int i = 0; i < nc; i++) {
      char *end;
      row[i] = i < got ? strtod(cells[i], &end) : NAN;
      if (i < got && (end == cells[i] || (*end && *end != '\r'))) row[i] = NAN;
    }
    t->rows++;
  }
  free(cells);
  free(text);
  return 0;
}

void csv_table_free(CsvTable *t) {
  if (t->cols)
    for (int i = 0; i < t->ncols; i++) free(t->cols[i]);
  free(t->cols);
  free(t->vals);
  memset(t, 0, sizeof *t);
}

int csv_col(const CsvTable *t, const char *name) {
  for (int i = 0; i < t->ncols; i++)
    if (t->cols[i] && !strcmp(t->cols[i], name)) return i;
  return -1;
}
