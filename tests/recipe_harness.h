/* recipe_harness.h — a recipe text that must give exactly one error: recipe_bad writes
 * nothing, parses `text` as bad.yaml in the scratch directory (scratch.h) and compares
 * the message, with the directory removed, with `want`. */
#ifndef MIMIC_TEST_RECIPE_HARNESS_H
#define MIMIC_TEST_RECIPE_HARNESS_H
#include "check.h"
#include "recipe.h"
#include "scratch.h"
#include "support/arena.h"

static inline void recipe_bad(int line, const char *text, const char *want) {
  Arena *a = arena_new();
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  Recipe r;
  int rc = recipe_parse(path_of("bad.yaml"), text, strlen(text), a, &r, &d);
  const char *msg = without_dir(d.last);
  if (rc != -1 || d.nerr != 1 || strcmp(msg, want)) {
    fprintf(stderr, "%s:%d: recipe error case\n  got:  %s (rc %d, %d errors)\n  want: %s\n", __FILE__, line, msg, rc,
            d.nerr, want);
    check_failures++;
  }
  arena_free(a);
}

#endif
