/* fe_harness.h — what the front end's tests share: a scratch directory for model texts
 * (made by fe_scratch_begin, removed by fe_scratch_end), writing a text there, loading
 * it, and loading it expecting exactly one error (the message, with the directory
 * removed: without_dir). test_pretrain.c uses the scratch directory for recipes. */
#ifndef MIMIC_TEST_FE_HARNESS_H
#define MIMIC_TEST_FE_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "frontend/frontend.h"

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

/* Load `text` as dir/m.yaml. */
static inline Graph *load(const char *text, const FeDefine *defs, int ndefs, int64_t batch, FeInfo *info) {
  put("m.yaml", text);
  Diag d;
  diag_init(&d);
  FeOptions opt = {defs, ndefs, batch};
  Graph *g = fe_load_yaml(path_of("m.yaml"), &opt, info, &d);
  if (!g) fprintf(stderr, "unexpected error: %s\n", d.last);
  return g;
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

/* Load `text` expecting one error; returns its message with the directory removed. */
static inline const char *error_of(const char *text, const FeDefine *defs, int ndefs) {
  put("m.yaml", text);
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  FeOptions opt = {defs, ndefs, 2};
  Graph *g = fe_load_yaml(path_of("m.yaml"), &opt, NULL, &d);
  CHECK(g == NULL);
  CHECK_INT(d.nerr, 1);
  ir_graph_free(g);
  return without_dir(d.last);
}

static inline int fe_scratch_begin(void) {
  snprintf(dir, sizeof dir, "/tmp/mimic_fe_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}

/* remove the scratch directory and what the tests wrote there */
static inline void fe_scratch_end(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fprintf(stderr, "note: could not remove %s\n", dir);
}

#endif
