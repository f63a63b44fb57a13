/* diag.h — the one diagnostics unit: every user-facing error goes through here and is
 * printed as `file:line:col: error: message` (or `file: error: message` when there is no
 * line, e.g. a bad weight file). A Diag counts errors; callers stop at the first one. */
#ifndef MIMIC_DIAG_H
#define MIMIC_DIAG_H
#include <stdio.h>

typedef struct SrcLoc {
  const char *file; /* NULL when unknown; must outlive the loc (interned by its owner) */
  int line, col;    /* 1-based; 0 when unknown */
} SrcLoc;

typedef struct Diag {
  FILE *out;    /* where messages go; stderr when NULL */
  int nerr;     /* errors reported so far */
  int quiet;    /* count errors but print nothing (used by tests of error paths) */
  char last[512]; /* text of the most recent message, without the trailing newline */
} Diag;

#define SRCLOC_NONE ((SrcLoc){NULL, 0, 0})

void diag_init(Diag *d);
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
