/* plot.c — line plots as standalone SVG; see plot.h. */
#include "plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"

#define MAX_TICKS 8
#define ML 72 /* margins: left (y tick labels and axis label), right, top (title), bottom */
#define MR 24
#define MT 44
#define MB 52

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/* ---- a growing text buffer ---- */

typedef struct Buf {
  char *s;
  size_t n, cap;
  int oom;
} Buf;

static void bprintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(Buf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = 2 * b->cap + (size_t)k + 1;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

/* Text escaped for XML character data and attribute values. */
static void bescape(Buf *b, const char *t) {
  for (; t && *t; t++) switch (*t) {
    case '&': bprintf(b, "&amp;"); break;
    case '<': bprintf(b, "&lt;"); break;
    case '>': bprintf(b, "&gt;"); break;
    case '"': bprintf(b, "&quot;"); break;
    default: bprintf(b, "%c", *t);
    }
}

/* ---- ticks ---- */

int plot_ticks(double lo, double hi, int max, double *ticks, double *step) {
  if (max < 2) max = 2;
  if (!(hi > lo) || !isfinite(hi - lo)) {
    ticks[0] = lo;
    *step = 1;
    return 1;
  }
  double base = pow(10, floor(log10((hi - lo) / max)));
  static const double mult[] = {1, 2, 5, 10, 20, 50, 100};
  for (int i = 0; i < 7; i++) {
    double s = base * mult[i];
    double k0 = ceil(lo / s - 1e-9), k1 = floor(hi / s + 1e-9);
    if (k1 - k0 + 1 > max) continue;
    int n = 0;
    for (double k = k0; k <= k1; k++) ticks[n++] = k * s + 0.0; /* + 0.0: no "-0" */
    *step = s;
    return n;
  }
  ticks[0] = lo; /* not reached: the last step leaves fewer than max ticks */
  *step = hi - lo;
  return 1;
}

void plot_tick_label(double v, double step, char *buf, size_t n) {
  if (!(step >= 1e-4 && step < 1e7)) {
    snprintf(buf, n, "%g", v);
    return;
  }
  int dec = (int)-floor(log10(step) + 1e-9);
  snprintf(buf, n, "%.*f", dec > 0 ? dec : 0, v);
}

/* ---- the plot ---- */

typedef struct Frame {
  double xlo, xhi, ylo, yhi; /* data range */
  double px0, px1, py0, py1; /* plot area in pixels (py0 is the top) */
} Frame;

static double px(const Frame *f, double x) {
  return f->px0 + (x - f->xlo) / (f->xhi - f->xlo) * (f->px1 - f->px0);
}
static double py(const Frame *f, double y) {
  return f->py1 - (y - f->ylo) / (f->yhi - f->ylo) * (f->py1 - f->py0);
}

static int finite_pt(const PlotSeries *s, long i) {
  return isfinite(s->x[i]) && isfinite(s->y[i]);
}

/* An empty range around v widened to something a reader can place v in. */
static void widen(double *lo, double *hi) {
  if (*hi > *lo) return;
  double pad = *lo != 0 ? fabs(*lo) * 0.1 : 1;
  *lo -= pad;
  *hi += pad;
}

static void data_range(const Plot *p, Frame *f) {
  f->xlo = f->ylo = INFINITY;
  f->xhi = f->yhi = -INFINITY;
  for (int k = 0; k < p->nseries; k++)
    for (long i = 0; i < p->series[k].n; i++) {
      const PlotSeries *s = &p->series[k];
      if (!finite_pt(s, i)) continue;
      f->xlo = fmin(f->xlo, s->x[i]);
      f->xhi = fmax(f->xhi, s->x[i]);
      f->ylo = fmin(f->ylo, s->y[i]);
      f->yhi = fmax(f->yhi, s->y[i]);
    }
  if (f->xlo > f->xhi) f->xlo = 0, f->xhi = 1; /* no point at all */
  if (f->ylo > f->yhi) f->ylo = 0, f->yhi = 1;
  widen(&f->xlo, &f->xhi);
  widen(&f->ylo, &f->yhi);
  double pad = 0.05 * (f->yhi - f->ylo); /* the curve does not touch the frame */
  f->ylo -= pad;
  f->yhi += pad;
}

static void axes(Buf *b, const Plot *p, const Frame *f) {
  double t[MAX_TICKS + 1], step;
  char lab[64];
  /* as many ticks as fit: about 60 pixels for an x label, 32 between y labels */
  int nx = (int)((f->px1 - f->px0) / 60), ny = (int)((f->py1 - f->py0) / 32);
  int n = plot_ticks(f->xlo, f->xhi, nx < 3 ? 3 : nx > MAX_TICKS ? MAX_TICKS : nx, t, &step);
  for (int i = 0; i < n; i++) {
    double x = px(f, t[i]);
    plot_tick_label(t[i], step, lab, sizeof lab);
    bprintf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, f->py0, x, f->py1);
    bprintf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, f->py1 + 16, lab);
  }
  n = plot_ticks(f->ylo, f->yhi, ny < 3 ? 3 : ny > MAX_TICKS ? MAX_TICKS : ny, t, &step);
  for (int i = 0; i < n; i++) {
    double y = py(f, t[i]);
    plot_tick_label(t[i], step, lab, sizeof lab);
    bprintf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->px0, y, f->px1, y);
    bprintf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", f->px0 - 6, y + 4, lab);
  }
  bprintf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", f->px0, f->py0,
          f->px1 - f->px0, f->py1 - f->py0);
  double cx = (f->px0 + f->px1) / 2, cy = (f->py0 + f->py1) / 2;
  if (p->title) {
    bprintf(b, "<text class=\"title\" x=\"%.1f\" y=\"26\" text-anchor=\"middle\">", cx);
    bescape(b, p->title);
    bprintf(b, "</text>\n");
  }
  if (p->xlabel) {
    bprintf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", cx, f->py1 + 40);
    bescape(b, p->xlabel);
    bprintf(b, "</text>\n");
  }
  if (p->ylabel) {
    bprintf(b, "<text class=\"label\" x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">",
            cy, cy);
    bescape(b, p->ylabel);
    bprintf(b, "</text>\n");
  }
}

/* Thinning state: the points of one pixel column, emitted when the column changes. */
typedef struct Column {
  long col;                 /* pixel column; -1 before the first point */
  long first, lo, hi, last; /* indices of its first, lowest, highest, last points */
} Column;

static void flush_column(Buf *b, const Frame *f, const PlotSeries *s, const Column *c) {
  long idx[4] = {c->first, c->lo < c->hi ? c->lo : c->hi, c->lo < c->hi ? c->hi : c->lo, c->last};
  for (int k = 0; k < 4; k++)
    if (k == 0 || idx[k] != idx[k - 1]) bprintf(b, "%.1f,%.1f ", px(f, s->x[idx[k]]), py(f, s->y[idx[k]]));
}

static void series(Buf *b, const Frame *f, const PlotSeries *s, const char *color) {
  long n = 0, one = -1;
  for (long i = 0; i < s->n; i++)
    if (finite_pt(s, i)) n++, one = i;
  if (n == 0) return;
  if (n == 1) {
    bprintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", px(f, s->x[one]), py(f, s->y[one]), color);
    return;
  }
  bprintf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"", color);
  int thin = n > 2 * (long)(f->px1 - f->px0);
  Column c = {.col = -1};
  for (long i = 0; i < s->n; i++) {
    if (!finite_pt(s, i)) continue;
    if (!thin) {
      bprintf(b, "%.1f,%.1f ", px(f, s->x[i]), py(f, s->y[i]));
      continue;
    }
    long col = (long)floor(px(f, s->x[i]));
    if (c.col >= 0 && col != c.col) flush_column(b, f, s, &c);
    if (c.col < 0 || col != c.col) c = (Column){col, i, i, i, i};
    if (s->y[i] < s->y[c.lo]) c.lo = i;
    if (s->y[i] > s->y[c.hi]) c.hi = i;
    c.last = i;
  }
  if (thin) flush_column(b, f, s, &c);
  if (b->n && b->s[b->n - 1] == ' ') b->n--;
  bprintf(b, "\"/>\n");
}

static void legend(Buf *b, const Plot *p, const Frame *f) {
  if (p->nseries < 1) return;
  size_t longest = 1;
  for (int k = 0; k < p->nseries; k++)
    if (p->series[k].name && strlen(p->series[k].name) > longest) longest = strlen(p->series[k].name);
  double w = 36 + 7.0 * (double)longest, h = 8 + 18.0 * p->nseries, x = f->px1 - w - 8, y = f->py0 + 8;
  bprintf(b, "<rect class=\"legend\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", x, y, w, h);
  for (int k = 0; k < p->nseries; k++) {
    double ly = y + 4 + 18.0 * k + 9;
    const char *color = colors[k % 8];
    bprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x + 6, ly,
            x + 26, ly, color);
    bprintf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">", x + 32, ly + 4);
    bescape(b, p->series[k].name ? p->series[k].name : "");
    bprintf(b, "</text>\n");
  }
}

char *plot_svg_text(const Plot *p) {
  int w = p->width > 0 ? p->width : 720, h = p->height > 0 ? p->height : 440;
  if (w < ML + MR + 40) w = ML + MR + 40;
  if (h < MT + MB + 40) h = MT + MB + 40;
  Frame f = {.px0 = ML, .px1 = w - MR, .py0 = MT, .py1 = h - MB};
  data_range(p, &f);
  Buf b = {.s = malloc(8192), .cap = 8192};
  b.oom = !b.s;
  bprintf(&b,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\">\n"
          "<style>.grid{stroke:#e4e4e4;stroke-width:1} .frame{fill:none;stroke:#444;stroke-width:1} "
          ".tick{font-size:11px;fill:#333} .label{font-size:13px;fill:#222} "
          ".title{font-size:15px;font-weight:bold;fill:#111} "
          ".legend{fill:#fff;fill-opacity:0.85;stroke:#bbb}</style>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
          w, h, w, h);
  axes(&b, p, &f);
  for (int k = 0; k < p->nseries; k++) series(&b, &f, &p->series[k], colors[k % 8]);
  legend(&b, p, &f);
  bprintf(&b, "</svg>\n");
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

int plot_svg(const char *path, const Plot *p, Diag *d) {
  char *text = plot_svg_text(p);
  if (!text) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: out of memory");
    return -1;
  }
  AFile af;
  if (afile_open(&af, path, d)) {
    free(text);
    return -1;
  }
  afile_write(&af, text, strlen(text));
  free(text);
  return afile_commit(&af, d);
}
