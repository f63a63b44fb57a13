/* cmd_ir.c — `mimic ir` (IR text after any pass) and `mimic dot` (Graphviz). */
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "cli.h"
#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "fuse.h"
#include "pass.h"
#include "trainstep.h"

static const char *help_ir =
    "usage: mimic ir FILE [--after=PASS | --passes=P1,P2,...] [--train] [--verify-each] [-o OUT.mir]\n"
    "                [-D name=value]... [--batch N]\n"
    "Print the model's IR: after the front end (--after=frontend, the default), after a pass\n"
    "of the pipeline (--after=decompose, --after=all), or after an explicit pass list.\n"
    "--after=fuse prints the IR after all passes with the fusion groups (passes/fuse.h) as\n"
    "comments: each kernel in execution order, and for every other node the kernels that\n"
    "compute it inside them and how (per element, per row, or as the contraction that the\n"
    "kernel's epilogue follows). --train prints the training step instead (forward, loss\n"
    "`loss`, backward, AdamW), after all passes.\n"
    "The text reads back: every command that takes a model also takes a .mir file.\n";

static const char *help_dot =
    "usage: mimic dot FILE [--after=PASS] [-D name=value]... [--batch N]\n"
    "Print the model's graph in Graphviz dot (pipe to `dot -Tsvg`).\n";

static void dot_print(const Graph *g, FILE *f) {
  fprintf(f, "digraph \"%s\" {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n", g->name);
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    char sh[128];
    shape_str(&n->shape, sh, sizeof sh);
    const char *style = n->op == OP_INPUT    ? "shape=box, style=filled, fillcolor=\"#cfe8ff\""
                        : n->op == OP_WEIGHT ? "shape=box, style=filled, fillcolor=\"#ffe8b0\""
                        : op_is_primitive(n->op) ? "shape=ellipse"
                                                 : "shape=ellipse, style=filled, fillcolor=\"#e0f0d0\"";
    fprintf(f, "  n%d [%s, label=\"%%%d %s%s%s\\n%s%s\"];\n", i, style, i, op_info(n->op)->name, n->name ? " " : "",
            n->name ? n->name : "", dtype_name(n->dtype), sh);
    for (int k = 0; k < n->nin; k++) fprintf(f, "  n%d -> n%d;\n", n->in[k], i);
  }
  for (int i = 0; i < g->nout; i++) {
    fprintf(f, "  out%d [shape=doubleoctagon, label=\"%s\"];\n  n%d -> out%d;\n", i, g->outs[i].name,
            g->outs[i].id, i);
  }
  fprintf(f, "}\n");
}

/* Node id's line with the fusion groups as a comment: its kernel number, or the kernels
 * (numbered in execution order) that compute it inside them. */
static void fuse_note(FILE *f, const Graph *g, const CgLayout *l, const int *kno, int id) {
  static const char *how[] = {"", "in", "per row in", "run by"};
  if (kno[id] >= 0) {
    fprintf(f, l->group[id] >= 0 ? "  # kernel %d (horizontal group)" : "  # kernel %d", kno[id]);
    if (l->inplace[id] >= 0) fprintf(f, ", in place of %%%d", l->inplace[id]);
    return;
  }
  if (!l->inl[id]) return;
  int first = 1;
  for (int k = id + 1; k < g->n; k++) { /* the kernels whose fused tree holds it */
    if (kno[k] < 0) continue;
    int inside = 0; /* in k's tree: reachable from k through inlined nodes only */
    char *seen = calloc((size_t)k + 1, 1);
    int *stack = malloc(sizeof *stack * ((size_t)k + 1)), top = 0;
    if (!seen || !stack) abort();
    stack[top++] = k;
    while (top && !inside) {
      const Node *n = &g->nodes[stack[--top]];
      for (int j = 0; j < n->nin; j++) {
        int x = n->in[j];
        if (!l->inl[x] || seen[x]) continue;
        seen[x] = 1;
        if (x == id) inside = 1;
        else if (l->inl[x] != FUSE_EPI) stack[top++] = x;
      }
    }
    free(seen);
    free(stack);
    if (!inside) continue;
    if (first) fprintf(f, "  # %s kernel %d", how[(int)l->inl[id]], kno[k]);
    else fprintf(f, ", %d", kno[k]);
    first = 0;
  }
}

/* The IR after all passes, annotated with the fusion groups. */
static int print_fused(const Graph *g, FILE *f, Diag *d) {
  CgLayout l;
  if (cg_layout(g, &l, d)) return -1;
  int *kno = malloc(sizeof *kno * (size_t)(g->n ? g->n : 1)), nk = 0;
  if (!kno) abort();
  for (int i = 0; i < g->n; i++) kno[i] = cg_is_kernel(g, &l, i) ? nk++ : -1;
  for (int i = 0; i < g->n; i++) /* a horizontal group's members: its kernel's number */
    if (l.group[i] >= 0) kno[i] = kno[l.group[i]];
  char *text = ir_print_str(g), *line = text;
  fprintf(f, "# %d kernels (passes/fuse.h)\n", nk);
  for (int row = -1; *line; row++) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    fwrite(line, 1, len, f);
    if (row >= 0 && row < g->n) fuse_note(f, g, &l, kno, row);
    fputc('\n', f);
    line += len + (nl ? 1 : 0);
  }
  free(text);
  free(kno);
  cg_layout_free(&l);
  return 0;
}

static int ir_or_dot(int argc, char **argv, int dot) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  const char *after = NULL, *passes = NULL, *out = NULL, *v;
  int verify_each = 0, train = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(dot ? help_dot : help_ir, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("--after", argc, argv, &i, &d))) after = v;
    else if (!dot && (v = cli_opt("--passes", argc, argv, &i, &d))) passes = v;
    else if (!dot && (v = cli_opt("-o", argc, argv, &i, &d))) out = v;
    else if (!dot && !strcmp(argv[i], "--verify-each")) verify_each = 1;
    else if (!dot && !strcmp(argv[i], "--train")) train = 1;
    else if (argv[i][0] == '-' || m.path) {
      diag_error(&d, SRCLOC_NONE, "%s: unexpected argument '%s'", dot ? "dot" : "ir", argv[i]);
      return EXIT_USER;
    } else m.path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!m.path) {
    fputs(dot ? help_dot : help_ir, stderr);
    return EXIT_USER;
  }
  if (after && passes) {
    diag_error(&d, SRCLOC_NONE, "ir: --after and --passes exclude each other");
    return EXIT_USER;
  }
  int fused = after && !strcmp(after, "fuse") && !dot;
  if (fused) after = "all";
  if (after && strcmp(after, "frontend") && strcmp(after, "all") && !pass_lookup(after)) {
    diag_error(&d, SRCLOC_NONE, "unknown pass '%s' (mimic ir --help lists the pipeline)", after);
    return EXIT_USER;
  }
  Graph *g = cli_load(&m, 0, NULL, &d);
  if (!g) return EXIT_USER;
  if (verify_each && ir_verify(g, &d)) {
    ir_graph_free(g);
    return EXIT_INTERNAL;
  }
  Graph *r = NULL;
  if (train && (passes || (after && strcmp(after, "all")))) {
    diag_error(&d, SRCLOC_NONE, "ir: --train prints the step after all passes (--after=all or --after=fuse)");
    ir_graph_free(g);
    return EXIT_USER;
  }
  if (train) {
    TrainSpec ts = {.loss = "loss", .opt = optim_defaults()};
    r = train_step(g, &ts, &d);
  } else if (passes) r = pass_run_list(g, passes, verify_each, &d);
  else if (!after || !strcmp(after, "frontend")) r = pass_run(g, "frontend", verify_each, &d);
  else r = pass_run(g, strcmp(after, "all") ? after : NULL, verify_each, &d);
  ir_graph_free(g);
  if (!r) return EXIT_USER;
  int rc = EXIT_OK;
  if (dot) dot_print(r, stdout);
  else if (out) {
    AFile af;
    if (afile_open(&af, out, &d)) rc = EXIT_USER;
    else {
      if (fused) {
        if (print_fused(r, af.f, &d)) rc = EXIT_USER;
      } else ir_print(r, af.f);
      if (afile_commit(&af, &d)) rc = EXIT_USER;
    }
  } else if (fused) {
    if (print_fused(r, stdout, &d)) rc = EXIT_USER;
  } else ir_print(r, stdout);
  ir_graph_free(r);
  return rc;
}

int cmd_ir(int argc, char **argv) {
  return ir_or_dot(argc, argv, 0);
}

int cmd_dot(int argc, char **argv) {
  return ir_or_dot(argc, argv, 1);
}
