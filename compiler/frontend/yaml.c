/* yaml.c — how the front end reads a model file's YAML: the tree of support/ytree.h with
 * calls in flow collections joined back together (YTREE_JOIN_CALLS, so `{init:
 * normal(0, 0.02)}` means what it says), and at most one error per load. */
#include "frontend/fe.h"

YNode *fe_yaml_parse(FeCtx *c, const char *file, const char *text, size_t len) {
  if (fe_failed(c)) return NULL; /* the first error is the one that matters */
  return ytree_parse_flags(c->tmp, c->d, file, text, len, YTREE_JOIN_CALLS);
}
