/* test_memplan.c — memory planning: the placement never overlaps two buffers alive at
 * once (the checker says so, and catches a forged overlap), it stays near the lower
 * bound (the most bytes alive at one step) on random lifetimes and on the ViT's
 * inference and training graphs, planned programs compute what unplanned ones do, and a
 * kernel that may write over its dying input does. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "fuse.h"
#include "init.h"
#include "jit/jit.h"
#include "memplan.h"
#include "pass.h"
#include "trainstep.h"

static Diag D;
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void test_random(void) {
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + (int)(next() % 300);
    MemBuf *b = calloc((size_t)n, sizeof *b);
    for (int i = 0; i < n; i++) {
      b[i].start = (int64_t)(next() % 400);
      b[i].end = b[i].start + (int64_t)(next() % (trial % 2 ? 20 : 200));
      b[i].bytes = (int64_t)(next() % 5 == 0 ? 0 : 1 + next() % (trial % 3 ? 5000 : 100000));
    }
    int64_t arena = memplan_place(b, n, 64);
    CHECK_INT(memplan_check(b, n, arena, &D), 0);
    int64_t lb = memplan_lower_bound(b, n);
    CHECK(arena >= lb);
    for (int i = 0; i < n; i++) CHECK_INT(b[i].offset % 64, 0);
    free(b);
  }
}

static void test_checker(void) {
  MemBuf b[3] = {{100, 0, 5, 0}, {100, 3, 8, 128}, {100, 6, 9, 0}};
  Diag q;
  diag_init(&q);
  q.quiet = 1;
  CHECK_INT(memplan_check(b, 3, 256, &q), 0); /* 0 and 2 overlap in bytes, not in time */
  b[1].offset = 64;                           /* now 0 and 1 share bytes 64..99 at steps 3..5 */
  CHECK_INT(memplan_check(b, 3, 256, &q), -1);
  CHECK(strstr(q.last, "buffers 0 (bytes [0, 100), steps 0..5) and 1 (bytes [64, 164), steps 3..8) are alive "
                       "together and overlap") != NULL);
  b[1].offset = 128;
  CHECK_INT(memplan_check(b, 3, 200, &q), -1); /* past the arena's end */
  CHECK_INT(memplan_lower_bound(b, 3), 200);
}

static Graph *vit(int depth, int64_t batch) {
  char dv[16];
  snprintf(dv, sizeof dv, "%d", depth);
  FeDefine defs[1] = {{"depth", dv, {"<test>", 0, 0}}};
  FeOptions o = {.defines = defs, .ndefines = 1, .batch = batch};
  return fe_load_yaml("../graphs/vit.yaml", &o, NULL, &D);
}

/* The activation buffers of a layout, as the planner saw them, and their lower bound. */
static void report(const char *what, const Graph *g) {
  CgLayout planned, plain;
  CHECK_INT(cg_layout_ex(g, CG_PLAN | CG_FUSE, &planned, &D), 0);
  CHECK_INT(cg_layout_ex(g, CG_FUSE, &plain, &D), 0);
  CHECK_INT(plain.size[CG_ACT], planned.unplanned_act);
  double ratio = (double)planned.size[CG_ACT] / (double)plain.size[CG_ACT];
  double over = (double)planned.size[CG_ACT] / (double)planned.act_lower_bound;
  fprintf(stderr, "  %s: activations %.2f MB planned, %.2f MB unplanned (%.1f%%); lower bound %.2f MB (plan %.3fx)\n",
          what, (double)planned.size[CG_ACT] / 1e6, (double)plain.size[CG_ACT] / 1e6, 100 * ratio,
          (double)planned.act_lower_bound / 1e6, over);
  CHECK(planned.size[CG_ACT] < plain.size[CG_ACT]);
  CHECK(over <= 1.10); /* greedy by size stays near the bound on these graphs */
  cg_layout_free(&planned);
  cg_layout_free(&plain);
}

static void test_vit(void) {
  Graph *m = vit(12, 64);
  CHECK(m != NULL);
  if (!m) return;
  const char *out = "logits";
  Graph *p = pass_prune(m, &out, 1, &D), *inf = p ? pass_run(p, NULL, 0, &D) : NULL;
  CHECK(inf != NULL);
  if (inf) report("ViT depth 12, batch 64, inference", inf);
  TrainSpec s = {.loss = "loss", .opt = optim_defaults()};
  Graph *t = train_step(m, &s, &D);
  CHECK(t != NULL);
  if (t) report("ViT depth 12, batch 64, training step", t);
  ir_graph_free(p);
  ir_graph_free(inf);
  ir_graph_free(t);
  ir_graph_free(m);
}

/* A planned and an unplanned program give the same bits (the codegen test compares
 * planned programs with the interpreter on every primitive). */
static void test_same_result(void) {
  Graph *m = vit(2, 3);
  const char *out = "logits";
  Graph *p = m ? pass_prune(m, &out, 1, &D) : NULL, *g = p ? pass_run(p, NULL, 0, &D) : NULL;
  CHECK(g != NULL);
  if (!g) return;
  TensorSet w, in, o1, o2;
  tset_init(&w);
  tset_init(&in);
  tset_init(&o1);
  tset_init(&o2);
  CHECK_INT(init_weights(g, 3, &w, &D), 0);
  Tensor *x = tensor_new(DT_F32, shape_of(4, (int64_t[]){3, 1, 28, 28}));
  for (int i = 0; i < 3 * 784; i++) tensor_set(x, i, (double)(i % 97) / 97.0);
  tset_put(&in, "pixels", x);
  JitOptions a = {.no_cache = 1}, b = {.no_cache = 1, .no_plan = 1};
  JitProgram *pa = jit_compile(g, &a, &D), *pb = jit_compile(g, &b, &D);
  CHECK(pa && pb);
  if (pa && pb) {
    CHECK_INT(jit_run(pa, &in, &w, &o1, &D), 0);
    CHECK_INT(jit_run(pb, &in, &w, &o2, &D), 0);
    const Tensor *l1 = tset_get(&o1, "logits"), *l2 = tset_get(&o2, "logits");
    CHECK(l1 && l2 && !memcmp(l1->data, l2->data, tensor_nbytes(l1)));
    CHECK(jit_stats(pa)->region_bytes[CG_ACT] < jit_stats(pb)->region_bytes[CG_ACT]);
  }
  jit_free(pa);
  jit_free(pb);
  tset_free(&w);
  tset_free(&in);
  tset_free(&o1);
  tset_free(&o2);
  ir_graph_free(g);
  ir_graph_free(p);
  ir_graph_free(m);
}

/* The inputs of the graphs below, a [64,32] and b [32,48], and their product %2. */
#define PRODUCT                                 \
  "  %0 = input \"a\" : f32[64,32]\n"           \
  "  %1 = input \"b\" : f32[32,48]\n"           \
  "  %2 = matmul(%0, %1) {ta=0, tb=0} : f32[64,48]\n"

/* g compiled planned and unplanned (and unfused when `unfused`) gives the same bits for
 * its outputs names[0..n) from inputs a [64,32] and b [32,48], in a smaller arena when
 * `smaller`. */
static void same_as_plain(const Graph *g, const char *const *names, int n, int smaller, int unfused) {
  TensorSet in, o1, o2;
  tset_init(&in);
  tset_init(&o1);
  tset_init(&o2);
  Tensor *a = tensor_new(DT_F32, shape_of(2, (int64_t[]){64, 32})), *b = tensor_new(DT_F32, shape_of(2, (int64_t[]){32, 48}));
  for (int i = 0; i < 64 * 32; i++) tensor_set(a, i, (double)(i % 13) / 13.0 - 0.5);
  for (int i = 0; i < 32 * 48; i++) tensor_set(b, i, (double)(i % 7) / 7.0 - 0.5);
  tset_put(&in, "a", a);
  tset_put(&in, "b", b);
  JitOptions pa = {.no_cache = 1}, pb = {.no_cache = 1, .no_plan = 1, .no_fuse = unfused};
  JitProgram *ja = jit_compile(g, &pa, &D), *jb = jit_compile(g, &pb, &D);
  CHECK(ja && jb);
  if (ja && jb) {
    CHECK_INT(jit_run(ja, &in, NULL, &o1, &D), 0);
    CHECK_INT(jit_run(jb, &in, NULL, &o2, &D), 0);
    for (int k = 0; k < n; k++) {
      const Tensor *t1 = tset_get(&o1, names[k]), *t2 = tset_get(&o2, names[k]);
      CHECK(t1 && t2 && !memcmp(t1->data, t2->data, tensor_nbytes(t1)));
    }
    if (smaller) CHECK(jit_stats(ja)->region_bytes[CG_ACT] < jit_stats(jb)->region_bytes[CG_ACT]);
  }
  jit_free(ja);
  jit_free(jb);
  tset_free(&in);
  tset_free(&o1);
  tset_free(&o2);
}

/* In place: exp(tanh(a·b)) + colsum(a·b) is the last reader of the product, reads it at
 * its own index and has its size, so it writes over it (the column sums come first: it
 * reads them); the result is the unplanned program's. */
static void test_inplace(void) {
  const char *text = "graph \"ip\" {\n" PRODUCT
                     "  %3 = reduce_sum(%2) {axes=[0], keepdims=0} : f32[48]\n"
                     "  %4 = broadcast(%3) {shape=[64,48]} : f32[64,48]\n"
                     "  %5 = tanh(%2) : f32[64,48]\n"
                     "  %6 = exp(%5) : f32[64,48]\n"
                     "  %7 = add(%6, %4) : f32[64,48]\n"
                     "  %8 = reduce_sum(%7) {axes=[1], keepdims=0} : f32[64]\n"
                     "  %9 = reduce_max(%7) {axes=[1], keepdims=0} : f32[64]\n"
                     "  output \"cols\" = %3\n"
                     "  output \"sum\" = %8\n"
                     "  output \"max\" = %9\n"
                     "}\n";
  Graph *g = ir_parse(text, "inplace", &D);
  CHECK(g != NULL);
  if (!g) return;
  CgLayout l;
  CHECK_INT(cg_layout(g, &l, &D), 0);
  CHECK_INT(l.inplace[7], 2); /* exp(tanh(.)) + sums over the product */
  CHECK_INT(l.slot[7].offset, l.slot[2].offset);
  cg_layout_free(&l);
  const char *names[] = {"cols", "sum", "max"};
  same_as_plain(g, names, 3, 1, 0);
  ir_graph_free(g);
}

/* Lay out the graph in text (a [64,32], b [32,48] inputs), check it against the
 * unplanned program (outputs names[0..n)), and hand back its layout in *l. */
static Graph *laid_out(const char *text, const char *const *names, int n, int smaller, CgLayout *l) {
  Graph *g = ir_parse(text, "inplace_groups", &D);
  CHECK(g != NULL);
  if (!g) return NULL;
  CHECK_INT(cg_layout(g, l, &D), 0);
  same_as_plain(g, names, n, smaller, 0);
  return g;
}

/* In place inside groups (fuse.h rules 8c, 8b): a member writes over a dying value that
 * no other member of its group reads, and not over one that another member reads. */
static void test_inplace_groups(void) {
  CgLayout l;
  /* a row group (%7 and the three row sums): %7 writes over the product */
  const char *rows = "graph \"ipr\" {\n" PRODUCT
                     "  %3 = reduce_sum(%2) {axes=[0], keepdims=0} : f32[48]\n"
                     "  %4 = broadcast(%3) {shape=[64,48]} : f32[64,48]\n"
                     "  %5 = tanh(%2) : f32[64,48]\n"
                     "  %6 = exp(%5) : f32[64,48]\n"
                     "  %7 = add(%6, %4) : f32[64,48]\n"
                     "  %8 = reduce_sum(%0) {axes=[1], keepdims=0} : f32[64]\n"
                     "  %9 = reduce_sum(%7) {axes=[1], keepdims=0} : f32[64]\n"
                     "  %10 = reduce_max(%7) {axes=[1], keepdims=0} : f32[64]\n"
                     "  output \"cols\" = %3\n"
                     "  output \"arows\" = %8\n"
                     "  output \"sum\" = %9\n"
                     "  output \"max\" = %10\n"
                     "}\n";
  const char *names[] = {"cols", "arows", "sum", "max"};
  Graph *g = laid_out(rows, names, 4, 1, &l);
  if (!g) return;
  for (int i = 7; i <= 10; i++) CHECK(l.group[i] == 10 && l.gkind[i] == FUSE_GROUP_ROWS);
  CHECK_INT(l.inplace[7], 2);
  CHECK_INT(l.slot[7].offset, l.slot[2].offset);
  cg_layout_free(&l);
  ir_graph_free(g);
  /* a wide group (%7 and aᵀa, which reads nothing of it): %7 writes over the product */
  const char *wide = "graph \"ipw\" {\n" PRODUCT
                     "  %3 = reduce_sum(%2) {axes=[0], keepdims=0} : f32[48]\n"
                     "  %4 = broadcast(%3) {shape=[64,48]} : f32[64,48]\n"
                     "  %5 = tanh(%2) : f32[64,48]\n"
                     "  %6 = exp(%5) : f32[64,48]\n"
                     "  %7 = add(%6, %4) : f32[64,48]\n"
                     "  %8 = matmul(%0, %0) {ta=1, tb=0} : f32[32,32]\n"
                     "  %9 = reduce_sum(%7) {axes=[0], keepdims=0} : f32[48]\n"
                     "  %10 = reduce_max(%7) {axes=[0], keepdims=0} : f32[48]\n"
                     "  output \"cols\" = %3\n"
                     "  output \"gram\" = %8\n"
                     "  output \"sum\" = %9\n"
                     "  output \"max\" = %10\n"
                     "}\n";
  const char *wnames[] = {"cols", "gram", "sum", "max"};
  if (!(g = laid_out(wide, wnames, 4, 1, &l))) return;
  CHECK(l.group[7] == 8 && l.group[8] == 8 && l.gkind[7] == FUSE_GROUP_WIDE && l.gkind[8] == FUSE_GROUP_WIDE);
  CHECK_INT(l.inplace[7], 2);
  CHECK_INT(l.slot[7].offset, l.slot[2].offset);
  cg_layout_free(&l);
  ir_graph_free(g);
  /* the product's other reader in the same row group (%5): no overwriting */
  const char *both = "graph \"ipb\" {\n" PRODUCT
                     "  %3 = tanh(%2) : f32[64,48]\n"
                     "  %4 = exp(%3) : f32[64,48]\n"
                     "  %5 = reduce_sum(%2) {axes=[1], keepdims=0} : f32[64]\n"
                     "  %6 = reduce_sum(%4) {axes=[1], keepdims=0} : f32[64]\n"
                     "  %7 = reduce_max(%4) {axes=[1], keepdims=0} : f32[64]\n"
                     "  output \"psum\" = %5\n"
                     "  output \"sum\" = %6\n"
                     "  output \"max\" = %7\n"
                     "}\n";
  const char *bnames[] = {"psum", "sum", "max"};
  if (!(g = laid_out(both, bnames, 3, 0, &l))) return;
  CHECK(l.group[4] >= 0 && l.group[4] == l.group[5] && l.gkind[4] == FUSE_GROUP_ROWS);
  CHECK_INT(l.inplace[4], -1);
  cg_layout_free(&l);
  ir_graph_free(g);
}

/* A group runs where its last member stood: a member's readers must all run later. The
 * product %2 has a reader in a rule 8 group that runs late (%3, with %6) and one that runs
 * at its own place (%4, the transpose): %5 may not take %2 into a row group with it, or
 * %4 would read the product before it exists. */
static void test_group_readers(void) {
  const char *text = "graph \"gr\" {\n" PRODUCT
                     "  %3 = reduce_sum(%2) {axes=[0], keepdims=0} : f32[48]\n"
                     "  %4 = permute(%2) {perm=[1,0]} : f32[48,64]\n"
                     "  %5 = tanh(%2) : f32[64,48]\n"
                     "  %6 = reduce_sum(%0) {axes=[0], keepdims=0} : f32[32]\n"
                     "  output \"cols\" = %3\n"
                     "  output \"t\" = %4\n"
                     "  output \"th\" = %5\n"
                     "  output \"acols\" = %6\n"
                     "}\n";
  Graph *g = ir_parse(text, "group_readers", &D);
  CHECK(g != NULL);
  if (!g) return;
  CgLayout l;
  CHECK_INT(cg_layout(g, &l, &D), 0);
  CHECK(l.group[3] == 6 && l.group[6] == 6 && l.gkind[3] == FUSE_GROUP_SHARED); /* the late reader */
  CHECK(l.group[2] < 0 || l.group[2] != l.group[5]);
  cg_layout_free(&l);
  const char *names[] = {"cols", "t", "th", "acols"};
  same_as_plain(g, names, 4, 0, 1);
  ir_graph_free(g);
}

int main(void) {
  diag_init(&D);
  RUN(test_inplace);
  RUN(test_inplace_groups);
  RUN(test_group_readers);
  RUN(test_random);
  RUN(test_checker);
  RUN(test_vit);
  RUN(test_same_result);
  return CHECK_DONE();
}
