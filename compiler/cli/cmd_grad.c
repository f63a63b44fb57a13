/* cmd_grad.c — `mimic grad`: d(loss)/d(weight) for every weight of a model, written as
 * safetensors under the weights' own names. The model is pruned to the loss, lowered,
 * differentiated (passes/autodiff.c) and run by the JIT or the interpreter like any
 * graph. A weight the loss does not depend on gets a zero gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autodiff.h"
#include "cli.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "npy.h"
#include "pass.h"
#include "safetensors.h"

static const char *help =
    "usage: mimic grad FILE --weights W.safetensors --input NAME=X.npy... -o GRADS.safetensors\n"
    "                  [--loss OUTPUT] [--engine=jit|interp] [--no-cache] [-D name=value]... [--batch N]\n"
    "Differentiate the model's scalar output OUTPUT (default: loss) with respect to every\n"
    "weight and write the gradients as safetensors, each named like its weight (a weight\n"
    "the loss does not use gets zeros). Prints the loss and the gradients' global L2 norm.\n";

#define MAX_IO 32

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_grad(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  const char *wpath = NULL, *opath = NULL, *loss = "loss", *engine = "jit", *v;
  int no_cache = 0, nin = 0;
  char inames[MAX_IO][128];
  const char *ipaths[MAX_IO];
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("--weights", argc, argv, &i, &d))) wpath = v;
    else if ((v = cli_opt("--loss", argc, argv, &i, &d))) loss = v;
    else if ((v = cli_opt("-o", argc, argv, &i, &d))) opath = v;
    else if ((v = cli_opt("--engine", argc, argv, &i, &d))) engine = v;
    else if (!strcmp(argv[i], "--no-cache")) no_cache = 1;
    else if ((v = cli_opt("--input", argc, argv, &i, &d))) {
      if (nin == MAX_IO || cli_split_io(v, inames[nin], sizeof inames[0], &ipaths[nin]))
        diag_error(&d, SRCLOC_NONE, "--input needs NAME=FILE.npy, got '%s'", v);
      nin++;
    } else if (argv[i][0] == '-' || m.path) diag_error(&d, SRCLOC_NONE, "grad: unexpected argument '%s'", argv[i]);
    else m.path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!m.path || !opath) {
    if (m.path) diag_error(&d, SRCLOC_NONE, "grad: give -o GRADS.safetensors");
    else fputs(help, stderr);
    return EXIT_USER;
  }
  if (strcmp(engine, "interp") && strcmp(engine, "jit")) {
    diag_error(&d, SRCLOC_NONE, "unknown engine '%s' (available: jit, interp)", engine);
    return EXIT_USER;
  }
  int rc = EXIT_USER;
  TensorSet ins, ws, outs, grads;
  tset_init(&ins);
  tset_init(&ws);
  tset_init(&outs);
  tset_init(&grads);
  Graph *g = NULL, *pruned = NULL, *lowered = NULL, *gg = NULL;
  JitProgram *prog = NULL;
  if (cli_read_inputs(inames, ipaths, nin, &ins, &d)) goto out;
  int64_t batch = m.batch;
  if (!batch && !cli_is_mir(m.path) && cli_infer_batch(&m, &ins, &batch, &d)) goto out;
  double t0 = now();
  if (!(g = cli_load(&m, batch, NULL, &d))) goto out;
  if (!(pruned = pass_prune(g, &loss, 1, &d)) || !(lowered = pass_run(pruned, NULL, 0, &d))) goto out;
  if (!(gg = ad_grad_graph(lowered, loss, &d))) goto out;
  double t1 = now();
  int has_weights = 0;
  for (int i = 0; i < g->n; i++) has_weights |= g->nodes[i].op == OP_WEIGHT;
  if (!has_weights) {
    diag_error(&d, SRCLOC_NONE, "the model has no weights to differentiate");
    goto out;
  }
  if (!wpath) {
    diag_error(&d, SRCLOC_NONE, "the model has weights: give --weights W.safetensors (mimic init writes one)");
    goto out;
  }
  if (st_read(wpath, &ws, &d) || cli_bind(gg, &ins, &ws, wpath, &d)) goto out;
  char compiled[96] = "";
  if (!strcmp(engine, "jit")) {
    JitOptions jo = {.no_cache = no_cache};
    if (!(prog = jit_compile(gg, &jo, &d))) {
      rc = EXIT_INTERNAL;
      goto out;
    }
    const JitStats *st = jit_stats(prog);
    snprintf(compiled, sizeof compiled, ", compile %.3f s (%d kernels%s)", st->compile_s, st->nkernels,
             st->cache_hit ? ", cached" : "");
  }
  double t2 = now();
  if (prog ? jit_run(prog, &ins, &ws, &outs, &d) : interp_run(gg, &ins, &ws, &outs, &d)) goto out;
  double t3 = now();
  /* every weight of the model, in model order; zeros where the loss does not reach */
  double sq = 0;
  int n = 0;
  for (int i = 0; i < g->n; i++) {
    const Node *w = &g->nodes[i];
    if (w->op != OP_WEIGHT) continue;
    char key[512];
    snprintf(key, sizeof key, "grad.%s", w->name);
    const Tensor *t = tset_get(&outs, key);
    Tensor *c = t ? tensor_copy(t) : tensor_new(w->dtype, w->shape);
    for (int64_t k = 0; k < shape_numel(&c->shape); k++) sq += tensor_get(c, k) * tensor_get(c, k);
    tset_put(&grads, w->name, c);
    n++;
  }
  if (st_write(opath, &grads, &d)) goto out;
  printf("%s: batch %lld, %d nodes with the backward pass; build %.3f s%s, run (%s) %.3f s\n", g->name,
         (long long)(batch ? batch : 1), gg->n, t1 - t0, compiled, engine, t3 - t2);
  printf("  %s = %.9g; wrote %d gradients to %s, global L2 norm %.6g\n", loss, tensor_get(tset_get(&outs, loss), 0), n,
         opath, sqrt(sq));
  rc = EXIT_OK;
out:
  tset_free(&ins);
  tset_free(&ws);
  tset_free(&outs);
  tset_free(&grads);
  jit_free(prog);
  ir_graph_free(g);
  ir_graph_free(pruned);
  ir_graph_free(lowered);
  ir_graph_free(gg);
  return rc;
}
