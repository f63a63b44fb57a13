/* cmd_stats.c — `mimic stats`: what fusion and memory planning do to a model, in figures
 * measured on the graph that would be compiled, without compiling it (no LLVM): the same
 * layout and kernel list as the JIT (codegen.h), once with fusion off and once on.
 *
 * The graph: for inference, the model pruned to its outputs other than "loss" when it has
 * an output "loss" (and others), else all its outputs, then the default pipeline; with
 * --train, the training step (passes/trainstep.h) with AdamW defaults and loss "loss".
 *
 * The figures, each "before" (fusion off: every primitive is its own kernel, only reshapes
 * alias) and "after" (fusion on, passes/fuse.h):
 *   nodes              primitive nodes of the graph (after the pipeline; the training
 *                      step also holds a few that no output needs and that get no
 *                      kernel); fusion does not change them: before = after
 *   kernels            cg_kernels' count
 *   kernels per block  the model built again with its parameter `depth` one higher, minus
 *                      the kernel count at `depth`: exact when the blocks repeat; absent
 *                      (null) when the model has no integer parameter `depth` or does
 *                      not build with one more
 *   FLOPs              per kernel, what it computes, walking its inlined tree once per
 *                      element it produces (so a value fused into several readers counts
 *                      once in each): matmul 2*M*N*K per batch entry, conv 2*N*O*OH*OW*
 *                      C*KH*KW; an elementwise op (unary, binary, where, cast and
 *                      comparisons too, transcendentals as 1) 1 per element produced; a
 *                      reduction 1 per element consumed; scatter_add 1 per update,
 *                      one_hot and random 1 per element produced; sources, movement,
 *                      concat and gather 0 of their own
 *   bytes moved        per kernel, the bytes it writes plus every stored value it reads
 *                      (cg_leaves) counted once: a lower bound that ignores caches and
 *                      re-reads (a contraction's operands count once each)
 *   arena bytes        the planned activation region (CgLayout.size[CG_ACT])
 *   unplanned bytes    the activations laid one after another (CgLayout.unplanned_act) */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen/codegen.h"
#include "codegen/emit.h"
#include "fuse.h"
#include "pass.h"
#include "trainstep.h"

static const char *help =
    "usage: mimic stats FILE [--train] [--json] [--peak N] [-D name=value]... [--batch N]\n"
    "What fusion and memory planning do to the model, unfused and fused: primitive nodes,\n"
    "kernels, kernels per transformer block (by building the model again with one more\n"
    "`depth`), GFLOP, MB moved through memory (each kernel's output written and inputs\n"
    "read once), planned activation arena and unplanned activation MB. The graph is the\n"
    "inference model (its outputs but `loss`), or with --train the whole training step\n"
    "(forward, loss, backward, AdamW). --json prints one JSON object instead of a table.\n"
    "--peak N also lists the N largest activations alive at the fused arena's peak (the\n"
    "kernel step where the most bytes are alive): what the memory holds there, and why.\n";

/* Figures of one graph; [0] with fusion off, [1] with it on. */
typedef struct Figures {
  int nodes;
  int kernels[2];
  double flops[2];
  double bytes[2];
  int64_t arena[2], unplanned[2];
} Figures;

/* FLOPs of one element of node id as its kernel computes it: its own op plus the inlined
 * values it reads, per element read; stored values cost nothing (they are loaded), nor do
 * values fused per row or per tile (FUSE_ROW, FUSE_EPI: counted once, as their own kernels). A
 * value's cost does not depend on who reads it, so memo[] holds it (-1: not yet known)
 * and the walk is linear even where cheap values are inlined into many readers. */
static double elem_cost(const Graph *g, const char *inl, int id, int top, double *memo) {
  if (!top && (!inl[id] || inl[id] == FUSE_ROW || inl[id] == FUSE_EPI)) return 0; /* loaded, or a register */
  if (memo[id] >= 0) return memo[id];
  const Node *n = &g->nodes[id];
  OpClass c = op_info(n->op)->cls;
  double cost = c == OPC_UNARY || c == OPC_BINARY || c == OPC_SELECT ? 1 : 0;
  if (c != OPC_SOURCE && n->op != OP_CONCAT)
    for (int k = 0; k < n->nin; k++) cost += elem_cost(g, inl, n->in[k], 0, memo);
  return memo[id] = cost;
}

/* FLOPs of the kernel of node id (see the header). */
static double kernel_flops(const Graph *g, const char *inl, int id, double *memo) {
  const Node *n = &g->nodes[id];
  double out = (double)shape_numel(&n->shape);
  double in0 = n->nin ? (double)shape_numel(&g->nodes[n->in[0]].shape) : 0;
  double c0 = n->nin ? elem_cost(g, inl, n->in[0], 0, memo) : 0;
  switch (op_info(n->op)->cls) {
  case OPC_REDUCE: return in0 * (1 + c0);
  case OPC_CONTRACT: {
    const Node *a = &g->nodes[n->in[0]], *b = &g->nodes[n->in[1]];
    double k = n->op == OP_MATMUL ? (double)a->shape.d[a->shape.rank - 1 - (int)ir_attr_i(n, "ta")]
                                  : (double)(b->shape.d[1] * b->shape.d[2] * b->shape.d[3]);
    /* per multiply-add, one element of each operand (inlined operands are recomputed) */
    return out * k * (2 + c0 + elem_cost(g, inl, n->in[1], 0, memo));
  }
  case OPC_INDEX:
    if (n->op == OP_SCATTER_ADD) return in0 * (1 + c0 + elem_cost(g, inl, n->in[1], 0, memo));
    if (n->op == OP_ONE_HOT) return out * (1 + c0);
    return out * (c0 + elem_cost(g, inl, n->in[1], 0, memo)); /* gather */
  case OPC_RANDOM: return out;
  default:
    if (n->op == OP_CONCAT) { /* each input's elements once */
      double f = 0;
      for (int k = 0; k < n->nin; k++)
        f += (double)shape_numel(&g->nodes[n->in[k]].shape) * elem_cost(g, inl, n->in[k], 0, memo);
      return f;
    }
    return out * elem_cost(g, inl, id, 1, memo);
  }
}

static int64_t node_bytes(const Node *n) {
  return shape_numel(&n->shape) * (int64_t)dtype_size(n->dtype);
}

/* Lay out and list the kernels of g with fusion off and on, and total their figures. */
static int measure(const Graph *g, Figures *f, Diag *d) {
  memset(f, 0, sizeof *f);
  f->nodes = g->n;
  double *memo = malloc(sizeof *memo * (size_t)(g->n ? g->n : 1));
  if (!memo) abort();
  for (int fuse = 0; fuse < 2; fuse++) {
    CgLayout l;
    CgKernel *ks;
    int nk;
    if (cg_layout_ex(g, CG_PLAN | (fuse ? CG_FUSE : 0u), &l, d)) goto fail;
    if (cg_kernels(g, &l, "", &ks, &nk, d)) {
      cg_layout_free(&l);
      goto fail;
    }
    for (int i = 0; i < g->n; i++) memo[i] = -1;
    for (int k = 0; k < nk; k++) {
      int nm, *mem = cg_members(g, &l, ks[k].node, &nm);
      for (int q = 0; q < nm; q++) { /* a horizontal group: each member's figures */
        int id = mem[q], nl, *lv = cg_leaves(g, l.inl, id, &nl);
        f->flops[fuse] += kernel_flops(g, l.inl, id, memo);
        int *rows, nrow, epi = cg_fused(g, l.inl, id, &rows, &nrow);
        /* what the kernel computes once per row or per tile, as its own kernel would */
        for (int j = 0; j < nrow; j++) f->flops[fuse] += kernel_flops(g, l.inl, rows[j], memo);
        if (epi >= 0) f->flops[fuse] += kernel_flops(g, l.inl, epi, memo);
        free(rows);
        f->bytes[fuse] += (double)node_bytes(&g->nodes[id]);
        for (int j = 0; j < nl; j++) f->bytes[fuse] += (double)node_bytes(&g->nodes[lv[j]]);
        free(lv);
      }
      free(mem);
    }
    f->kernels[fuse] = nk;
    f->arena[fuse] = l.size[CG_ACT];
    f->unplanned[fuse] = l.unplanned_act;
    free(ks);
    cg_layout_free(&l);
  }
  free(memo);
  return 0;
fail:
  free(memo);
  return -1;
}

static int cmp_desc(const void *a, const void *b) {
  int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The `top` largest activations alive at the step where the fused plan holds the most. */
static int peak_report(const Graph *g, int top, Diag *d) {
  CgLayout l;
  if (cg_layout(g, &l, d)) return -1;
  int64_t steps = 0;
  for (int i = 0; i < g->n; i++)
    if (l.live[3 * i] > 0 && l.live[3 * i + 2] + 1 > steps) steps = l.live[3 * i + 2] + 1;
  int64_t *alive = calloc(steps > 0 ? (size_t)steps : 1, sizeof *alive), peak = 0;
  int64_t (*v)[2] = malloc(sizeof *v * (size_t)(g->n ? g->n : 1));
  if (!alive || !v) abort();
  for (int i = 0; i < g->n; i++)
    for (int64_t t = l.live[3 * i + 1]; l.live[3 * i] > 0 && t <= l.live[3 * i + 2]; t++) alive[t] += l.live[3 * i];
  for (int64_t t = 1; t < steps; t++)
    if (alive[t] > alive[peak]) peak = t;
  int n = 0;
  for (int i = 0; i < g->n; i++)
    if (l.live[3 * i] > 0 && l.live[3 * i + 1] <= peak && peak <= l.live[3 * i + 2]) {
      v[n][0] = l.live[3 * i];
      v[n++][1] = i;
    }
  qsort(v, (size_t)n, sizeof *v, cmp_desc);
  printf("arena peak: %.2f MB alive at kernel step %lld of %lld, in %d buffers; the largest:\n",
         (double)(steps ? alive[peak] : 0) / 1e6, (long long)peak, (long long)steps, n);
  for (int k = 0; k < n && k < top; k++) {
    int i = (int)v[k][1];
    const Node *nd = &g->nodes[i];
    char sh[128];
    shape_str(&nd->shape, sh, sizeof sh);
    printf("  %8.2f MB  %%%-6d %-12s %s%s  steps %lld..%lld  %s:%d\n", (double)v[k][0] / 1e6, i, op_info(nd->op)->name,
           dtype_name(nd->dtype), sh, (long long)l.live[3 * i + 1], (long long)l.live[3 * i + 2],
           nd->loc.file ? nd->loc.file : "?", nd->loc.line);
  }
  free(alive);
  free(v);
  cg_layout_free(&l);
  return 0;
}

static int has_output(const Graph *g, const char *name) {
  for (int k = 0; k < g->nout; k++)
    if (!strcmp(g->outs[k].name, name)) return 1;
  return 0;
}

/* Load m and build the graph to measure; *depth gets the model's `depth` (-1: none). */
static Graph *build(const CliModel *m, int train, int64_t *depth, Diag *d) {
  FeInfo info;
  Graph *g = cli_load(m, 0, &info, d), *pruned = NULL, *low = NULL;
  if (!g) return NULL;
  *depth = -1;
  for (int i = 0; i < info.nparams; i++) /* info lives in g's arena */
    if (!strcmp(info.params[i].name, "depth") && info.params[i].is_int) *depth = (int64_t)info.params[i].value;
  if (train) {
    if (!has_output(g, "loss")) {
      char names[300] = "";
      size_t at = 0;
      for (int k = 0; k < g->nout && at < sizeof names; k++)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", k ? ", " : "", g->outs[k].name);
      diag_error(d, SRCLOC_NONE, "stats --train: the model has no output 'loss' to train on (its outputs: %s)",
                 g->nout ? names : "none");
    } else {
      TrainSpec s = {.loss = "loss", .opt = optim_defaults()};
      low = train_step(g, &s, d);
    }
  } else {
    /* every output but the loss: what a deployed model computes */
    const char **want = malloc(sizeof *want * (size_t)(g->nout ? g->nout : 1));
    if (!want) abort();
    int n = 0;
    for (int k = 0; k < g->nout; k++)
      if (strcmp(g->outs[k].name, "loss")) want[n++] = g->outs[k].name;
    if ((pruned = pass_prune(g, want, n, d))) low = pass_run(pruned, NULL, 0, d);
    free(want);
  }
  ir_graph_free(g);
  ir_graph_free(pruned);
  return low;
}

/* m with `depth` set to v: the last define wins, so one more is appended (or, when the
 * list is full, an earlier -D depth= is changed). 0, or -1 when there is no room. */
static int with_depth(CliModel *m, int64_t v, char *buf, size_t n) {
  snprintf(buf, n, "%lld", (long long)v);
  if (m->ndefines < CLI_MAX_DEFINES) {
    m->defines[m->ndefines++] = (FeDefine){"depth", buf, {"<command line>", 0, 0}};
    return 0;
  }
  for (int i = m->ndefines - 1; i >= 0; i--)
    if (!strcmp(m->defines[i].name, "depth")) {
      m->defines[i].value = buf;
      return 0;
    }
  return -1;
}

/* a JSON string: model names are usually identifiers, but a file name may be anything */
static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void json_pair(const char *key, double before, double after, int last) {
  printf("  \"%s\": {\"before\": %.0f, \"after\": %.0f}%s\n", key, before, after, last ? "" : ",");
}

static void row(const char *name, const char *fmt, double before, double after) {
  printf("  %-14s", name);
  printf(fmt, before);
  printf(fmt, after);
  printf("\n");
}

int cmd_stats(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  CliModel m = {0};
  int train = 0, json = 0, peak = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&m, argc, argv, &i, &d);
    if (r < 0) return EXIT_USER;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return EXIT_OK;
    }
    if (!strcmp(argv[i], "--train")) train = 1;
    else if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--peak") && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 100000) diag_error(&d, SRCLOC_NONE, "stats: --peak wants a count from 1, not '%s'", argv[i]);
      peak = (int)v;
    } else if (argv[i][0] == '-' || m.path) diag_error(&d, SRCLOC_NONE, "stats: unexpected argument '%s'", argv[i]);
    else m.path = argv[i];
    if (d.nerr) return EXIT_USER;
  }
  if (!m.path) {
    fputs(help, stderr);
    return EXIT_USER;
  }
  int rc = EXIT_USER, per_block = 0;
  int64_t depth, depth2;
  Figures f, f2;
  Graph *low = build(&m, train, &depth, &d), *low2 = NULL;
  if (!low) goto out;
  rc = EXIT_INTERNAL; /* the graph is valid: a failure to lay it out is mimic's */
  if (measure(low, &f, &d)) goto out;
  if (depth >= 0) {
    /* a model that refuses one more block (an assert on depth) has no per-block figure;
     * that is not an error of the model as given */
    CliModel m2 = m;
    char buf[32];
    Diag quiet;
    diag_init(&quiet);
    quiet.quiet = 1;
    if (!with_depth(&m2, depth + 1, buf, sizeof buf) && (low2 = build(&m2, train, &depth2, &quiet))) {
      if (measure(low2, &f2, &d)) goto out;
      per_block = 1;
    }
  }
  int64_t batch = cli_is_mir(m.path) ? 0 : m.batch > 0 ? m.batch : 1;
  if (json) {
    printf("{\n  \"model\": ");
    json_str(low->name);
    printf(",\n");
    if (batch) printf("  \"batch\": %lld,\n", (long long)batch);
    else printf("  \"batch\": null,\n");
    printf("  \"train\": %s,\n", train ? "true" : "false");
    json_pair("nodes", f.nodes, f.nodes, 0);
    json_pair("kernels", f.kernels[0], f.kernels[1], 0);
    if (per_block) json_pair("kernels_per_block", f2.kernels[0] - f.kernels[0], f2.kernels[1] - f.kernels[1], 0);
    else printf("  \"kernels_per_block\": null,\n");
    json_pair("flops", f.flops[0], f.flops[1], 0);
    json_pair("bytes_moved", f.bytes[0], f.bytes[1], 0);
    json_pair("arena_bytes", (double)f.arena[0], (double)f.arena[1], 0);
    json_pair("unplanned_bytes", (double)f.unplanned[0], (double)f.unplanned[1], 1);
    printf("}\n");
  } else {
    char bs[32] = "fixed shapes", ds[48] = "no depth parameter";
    if (batch) snprintf(bs, sizeof bs, "batch %lld", (long long)batch);
    if (depth >= 0) snprintf(ds, sizeof ds, "depth %lld%s", (long long)depth, per_block ? "" : " (not one more)");
    printf("%s: %s, %s, %s\n", low->name, train ? "training step" : "inference", bs, ds);
    printf("  %-14s%14s%14s\n", "", "unfused", "fused");
    row("nodes", "%14.0f", f.nodes, f.nodes);
    row("kernels", "%14.0f", f.kernels[0], f.kernels[1]);
    if (per_block) row("kernels/block", "%14.0f", f2.kernels[0] - f.kernels[0], f2.kernels[1] - f.kernels[1]);
    else printf("  %-14s%14s%14s\n", "kernels/block", "-", "-");
    row("GFLOP", "%14.3f", f.flops[0] / 1e9, f.flops[1] / 1e9);
    row("MB moved", "%14.2f", f.bytes[0] / 1e6, f.bytes[1] / 1e6);
    row("arena MB", "%14.2f", (double)f.arena[0] / 1e6, (double)f.arena[1] / 1e6);
    row("unplanned MB", "%14.2f", (double)f.unplanned[0] / 1e6, (double)f.unplanned[1] / 1e6);
  }
  if (peak && peak_report(low, peak, &d)) goto out;
  rc = EXIT_OK;
out:
  ir_graph_free(low);
  ir_graph_free(low2);
  return rc;
}
