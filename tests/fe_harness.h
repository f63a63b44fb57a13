/* fe_harness.h — what the front end's tests share: loading a model text written to the
 * scratch directory (scratch.h), and loading it expecting exactly one error (the
 * message, with the directory removed). */
#ifndef MIMIC_TEST_FE_HARNESS_H
#define MIMIC_TEST_FE_HARNESS_H
#include "check.h"
#include "frontend/frontend.h"
#include "scratch.h"

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

#endif
