/* plot.h — line plots as standalone SVG files (the training curve, loss.svg): one or
 * more series of (x, y) points with a title, axis labels, grid lines at round numbers
 * (1, 2 or 5 times a power of ten) and a legend. The file opens in any browser.
 *
 * Points with a non-finite x or y are skipped (the line joins their neighbours, so an
 * evaluation logged every few steps is still one line); a series with one point is a
 * dot; an empty range (one point, equal values) is widened around the value. A series
 * of many more points than pixels is thinned to each pixel column's first, lowest,
 * highest and last points, which keeps its envelope. Files are written atomically
 * (afile.h). */
#ifndef MIMIC_PLOT_H
#define MIMIC_PLOT_H
#include <stddef.h>

#include "support/diag.h"

typedef struct PlotSeries {
  const char *name;     /* legend text */
  const double *x, *y;  /* n points */
  long n;
} PlotSeries;

typedef struct Plot {
  const char *title, *xlabel, *ylabel; /* NULL: none */
  const PlotSeries *series;
  int nseries;
  int width, height;    /* pixels; 0: 720 x 440 */
} Plot;

/* Write the plot to `path` atomically. 0, or -1 after reporting. */
int plot_svg(const char *path, const Plot *p, Diag *d);
/* The SVG text, malloc'd (NULL when out of memory). */
char *plot_svg_text(const Plot *p);

/* Round tick values inside [lo, hi]: a step of 1, 2 or 5 x 10^k giving at most `max`
 * ticks (max >= 2). Writes them to ticks[] and the step to *step; returns the count. */
int plot_ticks(double lo, double hi, int max, double *ticks, double *step);
/* A tick's label: as many decimals as the step needs ("0.2", "0.05", "1500"), and %g
 * for very large or small steps. */
void plot_tick_label(double v, double step, char *buf, size_t n);

#endif
