/* cmd_ir.c — `mimic ir` (IR text after any pass) and `mimic dot` (Graphviz). */
#include <string.h>

#include "afile.h"
#include "cli.h"
#include "pass.h"

static const char *help_ir =
    "usage: mimic ir FILE [--after=PASS | --passes=P1,P2,...] [--verify-each] [-o OUT.mir]\n"
    "                [-D name=value]... [--batch N]\n"
    "Print the model's IR: after the front end (--after=frontend, the default), after a pass\n"
    "of the pipeline (--after=decompose, --after=all), or after an explicit pass list.\n"
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

static int ir_or_dot(int argc, char **argv, int dot) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  const char *after = NULL, *passes = NULL, *out = NULL, *v;
  int verify_each = 0;
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
  if (passes) r = pass_run_list(g, passes, verify_each, &d);
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
      ir_print(r, af.f);
      if (afile_commit(&af, &d)) rc = EXIT_USER;
    }
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
