/* pipeline.c — THE list of mimic's default pipeline, and the drivers that run it.
 *
 * The pipeline is data: `mimic ir --after=PASS`, `--passes=A,B` and `--verify-each` all
 * come from this one table. Adding a pass is one row here (and its own file). */
#include <stdlib.h>
#include <string.h>

#include "pass.h"

static const Pass pipeline[] = {
    {"decompose", "lower high-level ops (linear, layer_norm, attention, ...) to primitives", pass_decompose},
    {"permute", "carry permutes through elementwise ops, pads and slices; cancel them where they meet", pass_permute},
    {"dce", "remove nodes no output needs, unused inputs and weights included", pass_dce},
};

#define NPASS ((int)(sizeof pipeline / sizeof pipeline[0]))

/* The pseudo-stage before any pass: the graph as the front end made it. */
static const char frontend[] = "frontend";

const Pass *pass_list(int *n) {
  if (n) *n = NPASS;
  return pipeline;
}

const Pass *pass_lookup(const char *name) {
  for (int i = 0; name && i < NPASS; i++)
    if (!strcmp(pipeline[i].name, name)) return &pipeline[i];
  return NULL;
}

static void unknown_pass(const char *name, Diag *d) {
  char names[300];
  size_t at = (size_t)snprintf(names, sizeof names, "%s", frontend);
  for (int i = 0; i < NPASS && at < sizeof names; i++)
    at += (size_t)snprintf(names + at, sizeof names - at, ", %s", pipeline[i].name);
  diag_error(d, SRCLOC_NONE, "unknown pass '%s' (passes: %s)", name, names);
}

/* Debug builds verify after every pass whatever the caller asked (DESIGN.md): a pass
 * that breaks the IR is caught at that pass, not three passes later. */
#ifdef NDEBUG
enum { always_verify = 0 };
#else
enum { always_verify = 1 };
#endif

/* Verify g when asked; `stage` names what made it. */
static int check(const Graph *g, const char *stage, int verify_each, Diag *d) {
  if (!(verify_each || always_verify) || ir_verify(g, d) == 0) return 0;
  diag_error(d, SRCLOC_NONE, "the IR after %s%s%s does not verify", strcmp(stage, frontend) ? "pass '" : "the ",
             stage, strcmp(stage, frontend) ? "'" : "");
  return -1;
}

/* Run passes ps[0..n) in order over g; every intermediate graph is freed. */
static Graph *run_seq(const Graph *g, const Pass *const *ps, int n, int verify_each, Diag *d) {
  if (check(g, frontend, verify_each, d)) return NULL;
  if (n == 0) return pass_copy(g, d);
  Graph *cur = NULL;
  for (int i = 0; i < n; i++) {
    Graph *next = ps[i]->run(cur ? cur : g, d);
    ir_graph_free(cur);
    cur = next;
    if (!cur) return NULL;
    if (check(cur, ps[i]->name, verify_each, d)) {
      ir_graph_free(cur);
      return NULL;
    }
  }
  return cur;
}

Graph *pass_run(const Graph *g, const char *after, int verify_each, Diag *d) {
  const Pass *ps[NPASS];
  int n = NPASS;
  if (after && !strcmp(after, frontend)) {
    n = 0;
  } else if (after) {
    const Pass *p = pass_lookup(after);
    if (!p) {
      unknown_pass(after, d);
      return NULL;
    }
    n = (int)(p - pipeline) + 1;
  }
  for (int i = 0; i < n; i++) ps[i] = &pipeline[i];
  return run_seq(g, ps, n, verify_each, d);
}

Graph *pass_run_list(const Graph *g, const char *list, int verify_each, Diag *d) {
  /* resolve every name before running anything, so a typo costs no work */
  size_t len = list ? strlen(list) : 0;
  const Pass **ps = malloc(sizeof *ps * (len / 2 + 1));
  char *buf = malloc(len + 1);
  if (!ps || !buf) exit(2);
  memcpy(buf, list ? list : "", len + 1);
  int n = 0, bad = 0;
  for (char *p = buf; len;) {
    char *end = strchr(p, ',');
    if (end) *end = 0;
    while (*p == ' ') p++;
    size_t l = strlen(p);
    while (l && p[l - 1] == ' ') p[--l] = 0;
    if (!*p) {
      diag_error(d, SRCLOC_NONE, "empty pass name in pass list '%s'", list);
      bad = 1;
    } else if (strcmp(p, frontend)) { /* "frontend" names no work: skip it */
      const Pass *pass = pass_lookup(p);
      if (!pass) {
        unknown_pass(p, d);
        bad = 1;
      }
      ps[n++] = pass;
    }
    if (!end || bad) break;
    p = end + 1;
  }
  Graph *r = bad ? NULL : run_seq(g, ps, n, verify_each, d);
  free(ps);
  free(buf);
  return r;
}
