/* cmd_check.c — `mimic check`: validate a model and summarise it. Shapes that depend on
 * the symbolic batch are shown symbolically: the model is built at two batch sizes and
 * every extent that changes is written as a*batch+c. */
#include <string.h>

#include "cli.h"
#include "pass.h"

static const char *help =
    "usage: mimic check FILE [-D name=value]... [--batch N]\n"
    "Validate a model (YAML or .mir) and print its parameters, inputs, outputs, weight count\n"
    "and graph size. Without --batch, extents that follow the batch are shown as `batch`.\n";

static void print_dims(const Shape *s1, const Shape *s2, int symbolic) {
  printf("[");
  for (int i = 0; i < s1->rank; i++) {
    if (i) printf(",");
    int64_t a = s2->d[i] - s1->d[i], c = s1->d[i] - 2 * a;
    if (!symbolic || a == 0) printf("%lld", (long long)s1->d[i]);
    else {
      if (a == 1) printf("batch");
      else printf("%lld*batch", (long long)a);
      if (c) printf("%+lld", (long long)c);
    }
  }
  printf("]");
}

static void print_thousands(int64_t v) {
  char buf[32], out[48];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v), k = 0;
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0 && buf[i - 1] != '-') out[k++] = ',';
    out[k++] = buf[i];
  }
  out[k] = 0;
  printf("%s", out);
}

int cmd_check(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if (argv[i][0] == '-' || m.path) {
      diag_error(&d, SRCLOC_NONE, "check: unexpected argument '%s'", argv[i]);
      return EXIT_USER;
    }
    m.path = argv[i];
  }
  if (!m.path) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  int symbolic = !m.batch && !cli_is_mir(m.path);
  FeInfo info;
  Graph *g = cli_load(&m, symbolic ? 2 : 0, &info, &d);
  if (!g) return EXIT_USER;
  Graph *g3 = symbolic ? cli_load(&m, 3, NULL, &d) : NULL;
  if (symbolic && !g3) {
    ir_graph_free(g);
    return EXIT_USER;
  }
  if (ir_verify(g, &d)) {
    ir_graph_free(g);
    ir_graph_free(g3);
    return EXIT_INTERNAL;
  }
  const Graph *gb = g3 ? g3 : g; /* same structure, other batch */
  printf("model %s (%s)\n", g->name, m.path);
  if (info.nparams) {
    printf("params:");
    for (int i = 0; i < info.nparams; i++) {
      if (info.params[i].is_int) printf(" %s=%lld", info.params[i].name, (long long)info.params[i].value);
      else printf(" %s=%g", info.params[i].name, info.params[i].value);
    }
    printf("\n");
  }
  printf("inputs:\n");
  int64_t nweights = 0, nparams = 0, nhigh = 0;
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op == OP_INPUT) {
      printf("  %-12s %s", n->name, dtype_name(n->dtype));
      print_dims(&n->shape, &gb->nodes[i].shape, symbolic);
      printf("\n");
    } else if (n->op == OP_WEIGHT) {
      nweights++;
      nparams += shape_numel(&n->shape);
    }
    nhigh += !op_is_primitive(n->op);
  }
  printf("outputs:\n");
  for (int i = 0; i < g->nout; i++) {
    const Node *n = &g->nodes[g->outs[i].id];
    printf("  %-12s %s", g->outs[i].name, dtype_name(n->dtype));
    print_dims(&n->shape, &gb->nodes[g->outs[i].id].shape, symbolic);
    printf("\n");
  }
  printf("weights: %lld tensors, ", (long long)nweights);
  print_thousands(nparams);
  printf(" parameters (%.2f MiB as f32)\n", (double)nparams * 4 / (1 << 20));
  Graph *lowered = pass_run(g, NULL, 1, &d);
  int rc = EXIT_OK;
  if (!lowered) rc = d.nerr ? EXIT_USER : EXIT_INTERNAL;
  else
    printf("graph: %d nodes (%lld high-level); %d primitive nodes after the pipeline\n", g->n, (long long)nhigh,
           lowered->n);
  ir_graph_free(lowered);
  ir_graph_free(g);
  ir_graph_free(g3);
  return rc;
}
