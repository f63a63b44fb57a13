/* trainlog.h — what a training run leaves behind and shows while it runs: the CSV log
 * (out/log.csv: step, epoch, lr, loss, grad_norm, seconds, val_loss, val_acc, then the
 * evaluation's extra metrics, evalmetrics.h: mim_acc, rec_mae, codebook, pix_acc, miou), the
 * progress line, and at the end the loss curve (out/loss.svg, the whole run's, resumed
 * parts included) and the weights (out/weights.safetensors, the model's own tensors). A
 * resumed run first drops the log rows past its checkpoint, so the log always tells one
 * consistent history. */
#ifndef MIMIC_TRAINLOG_H
#define MIMIC_TRAINLOG_H
#include "csvlog.h"
#include "progress.h"
#include "train.h"

#define TLOG_MAX_EXTRA 8

typedef struct TrainLog {
  CsvLog csv;
  int nextra;         /* extra metric columns after val_acc */
  const char *extra[TLOG_MAX_EXTRA];
  Progress prog;
  int open, quiet;
  char *dir;          /* out_dir (malloc'd) */
} TrainLog;

/* Create out_dir and the log with `nextra` (<= TLOG_MAX_EXTRA) metric columns after
 * val_acc; `done` steps are behind us (a resumed run). */
int tlog_open(TrainLog *log, const TrainConfig *c, int64_t done, const char *const *extra, int nextra, Diag *d);
/* One step's row (val_loss/val_acc and extra[] NaN when not evaluated) and the progress
 * line. */
void tlog_step(TrainLog *log, int64_t step, double epoch, double lr, double loss, double grad_norm, double seconds,
               double val_loss, double val_acc, const double *extra);
/* The final progress line, the weights of `model` from w, and the plot. */
int tlog_finish(TrainLog *log, const TensorSet *w, const Graph *model, int complete, Diag *d);
void tlog_close(TrainLog *log);

#endif
