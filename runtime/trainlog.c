/* trainlog.c — the training run's log, progress, curve and weights (see trainlog.h). */
#include "trainlog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "plot.h"
#include "safetensors.h"

static const char *const cols[] = {"step", "epoch", "lr", "loss", "grad_norm", "seconds", "val_loss", "val_acc"};
#define NCOLS 8

static char *join(const char *dir, const char *file) {
  size_t n = strlen(dir) + strlen(file) + 2;
  char *s = malloc(n);
  if (!s) abort();
  snprintf(s, n, "%s/%s", dir, file);
  return s;
}

int tlog_open(TrainLog *log, const TrainConfig *c, int64_t done, const char *const *extra, int nextra, Diag *d) {
  memset(log, 0, sizeof *log);
  const char *names[NCOLS + TLOG_MAX_EXTRA];
  memcpy(names, cols, sizeof cols);
  for (int i = 0; i < nextra && i < TLOG_MAX_EXTRA; i++) names[NCOLS + log->nextra++] = log->extra[i] = extra[i];
  log->quiet = c->quiet;
  log->dir = strdup(c->out_dir ? c->out_dir : ".");
  if (!log->dir) abort();
  if (afile_mkdirs(log->dir, d)) return -1;
  char *path = join(log->dir, "log.csv");
  int rc = done > 0 ? csv_drop_after(path, (double)done, d) : 0;
  if (!rc) rc = csv_open(&log->csv, path, names, NCOLS + log->nextra, done > 0, d);
  free(path);
  if (rc) return -1;
  log->open = 1;
  if (!log->quiet) progress_init(&log->prog, stderr, "train", done, c->steps);
  return 0;
}

void tlog_step(TrainLog *log, int64_t step, double epoch, double lr, double loss, double grad_norm, double seconds,
               double val_loss, double val_acc, const double *extra) {
  double row[NCOLS + TLOG_MAX_EXTRA] = {(double)step, epoch, lr, loss, grad_norm, seconds, val_loss, val_acc};
  for (int i = 0; i < log->nextra; i++) row[NCOLS + i] = extra ? extra[i] : NAN;
  Diag quiet;
  diag_init(&quiet);
  csv_row(&log->csv, row, &quiet); /* a full disk is reported by the final checkpoint */
  if (log->quiet) return;
  char text[128];
  int n = snprintf(text, sizeof text, "loss %.4f", loss);
  if (!isnan(val_acc)) n += snprintf(text + n, sizeof text - (size_t)n, " val_acc %.3f", val_acc);
  else if (!isnan(val_loss)) n += snprintf(text + n, sizeof text - (size_t)n, " val_loss %.4f", val_loss);
  for (int i = 0; i < log->nextra && extra && n < (int)sizeof text - 24; i++)
    if (!isnan(extra[i])) n += snprintf(text + n, sizeof text - (size_t)n, " %s %.3f", log->extra[i], extra[i]);
  progress_update(&log->prog, step, text);
}

/* loss.svg from the whole log: the training loss per step and, where evaluated, the
 * validation loss. */
static int plot(TrainLog *log, Diag *d) {
  char *csv = join(log->dir, "log.csv"), *svg = join(log->dir, "loss.svg");
  CsvTable t;
  int rc = csv_read(csv, &t, d);
  if (!rc) {
    int cs = csv_col(&t, "step"), cl = csv_col(&t, "loss"), cv = csv_col(&t, "val_loss");
    double *x = malloc(sizeof *x * (size_t)(t.rows + 1)), *y = malloc(sizeof *y * (size_t)(t.rows + 1)),
           *v = malloc(sizeof *v * (size_t)(t.rows + 1));
    if (!x || !y || !v) abort();
    int has_val = 0;
    for (long r = 0; r < t.rows; r++) {
      x[r] = t.vals[r * t.ncols + cs];
      y[r] = t.vals[r * t.ncols + cl];
      v[r] = cv >= 0 ? t.vals[r * t.ncols + cv] : NAN;
      has_val |= !isnan(v[r]);
    }
    PlotSeries s[2] = {{"training loss", x, y, t.rows}, {"validation loss", x, v, t.rows}};
    Plot p = {.title = "training loss", .xlabel = "step", .ylabel = "loss", .series = s, .nseries = has_val ? 2 : 1};
    rc = plot_svg(svg, &p, d);
    free(x);
    free(y);
    free(v);
    csv_table_free(&t);
  }
  free(csv);
  free(svg);
  return rc;
}

int tlog_finish(TrainLog *log, const TensorSet *w, const Graph *model, int complete, Diag *d) {
  if (!log->quiet) progress_finish(&log->prog, complete ? NULL : "stopped");
  csv_close(&log->csv);
  log->open = 0;
  TensorSet mw;
  tset_init(&mw);
  for (int i = 0; i < model->n; i++) {
    const Node *n = &model->nodes[i];
    const Tensor *t = n->op == OP_WEIGHT ? tset_get(w, n->name) : NULL;
    if (t) tset_put(&mw, n->name, tensor_copy(t));
  }
  char *path = join(log->dir, "weights.safetensors");
  int rc = st_write(path, &mw, d);
  free(path);
  tset_free(&mw);
  return rc || plot(log, d) ? -1 : 0;
}

void tlog_close(TrainLog *log) {
  if (log->open) csv_close(&log->csv);
  log->open = 0;
  free(log->dir);
  log->dir = NULL;
}
