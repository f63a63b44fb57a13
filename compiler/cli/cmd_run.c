/* cmd_run.c — `mimic run`: run a model on .npy inputs. Only the requested outputs are
 * computed, and only the inputs they depend on are needed. Without --batch, the batch of
 * a YAML model is read off the inputs: the model is built at two batch sizes to see which
 * extents follow it, and the given arrays fix its value. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "interp/interp.h"
#include "codegen/codegen.h"
#include "jit/jit.h"
#include "npy.h"
#include "pass.h"
#include "safetensors.h"

static const char *help =
    "usage: mimic run FILE --weights W.safetensors --input NAME=X.npy... [--output NAME=Y.npy...]\n"
    "                 [--engine=jit|interp] [--no-cache] [--no-fuse] [--no-plan] [--profile]\n"
    "                 [--threads N] [--repeat N] [-D name=value]... [--batch N]\n"
    "Run the model. Each --output names a model output and where to write it; without any,\n"
    "every output is computed and summarised on stdout. The JIT (the default) compiles to\n"
    "native code and keeps the result in the compile cache ($XDG_CACHE_HOME/mimic);\n"
    "--engine=interp runs the reference interpreter, the oracle. --no-fuse compiles one\n"
    "kernel per primitive op, --no-plan lays the activations out one after another instead\n"
    "of memory-planning them (both for comparison). --profile times every kernel and\n"
    "lists the slowest. --threads N splits every kernel's range across N threads (default:\n"
    "the cores this process may use); results are the same bits for every N. --repeat N\n"
    "runs the model N times and reports the median run time (and the fastest).\n";

#define MAX_IO 32

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void summarise(const char *name, const Tensor *t) {
  char sh[128];
  int64_t n = shape_numel(&t->shape);
  printf("  %-10s %s%s", name, dtype_name(t->dtype), shape_str(&t->shape, sh, sizeof sh));
  for (int64_t i = 0; i < n && i < 6; i++) printf(i ? ", %.6g" : "  = %.6g", tensor_get(t, i));
  printf(n > 6 ? ", ...\n" : "\n");
  if (t->shape.rank == 2 && dtype_is_float(t->dtype) && t->shape.d[1] > 0) {
    /* rows of scores (logits): show the winning column of each, as a classifier would */
    printf("  %-10s argmax per row:", "");
    for (int64_t r = 0; r < t->shape.d[0]; r++) {
      int64_t best = 0;
      for (int64_t c = 1; c < t->shape.d[1]; c++)
        if (tensor_get(t, r * t->shape.d[1] + c) > tensor_get(t, r * t->shape.d[1] + best)) best = c;
      printf(" %lld", (long long)best);
    }
    printf("\n");
  }
}

int cmd_run(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  const char *wpath = NULL, *v, *engine = "jit";
  int no_cache = 0, no_plan = 0, no_fuse = 0, profile = 0;
  int64_t threads = sched_cores(), repeat = 1;
  SchedPool *pool = NULL;
  char onames[MAX_IO][128];
  const char *opaths[MAX_IO], *ipaths[MAX_IO];
  char inames[MAX_IO][128];
  int nin = 0, nout = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if ((v = cli_opt("--weights", argc, argv, &i, &d))) wpath = v;
    else if ((v = cli_opt("--engine", argc, argv, &i, &d))) engine = v;
    else if (!strcmp(argv[i], "--no-cache")) no_cache = 1;
    else if (!strcmp(argv[i], "--no-plan")) no_plan = 1;
    else if (!strcmp(argv[i], "--no-fuse")) no_fuse = 1;
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else if ((v = cli_opt("--threads", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &threads) || threads < 1 || threads > 256)
        diag_error(&d, SRCLOC_NONE, "--threads needs a whole number from 1 to 256, got '%s'", v);
    } else if ((v = cli_opt("--repeat", argc, argv, &i, &d))) {
      if (cli_parse_int(v, &repeat) || repeat < 1 || repeat > 100000)
        diag_error(&d, SRCLOC_NONE, "--repeat needs a whole number from 1 to 100000, got '%s'", v);
    } else if ((v = cli_opt("--input", argc, argv, &i, &d))) {
      if (nin == MAX_IO || cli_split_io(v, inames[nin], sizeof inames[0], &ipaths[nin]))
        diag_error(&d, SRCLOC_NONE, "--input needs NAME=FILE.npy, got '%s'", v);
      nin++;
    } else if ((v = cli_opt("--output", argc, argv, &i, &d))) {
      if (nout == MAX_IO || cli_split_io(v, onames[nout], sizeof onames[0], &opaths[nout]))
        diag_error(&d, SRCLOC_NONE, "--output needs NAME=FILE.npy, got '%s'", v);
      nout++;
    } else if (argv[i][0] == '-' || m.path) diag_error(&d, SRCLOC_NONE, "run: unexpected argument '%s'", argv[i]);
    else m.path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!m.path) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  if (strcmp(engine, "interp") && strcmp(engine, "jit")) {
    diag_error(&d, SRCLOC_NONE, "unknown engine '%s' (available: jit, interp)", engine);
    return EXIT_USER;
  }
  int rc = EXIT_USER;
  TensorSet ins, ws, outs;
  tset_init(&ins);
  tset_init(&ws);
  tset_init(&outs);
  Graph *g = NULL, *pruned = NULL, *lowered = NULL;
  JitProgram *prog = NULL;
  if (cli_read_inputs(inames, ipaths, nin, &ins, &d)) goto out;
  int64_t batch = m.batch;
  if (!batch && !cli_is_mir(m.path) && cli_infer_batch(&m, &ins, &batch, &d)) goto out;
  double t0 = now();
  g = cli_load(&m, batch, NULL, &d);
  if (!g) goto out;
  const char *want[MAX_IO];
  for (int i = 0; i < nout; i++) want[i] = onames[i];
  pruned = pass_prune(g, want, nout, &d);
  if (!pruned) goto out;
  lowered = pass_run(pruned, NULL, 0, &d);
  if (!lowered) goto out;
  double t1 = now();
  int has_weights = 0;
  for (int i = 0; i < lowered->n; i++) has_weights |= lowered->nodes[i].op == OP_WEIGHT;
  if (has_weights && !wpath) {
    diag_error(&d, SRCLOC_NONE, "the model has weights: give --weights W.safetensors (mimic init writes one)");
    goto out;
  }
  if (has_weights && st_read(wpath, &ws, &d)) goto out;
  if (cli_bind(lowered, &ins, &ws, wpath, &d)) goto out;
  char compiled[200] = "";
  if (!strcmp(engine, "jit")) {
    if (!(pool = sched_pool_new((int)threads))) {
      diag_error(&d, SRCLOC_NONE, "run: cannot start %lld threads", (long long)threads);
      goto out;
    }
    JitOptions jo = {.no_cache = no_cache, .no_plan = no_plan, .no_fuse = no_fuse, .profile = profile, .sched = pool};
    prog = jit_compile(lowered, &jo, &d);
    if (!prog) {
      rc = EXIT_INTERNAL; /* the model was valid: a failure here is mimic's */
      goto out;
    }
    /* the weights go into the program once, as a user's would; each run binds only
     * its inputs (copying the default ViT's 21 MB of weights took 1.5 ms of a batch-1
     * run) */
    if (jit_load_weights(prog, &ws, &d)) goto out;
    const JitStats *st = jit_stats(prog);
    snprintf(compiled, sizeof compiled,
             ", compile %.3f s (%d kernels%s), activations %.2f MB (%.2f MB unplanned), %d thread%s", st->compile_s,
             st->nkernels, st->cache_hit ? ", cached" : "", (double)st->region_bytes[CG_ACT] / 1e6,
             (double)st->act_unplanned / 1e6, sched_pool_threads(pool), sched_pool_threads(pool) > 1 ? "s" : "");
  }
  double *times = calloc((size_t)repeat, sizeof *times);
  if (!times) abort();
  for (int64_t r = 0; r < repeat; r++) { /* the outputs of the last run are kept */
    if (r) tset_free(&outs), tset_init(&outs);
    double t2 = now();
    if (prog ? jit_run(prog, &ins, NULL, &outs, &d) : interp_run(lowered, &ins, &ws, &outs, &d)) {
      free(times);
      goto out;
    }
    times[r] = now() - t2;
  }
  double fastest = times[0];
  for (int64_t r = 1; r < repeat; r++) fastest = times[r] < fastest ? times[r] : fastest;
  for (int64_t r = 1; r < repeat; r++) /* insertion sort: the median */
    for (int64_t q = r; q > 0 && times[q] < times[q - 1]; q--) {
      double x = times[q];
      times[q] = times[q - 1];
      times[q - 1] = x;
    }
  double median = repeat % 2 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
  free(times);
  char reps[80] = "";
  if (repeat > 1) snprintf(reps, sizeof reps, " (median of %lld runs; fastest %.6f s)", (long long)repeat, fastest);
  printf("%s: batch %lld, %d nodes after the pipeline; build %.3f s%s, run (%s) %.6f s%s\n", g->name,
         (long long)(batch ? batch : 1), lowered->n, t1 - t0, compiled, engine, median, reps);
  for (int i = 0; i < nout; i++)
    if (npy_write(opaths[i], tset_get(&outs, onames[i]), &d)) goto out;
  for (int i = 0; i < outs.n; i++) summarise(outs.names[i], outs.t[i]);
  if (prog && profile) jit_profile(prog, 15, stdout);
  rc = EXIT_OK;
out:
  tset_free(&ins);
  tset_free(&ws);
  tset_free(&outs);
  jit_free(prog);
  sched_pool_free(pool);
  ir_graph_free(g);
  ir_graph_free(pruned);
  ir_graph_free(lowered);
  return rc;
}
