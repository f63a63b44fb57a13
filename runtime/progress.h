/* progress.h — a progress reporter for long loops (training steps, evaluation batches).
 *
 * On a terminal one line is redrawn in place (at most 10 times a second, and at the
 * end): label, percentage, a bar, done/total, the rate, the ETA and a caller's text
 *     train  42% [##########..............] 420/1000 35.2 it/s ETA 0:16 loss 0.512
 * Anywhere else (a log file, a pipe) it writes plain lines, at most one every `every`
 * seconds (5 by default) and one at the end, with the elapsed time instead of the ETA:
 *     train 420/1000 42% 35.2 it/s ETA 0:16 loss 0.512
 *     train 1000/1000 100% 35.0 it/s in 0:28 loss 0.431
 *
 * The rate counts this run's items only (a resumed run starts at `first`); the ETA is
 * the remaining items at that average rate. The clock can be replaced (tests use a fake
 * one), and the whole state is this struct: no globals. */
#ifndef MIMIC_PROGRESS_H
#define MIMIC_PROGRESS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Seconds on some monotonic clock; ctx is the caller's. */
typedef double (*ProgressClock)(void *ctx);

typedef struct Progress {
  FILE *out;
  int tty;              /* redraw one line in place (progress_init: isatty); else plain lines */
  const char *label;    /* first word of every line, e.g. "train" (borrowed) */
  const char *unit;     /* what is counted, "it" unless set after progress_init */
  int64_t first;        /* items done before this run (a resumed run) */
  int64_t done, total;
  double t0;            /* the clock when this run started */
  double last;          /* the clock at the last line written (or redraw) */
  double every;         /* seconds between plain lines (5) */
  int width;            /* terminal columns: a tty line is cut to width - 1 */
  int drawn;            /* a bar is on the terminal line, not yet ended by a newline */
  ProgressClock now;    /* the time source; NULL: CLOCK_MONOTONIC */
  void *now_ctx;
  char text[160];       /* the caller's text from the last update */
} Progress;

/* Start a run of items [first, total) on `out` at the current time. */
void progress_init(Progress *p, FILE *out, const char *label, int64_t first, int64_t total);
/* Replace the clock (and restart the run's time at its current reading). */
void progress_set_clock(Progress *p, ProgressClock now, void *ctx);
/* `done` items are finished; `text` (may be NULL: keep the last one) is shown after the
 * numbers. Draws or prints when it is time to. */
void progress_update(Progress *p, int64_t done, const char *text);
/* The run is over (done need not equal total: an interrupted run): the final line. */
void progress_finish(Progress *p, const char *text);

/* Items per second at time `now` since the run started; 0 while unknown. */
double progress_rate(const Progress *p, double now);
/* Seconds left at that rate; -1 while unknown. */
double progress_eta(const Progress *p, double now);
/* The line as it would be shown at `now` (bar: the terminal form; final: elapsed time
 * instead of the ETA), without '\r' or '\n'. Returns its length (cut to n - 1). */
size_t progress_line(const Progress *p, double now, int bar, int final, char *buf, size_t n);
/* "m:ss" or "h:mm:ss" for seconds >= 0 (rounded down); "--:--" otherwise. */
void progress_duration(double s, char *buf, size_t n);

#endif
