/* scratch.h — a scratch directory for the tests that write files (made by
 * scratch_begin, removed with what the tests wrote by scratch_end): a path in it,
 * writing a text there, and a message with the directory removed (without_dir). */
#ifndef MIMIC_TEST_SCRATCH_H
#define MIMIC_TEST_SCRATCH_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static inline const char *path_of(const char *name) {
  static char buf[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static inline void put(const char *name, const char *text) {
  FILE *f = fopen(path_of(name), "w");
  if (!f) {
    perror(name);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
}

/* msg with the scratch directory dropped wherever it appears (a static buffer). */
static inline const char *without_dir(const char *msg) {
  static char out[512];
  size_t n = strlen(dir), k = 0;
  for (const char *p = msg; *p && k + 1 < sizeof out;)
    if (!strncmp(p, dir, n) && p[n] == '/') p += n + 1;
    else out[k++] = *p++;
  out[k] = 0;
  return out;
}

static inline int scratch_begin(void) {
  snprintf(dir, sizeof dir, "/tmp/mimic_test_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}

static inline void scratch_end(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fprintf(stderr, "note: could not remove %s\n", dir);
}

#endif
