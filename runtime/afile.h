/* afile.h — atomic file writing: bytes go to a temporary file beside the target
 * (PATH.tmp.XXXXXX), are flushed and fsync'd, and replace the target by rename only when
 * every byte was written. On any failure the temporary file is removed, so no partial
 * file is left and an existing target is untouched. Used by the tensor file writers. */
#ifndef MIMIC_AFILE_H
#define MIMIC_AFILE_H
#include <stddef.h>
#include <stdio.h>

#include "support/diag.h"

typedef struct AFile {
  FILE *f;          /* the temporary file; callers may also write to it directly */
  char *tmp;        /* its path, malloc'd */
  const char *path; /* the target, borrowed */
  int err;          /* errno of the first failed write; 0 while all went well */
} AFile;

/* Create the temporary file. 0 ok; otherwise reports at {path,0,0} and returns -1. */
int afile_open(AFile *a, const char *path, Diag *d);
/* Append bytes; a failure is remembered and reported by afile_commit (as is one of a
 * direct write to f, through ferror). */
void afile_write(AFile *a, const void *p, size_t n);
/* Flush, fsync and rename over the target. 0 ok; otherwise reports, removes the
 * temporary file and returns -1. Either way `a` is finished. */
int afile_commit(AFile *a, Diag *d);
/* Give up: close and remove the temporary file, report nothing. */
void afile_abort(AFile *a);

/* Create the folder `path` and its parents (mkdir -p). 0, or -1 after reporting. */
int afile_mkdirs(const char *path, Diag *d);

#endif
