/* test_trainrt.c — the runtime around training: the YAML tree's typed readers and call
 * joining (support/ytree.h), schedules against BEiT's utils.cosine_scheduler (values
 * computed once with numpy and pasted), the progress reporter under a fake clock, the
 * CSV log (header, rows, append, mismatch, crash leftovers, reading back), SVG plots
 * (structure, round ticks, NaN and single points, thinning) and training recipes (a full
 * example, defaults, and one test per error with its exact message and location).
 * Files go to a scratch directory made by the test. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "csvlog.h"
#include "plot.h"
#include "progress.h"
#include "recipe.h"
#include "recipe_harness.h"
#include "scratch.h"
#include "schedule.h"
#include "support/ytree.h"

/* The whole file (static buffer). */
static const char *slurp(const char *path) {
  static char buf[1 << 20];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return buf;
}

static int count(const char *s, const char *sub) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
  return n;
}

/* ---- ytree ---- */

static void test_ytree(void) {
  Arena *a = arena_new();
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  const char *t = "{a: 1.5e-3, b: -4, c: true, d: '7', e: 1e3, f: nan, g: normal(0, 0.02)}";
  YNode *m = ytree_parse(a, &d, "t.yaml", t, strlen(t));
  double v;
  int64_t k;
  int b;
  CHECK_INT(m->n, 8); /* without joining, "0.02)" is a key of its own */
  CHECK(!ytree_number(ytree_map_get(m, "a"), &v) && v == 1.5e-3);
  CHECK(!ytree_int(ytree_map_get(m, "b"), &k) && k == -4);
  CHECK(!ytree_int(ytree_map_get(m, "e"), &k) && k == 1000);
  CHECK(ytree_int(ytree_map_get(m, "a"), &k) == -1);
  CHECK(!ytree_bool(ytree_map_get(m, "c"), &b) && b == 1);
  CHECK(ytree_number(ytree_map_get(m, "d"), &v) == -1); /* quoted: a string */
  CHECK(ytree_number(ytree_map_get(m, "f"), &v) == -1);
  CHECK(ytree_bool(ytree_map_get(m, "b"), &b) == -1);
  CHECK(ytree_map_get(m, "zz") == NULL);
  m = ytree_parse_flags(a, &d, "t.yaml", t, strlen(t), YTREE_JOIN_CALLS);
  CHECK_INT(m->n, 7);
  CHECK_STR(ytree_map_get(m, "g")->str, "normal(0, 0.02)");
  SrcLoc l = ytree_loc_at(ytree_map_get(m, "g"), 7); /* the '0' after '(' */
  CHECK_INT(l.line, 1);
  CHECK_INT(l.col, 63);
  CHECK(ytree_parse(a, &d, "t.yaml", "a: 1\nb: 2\na: 3\n", 15) == NULL);
  CHECK_STR(d.last, "t.yaml:3:1: error: duplicate key 'a' (first at line 1)");
  CHECK(ytree_parse(a, &d, "t.yaml", "a: [1, 2\n", 9) == NULL);
  CHECK(strstr(d.last, "t.yaml:2:1: error: YAML syntax error:") == d.last);
  m = ytree_parse(a, &d, "t.yaml", "", 0);
  CHECK(m && m->kind == YN_MAP && m->n == 0);
  CHECK_STR(ytree_kind_name(NULL), "nothing");
  CHECK(ytree_load(a, &d, path_of("absent.yaml")) == NULL);
  CHECK(strstr(d.last, "absent.yaml: error: cannot read: No such file or directory") != NULL);
  static const char *const words[] = {"epochs", "steps", "batch"};
  CHECK_STR(ytree_suggest("epoch", words, 3), "epochs");
  CHECK(ytree_suggest("colour", words, 3) == NULL);
  arena_free(a);
}

/* ---- schedules ---- */

static void test_schedule(void) {
  /* numpy: utils.cosine_scheduler(1.5e-3, 1e-5, epochs=10, niter_per_ep=7, warmup_epochs=2) */
  static const struct {
    int i;
    double v;
  } beit[] = {{0, 0.0},
              {1, 0.00011538461538461538},
              {2, 0.00023076923076923076},
              {7, 0.0008076923076923077},
              {13, 0.0015},
              {14, 0.0015},
              {15, 0.0014988279771882733},
              {30, 0.0012194999023847565},
              {41, 0.000796772483191708},
              {69, 1.117202281172663e-05}};
  int64_t w = sched_warmup_iters(2, 7, -1);
  CHECK_INT(w, 14);
  for (int k = 0; k < (int)(sizeof beit / sizeof beit[0]); k++)
    CHECK_NEAR(sched_cosine(1.5e-3, 1e-5, 70, w, 0, beit[k].i), beit[k].v, 1e-15);
  CHECK(sched_cosine(1.5e-3, 1e-5, 70, w, 0, 1) == 0.00011538461538461538); /* linspace, exactly */
  CHECK(sched_cosine(1.5e-3, 1e-5, 70, w, 0, 13) == 1.5e-3);
  /* (5e-4, 1e-6, epochs=4, niter_per_ep=25, warmup_epochs=1, warmup_steps=10) */
  w = sched_warmup_iters(1, 25, 10);
  CHECK_INT(w, 10);
  CHECK_NEAR(sched_cosine(5e-4, 1e-6, 100, w, 0, 3), 0.0001666666666666667, 1e-15);
  CHECK_NEAR(sched_cosine(5e-4, 1e-6, 100, w, 0, 11), 0.0004998480113412644, 1e-15);
  CHECK_NEAR(sched_cosine(5e-4, 1e-6, 100, w, 0, 50), 0.0002938252203278992, 1e-15);
  CHECK_NEAR(sched_cosine(5e-4, 1e-6, 100, w, 0, 99), 1.1519886587356073e-06, 1e-15);
  /* a weight-decay schedule rising from 0.05 to 0.2 over 3 x 4 steps, no warm-up */
  CHECK(sched_cosine(0.05, 0.2, 12, 0, 0, 0) == 0.04999999999999999); /* numpy's value, bit for bit */
  CHECK_NEAR(sched_cosine(0.05, 0.2, 12, 0, 0, 5), 0.10558857161731094, 1e-15);
  CHECK_NEAR(sched_cosine(0.05, 0.2, 12, 0, 0, 11), 0.19744443697168013, 1e-15);
  /* start_warmup_value 1e-6 (BEiT passes 0, the scheduler allows it) */
  CHECK_NEAR(sched_cosine(1e-3, 0, 10, 5, 1e-6, 1), 0.00025075000000000005, 1e-15);
  CHECK_NEAR(sched_cosine(1e-3, 0, 10, 5, 1e-6, 8), 0.00034549150281252633, 1e-15);
  CHECK(sched_cosine(1e-3, 0, 10, 5, 1e-6, 0) == 1e-6);
  CHECK(sched_cosine(1e-3, 0, 10, 5, 1e-6, -3) == 1e-6); /* clamped */

  /* DALL-E dVAE: tau 1 -> 1/16 over 150k updates, beta 0 -> 6.6 over 5k, then held */
  Sched tau = {.kind = SCHED_COSINE, .start = 1, .end = 1.0 / 16, .steps = 150000};
  CHECK(sched_at(&tau, 3000000, 0) == 1);
  CHECK_NEAR(sched_at(&tau, 3000000, 75000), 0.53125, 1e-15);
  CHECK(sched_at(&tau, 3000000, 150000) == 0.0625);
  CHECK(sched_at(&tau, 3000000, 2999999) == 0.0625);
  Sched beta = {.kind = SCHED_COSINE, .start = 0, .end = 6.6, .steps = 5000};
  CHECK_NEAR(sched_at(&beta, 3000000, 2500), 3.3, 1e-15);
  CHECK_NEAR(sched_at(&beta, 3000000, 1250), 3.3 * (1 - cos(M_PI / 4)), 1e-15);
  CHECK(sched_at(&beta, 3000000, 9000) == 6.6);

  Sched lin = {.kind = SCHED_LINEAR, .start = 1, .end = 0};
  CHECK_NEAR(sched_at(&lin, 10, 5), 0.5, 1e-15);
  CHECK(sched_at(&lin, 10, 9) == 0.09999999999999998 || fabs(sched_at(&lin, 10, 9) - 0.1) < 1e-15);
  CHECK(sched_at(&lin, 10, 10) == 0);
  Sched con = {.kind = SCHED_CONSTANT, .start = 2, .end = 99, .warmup = 4};
  CHECK(sched_at(&con, 10, 0) == 0);
  CHECK_NEAR(sched_at(&con, 10, 1), 2.0 / 3, 1e-15);
  CHECK(sched_at(&con, 10, 3) == 2);
  CHECK(sched_at(&con, 10, 9) == 2);
  Sched one = {.kind = SCHED_COSINE, .start = 5, .end = 1, .warmup = 1, .warmup_start = 0.5};
  CHECK(sched_at(&one, 3, 0) == 0.5); /* linspace(a, b, 1) is [a] */
  CHECK(sched_at(&one, 3, 1) == 5);
  double v[70];
  Sched lr = {.kind = SCHED_COSINE, .start = 1.5e-3, .end = 1e-5, .warmup = 14};
  sched_fill(&lr, 70, v);
  CHECK(v[41] == sched_cosine(1.5e-3, 1e-5, 70, 14, 0, 41));
  SchedKind sk;
  CHECK(!sched_kind_parse("linear", &sk) && sk == SCHED_LINEAR);
  CHECK(sched_kind_parse("poly", &sk) == -1);
  CHECK_STR(sched_kind_name(SCHED_COSINE), "cosine");
}

/* ---- progress ---- */

static double fake_now(void *ctx) {
  return *(double *)ctx;
}

static void test_progress(void) {
  double t = 100;
  char line[256];
  progress_duration(3725, line, sizeof line);
  CHECK_STR(line, "1:02:05");
  progress_duration(59.9, line, sizeof line);
  CHECK_STR(line, "0:59");
  progress_duration(-1, line, sizeof line);
  CHECK_STR(line, "--:--");

  FILE *f = tmpfile();
  Progress p;
  progress_init(&p, f, "train", 0, 1000);
  CHECK_INT(p.tty, 0);
  progress_set_clock(&p, fake_now, &t);
  CHECK(progress_rate(&p, t) == 0 && progress_eta(&p, t) == -1); /* nothing done yet */
  t = 101;
  progress_update(&p, 10, "loss 0.9"); /* under 5 s: no line */
  t = 105;
  progress_update(&p, 100, "loss 0.512");
  CHECK_NEAR(progress_rate(&p, t), 20, 1e-12);
  CHECK_NEAR(progress_eta(&p, t), 45, 1e-12);
  progress_line(&p, t, 1, 0, line, sizeof line);
  CHECK_STR(line, "train  10% [##......................] 100/1000 20.0 it/s ETA 0:45 loss 0.512");
  t = 106;
  progress_update(&p, 120, NULL);
  t = 110.5;
  progress_update(&p, 250, "loss 0.4"); /* 250 / 10.5 s = 23.8/s; 750 left: 31.5 s */
  t = 150;
  progress_update(&p, 1000, NULL);
  progress_finish(&p, "loss 0.3");
  rewind(f);
  char out[1024] = "";
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  CHECK_STR(out, "train 100/1000 10% 20.0 it/s ETA 0:45 loss 0.512\n"
                 "train 250/1000 25% 23.8 it/s ETA 0:31 loss 0.4\n"
                 "train 1000/1000 100% 20.0 it/s in 0:50 loss 0.3\n");
  fclose(f);

  /* a resumed run: the rate counts this run's items only; slow rates read as s/it */
  f = tmpfile();
  progress_init(&p, f, "eval", 500, 1000);
  progress_set_clock(&p, fake_now, &t);
  t += 10;
  p.done = 600;
  CHECK_NEAR(progress_rate(&p, t), 10, 1e-12);
  CHECK_NEAR(progress_eta(&p, t), 40, 1e-12);
  p.done = 504;
  progress_line(&p, t, 0, 0, line, sizeof line);
  CHECK_STR(line, "eval 504/1000 50% 2.50 s/it ETA 20:40");

  /* the terminal form: '\r', the bar, erase to the end, cut to the width; a newline at the end */
  p.tty = 1;
  p.width = 40;
  progress_update(&p, 700, "loss 0.25");
  progress_finish(&p, NULL);
  rewind(f);
  n = fread(out, 1, sizeof out - 1, f);
  out[n] = 0;
  CHECK_STR(out, "\reval  70% [################........] 70\033[K"
                 "\reval  70% [################........] 70\033[K\n");
  fclose(f);
}

/* ---- CSV ---- */

static void test_csv(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  const char *path = path_of("log.csv");
  const char *cols[] = {"step", "loss", "lr"};
  CsvLog l;
  CHECK_INT(csv_open(&l, path, cols, 3, 0, &d), 0);
  CHECK_INT(csv_row(&l, (double[]){1, 0.5, 1e-3}, &d), 0);
  CHECK_STR(slurp(path), "step,loss,lr\n1,0.5,0.001\n"); /* flushed at once */
  CHECK_INT(csv_row(&l, (double[]){2, NAN, (double)0.1f}, &d), 0);
  csv_close(&l);
  CHECK_STR(slurp(path), "step,loss,lr\n1,0.5,0.001\n2,,0.100000001\n");

  CHECK_INT(csv_open(&l, path, cols, 3, 1, &d), 0); /* resume: no second header */
  CHECK_INT(csv_row(&l, (double[]){3, 0.25, -INFINITY}, &d), 0);
  csv_close(&l);
  CHECK_STR(slurp(path), "step,loss,lr\n1,0.5,0.001\n2,,0.100000001\n3,0.25,-inf\n");

  CHECK_INT(csv_open(&l, path, cols, 2, 1, &d), -1);
  CHECK_INT(d.nerr, 1);
  char want[512];
  snprintf(want, sizeof want,
           "%s:1:1: error: the log's columns are 'step,loss,lr' but this run writes 'step,loss'; move the old "
           "log away or write to another folder",
           path);
  CHECK_STR(d.last, want);
  CHECK(l.f == NULL);

  FILE *f = fopen(path, "a"); /* a crash in the middle of a row */
  fputs("4,0.1", f);
  fclose(f);
  CHECK_INT(csv_open(&l, path, cols, 3, 1, &d), 0);
  CHECK_INT(csv_row(&l, (double[]){4, 0.125, 0}, &d), 0);
  csv_close(&l);
  CHECK_STR(slurp(path), "step,loss,lr\n1,0.5,0.001\n2,,0.100000001\n3,0.25,-inf\n4,0.125,0\n");

  CsvTable t;
  CHECK_INT(csv_read(path, &t, &d), 0);
  CHECK_INT(t.ncols, 3);
  CHECK_INT(t.rows, 4);
  CHECK_INT(csv_col(&t, "lr"), 2);
  CHECK_INT(csv_col(&t, "acc"), -1);
  CHECK(isnan(t.vals[1 * 3 + 1]));
  CHECK(t.vals[3 * 3 + 1] == 0.125);
  csv_table_free(&t);

  CHECK_INT(csv_drop_after(path, 2, &d), 0); /* a resume from the checkpoint at step 2 */
  CHECK_STR(slurp(path), "step,loss,lr\n1,0.5,0.001\n2,,0.100000001\n");
  CHECK_INT(csv_drop_after(path_of("none.csv"), 2, &d), 0);

  put("empty.csv", "");
  CHECK_INT(csv_open(&l, path_of("empty.csv"), cols, 3, 1, &d), 0); /* an empty log gets a header */
  csv_close(&l);
  CHECK_STR(slurp(path_of("empty.csv")), "step,loss,lr\n");
  CHECK_INT(csv_open(&l, path_of("new.csv"), cols, 3, 1, &d), 0); /* so does an absent one */
  csv_close(&l);
  CHECK_STR(slurp(path_of("new.csv")), "step,loss,lr\n");
  const char *bad[] = {"step", "a,b"};
  CHECK_INT(csv_open(&l, path_of("bad.csv"), bad, 2, 0, &d), -1);
  CHECK(strstr(d.last, "column name 'a,b' must be non-empty") != NULL);
  CHECK_INT(csv_open(&l, path_of("nodir/x.csv"), cols, 3, 0, &d), -1);
  CHECK(strstr(d.last, "nodir/x.csv: error: cannot write: No such file or directory") != NULL);
}

/* ---- plots ---- */

static void test_ticks(void) {
  double t[16], step;
  char lab[32];
  CHECK_INT(plot_ticks(0, 1, 8, t, &step), 6);
  CHECK_NEAR(step, 0.2, 1e-15);
  plot_tick_label(t[3], step, lab, sizeof lab);
  CHECK_STR(lab, "0.6");
  CHECK_INT(plot_ticks(0.0312, 2.47, 8, t, &step), 4);
  plot_tick_label(t[0], step, lab, sizeof lab);
  CHECK_STR(lab, "0.5");
  plot_tick_label(t[3], step, lab, sizeof lab);
  CHECK_STR(lab, "2.0");
  CHECK_INT(plot_ticks(0, 12000, 8, t, &step), 7);
  plot_tick_label(t[6], step, lab, sizeof lab);
  CHECK_STR(lab, "12000");
  CHECK_INT(plot_ticks(-1, 1, 5, t, &step), 5);
  plot_tick_label(t[0], step, lab, sizeof lab);
  CHECK_STR(lab, "-1.0");
  plot_tick_label(t[2], step, lab, sizeof lab);
  CHECK_STR(lab, "0.0"); /* never "-0.0" */
  CHECK_INT(plot_ticks(2.31e-3, 2.36e-3, 8, t, &step), 6);
  plot_tick_label(t[1], step, lab, sizeof lab);
  CHECK_STR(lab, "0.00232");
}

/* Every tick label of the SVG reads as a number with few digits. */
static void check_labels(const char *svg) {
  int n = 0;
  for (const char *p = svg; (p = strstr(p, "class=\"tick\"")); p++) {
    const char *s = strchr(p, '>') + 1, *e = strchr(s, '<');
    char lab[64];
    snprintf(lab, sizeof lab, "%.*s", (int)(e - s), s);
    char *end;
    strtod(lab, &end);
    if (strcmp(lab, "train") && strcmp(lab, "val &amp; test") && strcmp(lab, "one")) {
      CHECK(*end == 0 && strlen(lab) <= 6);
      n++;
    }
  }
  CHECK(n >= 6);
}

static void test_plot(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  double x[50], y[50], vx[3] = {10, 25, 49}, vy[3] = {2.2, NAN, 1.1}, ox = 7, oy = 1.5;
  for (int i = 0; i < 50; i++) x[i] = i, y[i] = 2.5 * exp(-i / 20.0);
  y[5] = NAN;
  y[6] = INFINITY;
  PlotSeries s[3] = {{"train", x, y, 50}, {"val & test", vx, vy, 3}, {"one", &ox, &oy, 1}};
  Plot p = {.title = "loss <ViT>", .xlabel = "step", .ylabel = "loss", .series = s, .nseries = 3};
  CHECK_INT(plot_svg(path_of("loss.svg"), &p, &d), 0);
  const char *svg = slurp(path_of("loss.svg"));
  CHECK(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
  CHECK(strstr(svg, "</svg>\n") && !strcmp(strstr(svg, "</svg>\n"), "</svg>\n"));
  CHECK_INT(count(svg, "<polyline"), 2); /* a line per series of two or more points */
  CHECK_INT(count(svg, "<circle"), 1);   /* a dot for the single point */
  CHECK_INT(count(svg, "<text"), count(svg, "</text>"));
  CHECK(strstr(svg, "loss &lt;ViT&gt;") != NULL);
  CHECK(strstr(svg, "val &amp; test") != NULL);
  CHECK(strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL);
  const char *pl = strstr(svg, "points=\"");
  CHECK_INT(count(pl ? pl : "", ",") - count(strstr(pl, "\"/>"), ","), 48); /* 50 points less 2 skipped */
  check_labels(svg);
  if (!system("command -v xmllint >/dev/null 2>&1")) { /* where it is installed: well-formed XML */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xmllint --noout %s", path_of("loss.svg"));
    CHECK(system(cmd) == 0);
  }

  /* one point alone, and nothing at all: still a plot */
  PlotSeries lone = {"one", &ox, &oy, 1};
  p = (Plot){.series = &lone, .nseries = 1};
  svg = plot_svg_text(&p);
  CHECK(svg && count(svg, "<circle") == 1 && !strstr(svg, "nan"));
  free((char *)svg);
  PlotSeries none = {"none", vy + 1, vy + 1, 1};
  p = (Plot){.title = "empty", .series = &none, .nseries = 1};
  svg = plot_svg_text(&p);
  CHECK(svg && !strstr(svg, "<polyline") && !strstr(svg, "<circle") && strstr(svg, "</svg>"));
  free((char *)svg);

  /* 100k points are thinned to a few per pixel column */
  enum { BIG = 100000 };
  double *bx = malloc(sizeof(double) * BIG), *by = malloc(sizeof(double) * BIG);
  for (int i = 0; i < BIG; i++) bx[i] = i, by[i] = 1 + sin(i * 0.01) + (i % 7) * 0.01;
  PlotSeries big = {"big", bx, by, BIG};
  p = (Plot){.series = &big, .nseries = 1};
  svg = plot_svg_text(&p);
  int pts = count(strstr(svg, "points=\""), ",");
  CHECK(pts > 600 && pts <= 4 * 720);
  free((char *)svg);
  free(bx);
  free(by);

  /* written atomically: a failed write leaves nothing; a good one leaves no temporary */
  p = (Plot){.series = &lone, .nseries = 1};
  CHECK_INT(plot_svg(path_of("nodir/loss.svg"), &p, &d), -1);
  DIR *dd = opendir(dir);
  struct dirent *e;
  while ((e = readdir(dd))) CHECK(!strstr(e->d_name, ".tmp."));
  closedir(dd);
}

/* ---- recipes ---- */

/* clang-format off */
static const char *const full_recipe =
    "# fine-tune a small ViT\n"
    "model: ../m.yaml\n"
    "params: {depth: 2, dim: dim*2}\n"
    "data:\n"
    "  dataset: fashion-mnist\n"
    "  split: train\n"
    "  count: 2000\n"
    "  val_count: 500\n"
    "  augment: {crop_pad: 2, flip: true}\n"
    "bind: {pixels: images, target: labels}\n"
    "loss: ce\n"
    "batch: 64\n"
    "epochs: 10\n"
    "optimizer:\n"
    "  kind: adamw\n"
    "  lr: 1.5e-3\n"
    "  min_lr: 1e-5\n"
    "  warmup_epochs: 2\n"
    "  betas: [0.9, 0.98]\n"
    "  eps: 1e-6\n"
    "  weight_decay: 0.05\n"
    "  weight_decay_end: 0.1\n"
    "  clip_grad: 3.0\n"
    "  layer_decay: 0.65\n"
    "  no_weight_decay: [pos_embed, cls_token, rel_pos]\n"
    "schedules:\n"
    "  tau: {start: 1, end: 0.0625, steps: 1500}\n"
    "  beta: {kind: linear, start: 0, end: 6.6, warmup_steps: 10}\n"
    "seed: 7\n"
    "eval: {every_epochs: 2, outputs: [acc, logits]}\n"
    "checkpoint: {dir: ckpt, every_epochs: 5}\n"
    "init: ../w.safetensors\n";
/* clang-format on */

static void test_recipe_full(void) {
  Arena *a = arena_new();
  Diag d;
  diag_init(&d);
  put("m.yaml", "name: m\n");
  put("w.safetensors", "");
  CHECK(mkdir(path_of("r"), 0755) == 0);
  put("r/full.yaml", full_recipe);
  Recipe r;
  char want[512];
  CHECK_INT(recipe_load(path_of("r/full.yaml"), a, &r, &d), 0);
  CHECK_INT(d.nerr, 0);
  snprintf(want, sizeof want, "%s/r/../m.yaml", dir);
  CHECK_STR(r.model, want);
  CHECK_INT(r.model_loc.line, 2);
  CHECK_INT(r.model_loc.col, 8);
  CHECK_INT(r.nparams, 2);
  CHECK_STR(r.params[1].name, "dim");
  CHECK_STR(r.params[1].value, "dim*2");
  CHECK_INT(r.params[1].loc.line, 3);
  CHECK_INT(r.params[1].loc.col, 25);
  CHECK_STR(r.data.dataset, "fashion-mnist");
  CHECK_STR(r.data.split, "train");
  CHECK_INT(r.data.count, 2000);
  CHECK_INT(r.data.val_count, 500);
  CHECK_INT(r.data.crop_pad, 2);
  CHECK_INT(r.data.flip, 1);
  CHECK_INT(r.nbind, 2);
  CHECK_STR(r.bind[1].input, "target");
  CHECK_INT(r.bind[1].field, RECIPE_LABELS);
  CHECK_STR(r.loss, "ce");
  CHECK_INT(r.batch, 64);
  CHECK_INT(r.epochs, 10);
  CHECK_INT(r.steps, 0);
  CHECK_INT(r.opt.spec.kind, OPT_ADAMW);
  CHECK(r.opt.lr == 1.5e-3 && r.opt.min_lr == 1e-5 && r.opt.warmup_epochs == 2 && r.opt.warmup_steps == 0);
  CHECK(r.opt.spec.beta1 == 0.9 && r.opt.spec.beta2 == 0.98 && r.opt.spec.eps == 1e-6);
  CHECK(r.opt.weight_decay == 0.05 && r.opt.weight_decay_end == 0.1);
  CHECK(r.opt.spec.clip == 3 && r.opt.spec.layer_decay == 0.65);
  CHECK_INT(r.opt.spec.nno_decay, 3);
  CHECK_STR(r.opt.spec.no_decay[2], "rel_pos");
  CHECK_INT(r.nsched, 2);
  CHECK_STR(r.sched[0].input, "tau");
  CHECK(r.sched[0].s.kind == SCHED_COSINE && r.sched[0].s.end == 0.0625 && r.sched[0].s.steps == 1500);
  CHECK(r.sched[1].s.kind == SCHED_LINEAR && r.sched[1].s.end == 6.6 && r.sched[1].s.warmup == 10);
  CHECK_INT(r.seed, 7);
  CHECK_INT(r.eval.every_epochs, 2);
  CHECK_INT(r.eval.noutputs, 2);
  CHECK_STR(r.eval.outputs[1], "logits");
  snprintf(want, sizeof want, "%s/r/ckpt", dir);
  CHECK_STR(r.checkpoint.dir, want);
  CHECK_INT(r.checkpoint.every_epochs, 5);
  snprintf(want, sizeof want, "%s/r/full.out", dir);
  CHECK_STR(r.out, want);
  snprintf(want, sizeof want, "%s/r/../w.safetensors", dir);
  CHECK_STR(r.init, want);

  /* BEiT's schedules from the recipe: 30 steps an epoch, warm-up 2 epochs */
  Sched lr, wd;
  recipe_schedules(&r, 30, &lr, &wd);
  int64_t total = recipe_total_steps(&r, 30);
  CHECK_INT(total, 300);
  CHECK_INT(lr.warmup, 60);
  for (int i = 0; i < 300; i += 37) {
    CHECK(sched_at(&lr, total, i) == sched_cosine(1.5e-3, 1e-5, 300, 60, 0, i));
    CHECK(sched_at(&wd, total, i) == sched_cosine(0.05, 0.1, 300, 0, 0, i));
  }

  /* a minimal recipe: the defaults */
  put("min.yml",
      "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: 8\nsteps: 100\noptimizer: {kind: sgd, lr: 0.1}\n");
  CHECK_INT(recipe_load(path_of("min.yml"), a, &r, &d), 0);
  CHECK_STR(r.data.split, "train");
  CHECK(r.data.count == 0 && r.data.val_count == 0 && r.data.crop_pad == 0 && !r.data.flip);
  CHECK_INT(r.nbind, 0);
  CHECK_STR(r.loss, "loss");
  CHECK_INT(r.steps, 100);
  CHECK_INT(recipe_total_steps(&r, 30), 100);
  CHECK_INT(r.opt.spec.kind, OPT_SGD);
  CHECK(r.opt.spec.momentum == 0.9 && r.opt.min_lr == 0 && r.opt.weight_decay == 0 && r.opt.schedule == SCHED_COSINE);
  CHECK_INT(r.opt.spec.nno_decay, 2); /* optim_defaults: cls_token, pos_embed */
  CHECK_INT(r.seed, 0);
  CHECK(r.checkpoint.dir == NULL && r.init == NULL);
  snprintf(want, sizeof want, "%s/min.out", dir);
  CHECK_STR(r.out, want);
  recipe_schedules(&r, 30, &lr, &wd);
  CHECK(lr.warmup == 0 && sched_at(&lr, 100, 0) == 0.1);
  CHECK(sched_at(&wd, 100, 50) == 0);
  arena_free(a);
}

#define HEAD "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: 8\n"
#define OPT "optimizer: {lr: 0.001}\n"

static void test_recipe_errors(void) {
  recipe_bad(__LINE__, HEAD "epoch: 3\n" OPT,
      "bad.yaml:4:1: error: unknown key 'epoch' in the recipe (did you mean 'epochs'?)");
  recipe_bad(__LINE__, HEAD "colour: red\n",
      "bad.yaml:4:1: error: unknown key 'colour' in the recipe (expected model, params, data, bind, loss, batch, "
      "epochs, steps, optimizer, schedules, seed, eval, checkpoint, out, init, freeze, tokenizer, mask)");
  recipe_bad(__LINE__, HEAD "epochs: 1\noptimizer: {kind: adamw, lrr: 2}\n",
      "bad.yaml:5:26: error: unknown key 'lrr' in optimizer (did you mean 'lr'?)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: abc\n",
      "bad.yaml:3:8: error: batch must be a positive integer, found 'abc'");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: -4\n",
      "bad.yaml:3:8: error: batch must be a positive integer, found -4");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist}\nbatch: [8]\n",
      "bad.yaml:3:8: error: batch must be a positive integer, found a sequence");
  recipe_bad(__LINE__, "data: {dataset: fashion-mnist}\nbatch: 8\n", "bad.yaml:1:1: error: missing key 'model' in the recipe");
  recipe_bad(__LINE__, "model: m.yaml\nbatch: 8\n", "bad.yaml:1:1: error: missing key 'data' in the recipe");
  recipe_bad(__LINE__, HEAD "epochs: 2\nsteps: 100\n" OPT, "bad.yaml:5:1: error: give epochs or steps, not both");
  recipe_bad(__LINE__, HEAD OPT, "bad.yaml:1:1: error: missing key 'epochs' or 'steps' in the recipe");
  recipe_bad(__LINE__, HEAD "epochs: 0\n", "bad.yaml:4:9: error: epochs must be a positive integer, found 0");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {kind: adam, lr: 1}\n",
      "bad.yaml:5:19: error: unknown optimizer kind 'adam' (did you mean 'adamw'?)");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {kind: rmsprop, lr: 1}\n",
      "bad.yaml:5:19: error: unknown optimizer kind 'rmsprop' (expected adamw or sgd)");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer:\n  kind: sgd\n", "bad.yaml:5:1: error: missing key 'lr' in optimizer");
  recipe_bad(__LINE__, HEAD "steps: 10\n", "bad.yaml:1:1: error: missing key 'optimizer' in the recipe");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: [adamw]\n",
      "bad.yaml:5:12: error: optimizer must be a mapping, found a sequence");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: -1}\n",
      "bad.yaml:5:17: error: optimizer.lr must be a number >= 0, found -1");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: fast}\n",
      "bad.yaml:5:17: error: optimizer.lr must be a number >= 0, found 'fast'");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, betas: [0.9]}\n",
      "bad.yaml:5:27: error: optimizer.betas must be two numbers in [0, 1), such as [0.9, 0.999]");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, momentum: 0.9}\n",
      "bad.yaml:5:20: error: optimizer.momentum applies to sgd only");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {kind: sgd, lr: 1, eps: 1e-8}\n",
      "bad.yaml:5:31: error: optimizer.eps applies to adamw only");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, warmup_epochs: 1, warmup_steps: 5}\n",
      "bad.yaml:5:38: error: give optimizer.warmup_epochs or optimizer.warmup_steps, not both");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, warmup_steps: 50}\n",
      "bad.yaml:5:34: error: optimizer.warmup_steps is 50, longer than the run (10 steps)");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, schedule: cosin}\n",
      "bad.yaml:5:30: error: unknown schedule kind 'cosin' (did you mean 'cosine'?)");
  recipe_bad(__LINE__, HEAD "steps: 10\noptimizer: {lr: 1, no_weight_decay: pos_embed}\n",
      "bad.yaml:5:37: error: optimizer.no_weight_decay must be a list of names, found 'pos_embed'");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: mnist}\n",
      "bad.yaml:2:17: error: unknown dataset 'mnist' (expected fashion-mnist or fashion-seg)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {split: train}\n", "bad.yaml:2:1: error: missing key 'dataset' in data");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, split: val}\n",
      "bad.yaml:2:39: error: unknown split 'val' (expected train or test)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, split: test, count: 9000, val_count: 2000}\n",
      "bad.yaml:2:69: error: data.count + data.val_count is 11000, more than the 10000 images of fashion-mnist's "
      "test split");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, augment: {flip: yes}}\n",
      "bad.yaml:2:48: error: data.augment.flip must be true or false, found 'yes'");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist, augment: {crop: 2}}\n",
      "bad.yaml:2:42: error: unknown key 'crop' in data.augment (expected crop_pad, flip)");
  recipe_bad(__LINE__, "model: m.yaml\nparams: {depth: [1, 2]}\n",
      "bad.yaml:2:17: error: params.depth must be a number or an expression, found a sequence");
  recipe_bad(__LINE__, "model: m.yaml\nparams: [depth]\n",
      "bad.yaml:2:9: error: params must be a mapping of names to numbers, found a sequence");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: fashion-mnist}\nbind: {x: pixels}\n",
      "bad.yaml:3:11: error: unknown data field 'pixels' (expected images or labels)");
  recipe_bad(__LINE__, "model: nope.yaml\n", "bad.yaml:1:8: error: cannot read model 'nope.yaml': No such file or directory");
  recipe_bad(__LINE__, "model: [m.yaml]\n", "bad.yaml:1:8: error: model must be a name, found a sequence");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "schedules: {tau: {end: 0.1}}\n",
      "bad.yaml:6:13: error: missing key 'start' in schedules.tau");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "schedules: {tau: {start: 1, kind: cos}}\n",
      "bad.yaml:6:35: error: unknown schedule kind 'cos' (expected constant, linear or cosine)");
  recipe_bad(__LINE__, HEAD "bind: {t: images}\nsteps: 10\n" OPT "schedules: {t: {start: 1}}\n",
      "bad.yaml:7:13: error: schedules: input 't' is already bound to data (bind)");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "seed: 4294967296\n",
      "bad.yaml:6:7: error: seed must be at most 4294967295, found 4294967296");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "eval: {every_epochs: 1, every_steps: 5}\n",
      "bad.yaml:6:25: error: give eval.every_epochs or eval.every_steps, not both");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "eval: {outputs: acc}\n",
      "bad.yaml:6:17: error: eval.outputs must be a list of names, found 'acc'");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "checkpoint: {every: 5}\n",
      "bad.yaml:6:14: error: unknown key 'every' in checkpoint (expected dir, every_epochs, every_steps)");
  recipe_bad(__LINE__, HEAD "steps: 10\n" OPT "init: none.safetensors\n",
      "bad.yaml:6:7: error: cannot read init 'none.safetensors': No such file or directory");
  recipe_bad(__LINE__, "- model\n",
      "bad.yaml:1:1: error: a recipe is a mapping (model, data, batch, epochs, optimizer, ...), "
      "found a sequence");
  recipe_bad(__LINE__, "model: m.yaml\nbatch: 8\nbatch: 9\n", "bad.yaml:3:1: error: duplicate key 'batch' (first at line 2)");
  recipe_bad(__LINE__, "model: m.yaml\ndata: {dataset: [\n",
      "bad.yaml:3:1: error: YAML syntax error: did not find expected node content (while parsing a flow node at "
      "line 3, column 1)");
}

int main(void) {
  if (scratch_begin()) return 1;
  RUN(test_ytree);
  RUN(test_schedule);
  RUN(test_progress);
  RUN(test_csv);
  RUN(test_ticks);
  RUN(test_plot);
  RUN(test_recipe_full);
  RUN(test_recipe_errors);
  scratch_end();
  return CHECK_DONE();
}
