/* diag.c — error reporting with source locations; see diag.h. */
#include "support/diag.h"

#include <stdarg.h>
#include <string.h>

void diag_init(Diag *d) {
  memset(d, 0, sizeof *d);
}

static void emit(Diag *d, SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
  char msg[400];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (loc.file && loc.line > 0)
    snprintf(d->last, sizeof d->last, "%s:%d:%d: %s: %s", loc.file, loc.line, loc.col, kind, msg);
  else if (loc.file)
    snprintf(d->last, sizeof d->last, "%s: %s: %s", loc.file, kind, msg);
  else
    snprintf(d->last, sizeof d->last, "mimic: %s: %s", kind, msg);
  if (!d->quiet) fprintf(d->out ? d->out : stderr, "%s\n", d->last);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(d, loc, "error", fmt, ap);
  va_end(ap);
  d->nerr++;
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(d, loc, "note", fmt, ap);
  va_end(ap);
}
