/* progress.c — a progress bar on a terminal, plain lines elsewhere; see progress.h. */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BAR_COLS 24
#define REDRAW_S 0.1 /* a terminal line is redrawn at most this often */

static double clock_now(const Progress *p) {
  if (p->now) return p->now(p->now_ctx);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int term_width(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char *c = getenv("COLUMNS");
  int n = c ? atoi(c) : 0;
  return n > 0 ? n : 80;
}

void progress_init(Progress *p, FILE *out, const char *label, int64_t first, int64_t total) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->tty = isatty(fileno(out));
  p->width = p->tty ? term_width(out) : 80;
  p->label = label ? label : "";
  p->unit = "it";
  p->first = p->done = first;
  p->total = total;
  p->every = 5;
  p->t0 = p->last = clock_now(p);
}

void progress_set_clock(Progress *p, ProgressClock now, void *ctx) {
  p->now = now;
  p->now_ctx = ctx;
  p->t0 = p->last = clock_now(p);
}

double progress_rate(const Progress *p, double now) {
  double dt = now - p->t0;
  if (!(dt > 0) || p->done <= p->first) return 0;
  return (double)(p->done - p->first) / dt;
}

double progress_eta(const Progress *p, double now) {
  double r = progress_rate(p, now);
  if (!(r > 0)) return -1;
  int64_t left = p->total - p->done;
  return left > 0 ? (double)left / r : 0;
}

void progress_duration(double s, char *buf, size_t n) {
  if (!(s >= 0) || s > 1e9) {
    snprintf(buf, n, "--:--");
    return;
  }
  long t = (long)s, h = t / 3600, m = t / 60 % 60, sec = t % 60;
  if (h)
    snprintf(buf, n, "%ld:%02ld:%02ld", h, m, sec);
  else
    snprintf(buf, n, "%ld:%02ld", m, sec);
}

/* "35.2 it/s", or "2.50 s/it" below one item a second; "? it/s" while unknown. */
static void fmt_rate(double r, const char *unit, char *buf, size_t n) {
  if (!(r > 0))
    snprintf(buf, n, "? %s/s", unit);
  else if (r < 1)
    snprintf(buf, n, "%.2f s/%s", 1 / r, unit);
  else
    snprintf(buf, n, "%.*f %s/s", r >= 100 ? 0 : r >= 10 ? 1 : 2, r, unit);
}

/* Append to buf at *at (a bounded snprintf that keeps *at <= n - 1). */
static void put(char *buf, size_t n, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t n, size_t *at, const char *fmt, ...) {
  if (*at >= n - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *at, n - *at, fmt, ap);
  va_end(ap);
  if (k > 0) *at += (size_t)k < n - *at ? (size_t)k : n - 1 - *at;
}

size_t progress_line(const Progress *p, double now, int bar, int final, char *buf, size_t n) {
  if (!n) return 0;
  buf[0] = 0;
  size_t at = 0;
  double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
  if (frac < 0) frac = 0;
  if (frac > 1) frac = 1;
  int pct = (int)floor(100 * frac);
  char rate[32], dur[32];
  fmt_rate(progress_rate(p, now), p->unit, rate, sizeof rate);
  progress_duration(final ? now - p->t0 : progress_eta(p, now), dur, sizeof dur);
  if (bar) {
    int fill = (int)floor(BAR_COLS * frac);
    char cells[BAR_COLS + 1];
    for (int i = 0; i < BAR_COLS; i++) cells[i] = i < fill ? '#' : '.';
    cells[BAR_COLS] = 0;
    put(buf, n, &at, "%s %3d%% [%s] %lld/%lld", p->label, pct, cells, (long long)p->done, (long long)p->total);
  } else {
    put(buf, n, &at, "%s %lld/%lld %d%%", p->label, (long long)p->done, (long long)p->total, pct);
  }
  put(buf, n, &at, " %s %s %s", rate, final ? "in" : "ETA", dur);
  if (p->text[0]) put(buf, n, &at, " %s", p->text);
  return at;
}

static void draw(Progress *p, double now, int final) {
  char line[512];
  if (p->tty) {
    size_t w = p->width > 1 ? (size_t)p->width : 2; /* one column spare: no wrap */
    progress_line(p, now, 1, final, line, w < sizeof line ? w : sizeof line);
    fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    p->drawn = !final;
  } else {
    progress_line(p, now, 0, final, line, sizeof line);
    fprintf(p->out, "%s\n", line);
  }
  fflush(p->out);
  p->last = now;
}

static void set_text(Progress *p, const char *text) {
  if (text) snprintf(p->text, sizeof p->text, "%s", text);
}

void progress_update(Progress *p, int64_t done, const char *text) {
  p->done = done;
  set_text(p, text);
  double now = clock_now(p);
  /* plain lines: the last one is progress_finish's, with the elapsed time */
  int due = p->tty ? now - p->last >= REDRAW_S || done >= p->total || !p->drawn
                   : now - p->last >= p->every && done < p->total;
  if (due) draw(p, now, 0);
}

void progress_finish(Progress *p, const char *text) {
  set_text(p, text);
  draw(p, clock_now(p), 1);
}
