/* csvlog.h — the training log as CSV: a header row of column names, then one row of
 * numbers per call (printed with %.9g, so a float32 value survives the round trip; NaN
 * is an empty cell, as for a value not measured at that step), flushed at once so that a
 * crash loses at most the row being written.
 *
 * A resumed run appends to the existing log: its header must be this run's columns
 * (else an error says what differs), a partial last line left by a crash is cut off,
 * and csv_drop_after removes the rows a crashed run wrote past its last checkpoint.
 * csv_read loads a log back (to plot a resumed run's whole curve). */
#ifndef MIMIC_CSVLOG_H
#define MIMIC_CSVLOG_H
#include <stdio.h>

#include "support/diag.h"

typedef struct CsvLog {
  FILE *f;
  char *path;   /* malloc'd copy */
  int ncols;
} CsvLog;

/* Open `path` with columns cols[0..ncols): a new file (truncating any old one), or with
 * append set the existing log (created when absent or empty). 0, or -1 after reporting
 * (`path: error: ...`, or `path:1:1: error: ...` for a header that differs). */
int csv_open(CsvLog *l, const char *path, const char *const *cols, int ncols, int append, Diag *d);
/* One row of ncols values; flushed. 0, or -1 after reporting a write error. */
int csv_row(CsvLog *l, const double *vals, Diag *d);
/* Close (a NULL or closed log is fine). */
void csv_close(CsvLog *l);

/* Rewrite `path` atomically without the rows whose first column is greater than x (nor
 * a partial last line). 0 when done or the file does not exist; -1 after reporting. */
int csv_drop_after(const char *path, double x, Diag *d);

/* A log read back: column names and the values, row-major (rows x ncols, NaN for an
 * empty or unreadable cell). Free with csv_table_free. */
typedef struct CsvTable {
  char **cols;
  int ncols;
  double *vals;
  long rows;
} CsvTable;
int csv_read(const char *path, CsvTable *t, Diag *d);
void csv_table_free(CsvTable *t);
/* Index of column `name`, or -1. */
int csv_col(const CsvTable *t, const char *name);

#endif
