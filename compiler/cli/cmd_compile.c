/* cmd_compile.c — `mimic compile`: ahead-of-time compilation of a model into an object
 * file and a C header that a C program links with plain `cc` (docs/aot.md). The path is
 * the JIT's (pipeline, layout, kernels, LLVM) plus compiler/aot's entry points; every file
 * is written atomically, and all of them or none. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afile.h"
#include "aot/aot.h"
#include "cli.h"
#include "codegen/codegen.h"
#include "pass.h"
#include "safetensors.h"
#include "trainstep.h"

static const char *help =
    "usage: mimic compile FILE -o NAME.o [--header NAME.h] [--name NAME] [--target TRIPLE] [--cpu CPU]\n"
    "                     [--embed-weights W.safetensors] [--weights W.safetensors --weights-blob W.bin]\n"
    "                     [--output NAME]... [--batch N] [--no-fuse] [--no-plan] [-D name=value]...\n"
    "Compile the model ahead of time into an object file and a C header (docs/aot.md). The\n"
    "object needs only libc and libm; its symbols and macros start with NAME (default: the\n"
    "model's name), which must be a C identifier.\n"
    "  --header H          the header's path (default: the object's, ending in .h)\n"
    "  --target TRIPLE     e.g. aarch64-linux-gnu (default: this machine)\n"
    "  --cpu CPU           e.g. neoverse-v1, skylake-avx512 (default: this machine's CPU for\n"
    "                      the host target, generic for another)\n"
    "  --embed-weights W   build these weights into the object (NAME_init_embedded)\n"
    "  --weights-blob B    also write the weights as a blob file for NAME_init_file: those of\n"
    "                      --embed-weights, or of --weights W when nothing is embedded\n"
    "  --output NAME       keep only this output (repeatable; default: all of them)\n"
    "  --batch N           the batch size the object is built for (default 1)\n"
    "  --no-fuse, --no-plan  one kernel per primitive op / activations one after another\n"
    "                      (the plain path, for comparison; the default fuses and plans)\n"
    "  --train             compile the training step instead: forward, loss, backward and the\n"
    "                      optimizer update (inputs opt.lr, opt.wd, opt.step; outputs loss,\n"
    "                      grad_norm, new.<name>; NAME_commit applies the update). With it:\n"
    "    --loss NAME       the output to minimise (default: loss)\n"
    "    --optimizer K     adamw (default) or sgd\n"
    "    --momentum M      SGD momentum (default 0.9)\n"
    "    --clip C          clip gradients to global L2 norm C (default: no clipping)\n"
    "    --freeze PREFIX   weights under PREFIX get no update (repeatable)\n"
    "  Optimizer state the embedded weights lack starts at zero.\n";

#define MAX_OUT 32

typedef struct Args {
  CliModel m;
  const char *obj, *hdr, *name, *triple, *cpu;
  const char *embed, *weights, *blob; /* weight files in, blob out */
  const char *outs[MAX_OUT];
  int nout;
  int train;
  int no_fuse, no_plan;               /* the plain path (passes/fuse.h, passes/memplan.h off) */
  TrainSpec spec;                     /* with --train */
} Args;

/* 1: help was printed; 0: parsed; -1: reported. */
static int parse(Args *a, int argc, char **argv, Diag *d) {
  const char *v;
  for (int i = 1; i < argc; i++) {
    int r = cli_model_arg(&a->m, argc, argv, &i, d);
    if (r < 0) return -1;
    if (r) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return 1;
    }
    if ((v = cli_opt("-o", argc, argv, &i, d))) a->obj = v;
    else if ((v = cli_opt("--header", argc, argv, &i, d))) a->hdr = v;
    else if ((v = cli_opt("--name", argc, argv, &i, d))) a->name = v;
    else if ((v = cli_opt("--target", argc, argv, &i, d))) a->triple = v;
    else if ((v = cli_opt("--cpu", argc, argv, &i, d))) a->cpu = v;
    else if ((v = cli_opt("--embed-weights", argc, argv, &i, d))) a->embed = v;
    else if ((v = cli_opt("--weights-blob", argc, argv, &i, d))) a->blob = v;
    else if ((v = cli_opt("--weights", argc, argv, &i, d))) a->weights = v;
    else if (!strcmp(argv[i], "--train")) a->train = 1;
    else if (!strcmp(argv[i], "--no-fuse")) a->no_fuse = 1;
    else if (!strcmp(argv[i], "--no-plan")) a->no_plan = 1;
    else if ((v = cli_opt("--loss", argc, argv, &i, d))) a->spec.loss = v;
    else if ((v = cli_opt("--optimizer", argc, argv, &i, d))) {
      if (!strcmp(v, "adamw")) a->spec.opt.kind = OPT_ADAMW;
      else if (!strcmp(v, "sgd")) a->spec.opt.kind = OPT_SGD;
      else diag_error(d, SRCLOC_NONE, "unknown optimizer '%s' (adamw or sgd)", v);
    } else if ((v = cli_opt("--momentum", argc, argv, &i, d)) || (v = cli_opt("--clip", argc, argv, &i, d))) {
      char *end;
      double x = strtod(v, &end);
      if (*end || !(x >= 0)) diag_error(d, SRCLOC_NONE, "%s needs a number >= 0, got '%s'", argv[i - 1], v);
      else if (!strcmp(argv[i - 1], "--clip") || !strncmp(argv[i], "--clip=", 7)) a->spec.opt.clip = x;
      else a->spec.opt.momentum = x;
    } else if ((v = cli_opt("--freeze", argc, argv, &i, d))) {
      if (a->spec.nfrozen == TRAIN_MAX_NAMES) diag_error(d, SRCLOC_NONE, "too many --freeze options");
      else a->spec.frozen[a->spec.nfrozen++] = v;
    } else if ((v = cli_opt("--output", argc, argv, &i, d))) {
      if (a->nout == MAX_OUT) diag_error(d, SRCLOC_NONE, "too many --output options (at most %d)", MAX_OUT);
      else a->outs[a->nout++] = v;
    } else if (argv[i][0] == '-' || a->m.path) diag_error(d, SRCLOC_NONE, "compile: unexpected argument '%s'", argv[i]);
    else a->m.path = argv[i];
    if (d->nerr) return -1;
  }
  if (!a->m.path) {
    fputs(help, stderr);
    return -1;
  }
  if (!a->obj) diag_error(d, SRCLOC_NONE, "compile: -o OBJECT.o is required");
  else if (a->train && a->nout)
    diag_error(d, SRCLOC_NONE, "--output does not go with --train: a training step's outputs are fixed");
  else if (a->name && !aot_is_ident(a->name))
    diag_error(d, SRCLOC_NONE, "--name '%s' is not a C identifier (letters, digits and '_', at most %d)", a->name,
               AOT_MAX_NAME);
  else if (a->embed && a->weights)
    diag_error(d, SRCLOC_NONE, "give --embed-weights or --weights, not both: the blob holds the embedded weights");
  else if (a->weights && !a->blob)
    diag_error(d, SRCLOC_NONE, "--weights is read only to write --weights-blob; to build weights into the object, "
                               "use --embed-weights");
  else if (a->blob && !a->embed && !a->weights)
    diag_error(d, SRCLOC_NONE, "--weights-blob needs weights: give --weights W.safetensors or --embed-weights");
  return d->nerr ? -1 : 0;
}

/* The header's default path: the object's with its extension (if any) replaced by .h. */
static char *header_path(const char *obj) {
  size_t n = strlen(obj);
  const char *slash = strrchr(obj, '/'), *dot = strrchr(obj, '.');
  if (dot && (!slash || dot > slash + 1)) n = (size_t)(dot - obj);
  char *p = malloc(n + 3);
  if (p) {
    memcpy(p, obj, n);
    memcpy(p + n, ".h", 3);
  }
  return p;
}

/* The outputs, written together: the temporary files exist from the start (so a missing
 * folder is found before the long part), and are renamed only when all were written. */
typedef struct Outputs {
  AFile f[3];
  const char *path[3];
  int n;
} Outputs;

static int outputs_open(Outputs *o, const char *const *paths, int n, Diag *d) {
  o->n = 0;
  for (int i = 0; i < n; i++) {
    if (!paths[i]) continue;
    if (afile_open(&o->f[o->n], paths[i], d)) return -1;
    o->path[o->n++] = paths[i];
  }
  return 0;
}

static void outputs_abort(Outputs *o) {
  for (int i = 0; i < o->n; i++) afile_abort(&o->f[i]);
  o->n = 0;
}

static int outputs_commit(Outputs *o, Diag *d) {
  for (int i = 0; i < o->n; i++) {
    if (afile_commit(&o->f[i], d) == 0) continue;
    for (int k = 0; k < i; k++) unlink(o->path[k]); /* none or all */
    for (int k = i + 1; k < o->n; k++) afile_abort(&o->f[k]);
    o->n = 0;
    return -1;
  }
  o->n = 0;
  return 0;
}

int cmd_compile(int argc, char **argv) {
  Diag d;
  diag_init(&d);
  Args a = {0};
  a.spec.opt = optim_defaults();
  a.spec.loss = "loss";
  int r = parse(&a, argc, argv, &d);
  if (r) return r > 0 ? EXIT_OK : EXIT_USER;
  int rc = EXIT_USER;
  char *hdr_default = a.hdr ? NULL : header_path(a.obj), *text = NULL;
  const char *hdr = a.hdr ? a.hdr : hdr_default;
  void *image = NULL, *obj = NULL;
  size_t objn = 0;
  AotCommit *commit = NULL;
  int ncommit = 0;
  Graph *g = NULL, *pruned = NULL, *low = NULL;
  CgLayout lay = {0};
  CgModule mod = {0};
  int have_mod = 0;
  TensorSet ws;
  tset_init(&ws);
  Outputs outs = {.n = 0};
  CgTarget t = {0};
  if (!hdr) {
    diag_error(&d, SRCLOC_NONE, "out of memory");
    goto out;
  }
  /* first, as it is quick: an unknown triple or CPU is the user's to fix */
  if (cg_target_init(&t, a.triple, a.cpu, &d)) goto out;
  g = cli_load(&a.m, 0, NULL, &d);
  if (!g) goto out;
  const char *name = a.name ? a.name : g->name;
  if (!aot_is_ident(name)) {
    diag_error(&d, SRCLOC_NONE, "the model's name '%s' is not a C identifier (at most %d characters): give --name NAME",
               name, AOT_MAX_NAME);
    goto out;
  }
  if (a.train ? !(low = train_step(g, &a.spec, &d))
              : !(pruned = pass_prune(g, a.outs, a.nout, &d)) || !(low = pass_run(pruned, NULL, 0, &d)))
    goto out;
  rc = EXIT_INTERNAL; /* the model is valid: what fails in layout or codegen is mimic's */
  if (cg_layout_ex(low, (a.no_plan ? 0u : CG_PLAN) | (a.no_fuse ? 0u : CG_FUSE), &lay, &d)) goto out;
  rc = EXIT_USER;
  int64_t batch = cli_is_mir(a.m.path) ? 0 : a.m.batch > 0 ? a.m.batch : 1;
  AotHeader h = {name, a.m.path, t.triple, t.cpu, batch, a.embed != NULL, a.train};
  if (aot_header(low, &lay, &h, &text, &d)) goto out;
  const char *wpath = a.embed ? a.embed : a.weights;
  if (wpath && st_read(wpath, &ws, &d)) goto out;
  for (int i = 0; wpath && a.train && i < low->n; i++) /* optimizer state starts at zero */
    if (low->nodes[i].op == OP_WEIGHT && !strncmp(low->nodes[i].name, "opt.", 4) && !tset_get(&ws, low->nodes[i].name))
      tset_put(&ws, low->nodes[i].name, tensor_new(low->nodes[i].dtype, low->nodes[i].shape));
  if (wpath && aot_weights_image(low, &lay, &ws, wpath, &image, &d)) goto out;
  /* a training step's commit list: each new.<x> output onto the weight x */
  for (int k = 0; a.train && k < low->nout; k++) {
    const char *on = low->outs[k].name;
    if (strncmp(on, "new.", 4)) continue;
    for (int i = 0; i < low->n; i++)
      if (low->nodes[i].op == OP_WEIGHT && !strcmp(low->nodes[i].name, on + 4)) {
        AotCommit *c = realloc(commit, sizeof *c * (size_t)(ncommit + 1));
        if (!c) abort();
        commit = c;
        commit[ncommit++] = (AotCommit){lay.slot[low->outs[k].id].offset, lay.slot[i].offset, lay.slot[i].bytes};
      }
  }
  const char *paths[3] = {a.obj, hdr, a.blob};
  if (outputs_open(&outs, paths, 3, &d)) goto out;

  rc = EXIT_INTERNAL;
  char prefix[AOT_MAX_NAME + 2];
  snprintf(prefix, sizeof prefix, "%s_", name);
  if (cg_emit(low, &lay, prefix, &mod, &d)) goto out;
  have_mod = 1;
  AotSpec spec = {name, a.embed ? image : NULL, commit, ncommit};
  if (aot_emit(&mod, &lay, &t, &spec, &d) || cg_optimize(&mod, &t, &d) || cg_object(&mod, &t, &obj, &objn, &d))
    goto out;
  rc = EXIT_USER; /* from here on, failures are the file system's */
  afile_write(&outs.f[0], obj, objn);
  afile_write(&outs.f[1], text, strlen(text));
  if (a.blob) aot_blob_put(&outs.f[2], image, (size_t)lay.size[CG_WEIGHTS]);
  if (outputs_commit(&outs, &d)) goto out;
  printf("compiled %s%s%s for %s (cpu %s): %d kernels; weights %lld, act %lld, io %lld bytes\n", name,
         a.train ? " (training step)" : "", a.embed ? " with its weights" : "", t.triple, t.cpu, mod.nkernels, (long long)lay.size[CG_WEIGHTS],
         (long long)lay.size[CG_ACT], (long long)lay.size[CG_IO]);
  printf("wrote %s (%zu bytes), %s%s%s\n", a.obj, objn, hdr, a.blob ? ", " : "", a.blob ? a.blob : "");
  rc = EXIT_OK;
out:
  outputs_abort(&outs);
  if (have_mod) cg_module_free(&mod);
  if (t.tm) cg_target_free(&t);
  cg_layout_free(&lay);
  tset_free(&ws);
  ir_graph_free(g);
  ir_graph_free(pruned);
  ir_graph_free(low);
  free(image);
  free(obj);
  free(text);
  free(hdr_default);
  free(commit);
  return rc;
}
