/* check.h — the tiny test harness: CHECK macros that count failures and keep going,
 * and RUN(fn) to name each test function. A test program exits 1 on any failure. */
#ifndef MIMIC_CHECK_H
#define MIMIC_CHECK_H
#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(c)                                                                     \
  do {                                                                               \
    if (!(c)) {                                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);          \
      check_failures++;                                                              \
    }                                                                                \
  } while (0)

#define CHECK_INT(a, b)                                                              \
  do {                                                                               \
    long long a_ = (long long)(a), b_ = (long long)(b);                              \
    if (a_ != b_) {                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__,    \
              __LINE__, #a, #b, a_, b_);                                             \
      check_failures++;                                                              \
    }                                                                                \
  } while (0)

/* |a-b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double a_ = (double)(a), b_ = (double)(b), m_ = fabs(b_) > 1 ? fabs(b_) : 1;     \
    if (!(fabs(a_ - b_) <= (tol) * m_)) {                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s ~ %s (%.9g vs %.9g)\n", __FILE__,     \
              __LINE__, #a, #b, a_, b_);                                             \
      check_failures++;                                                              \
    }                                                                                \
  } while (0)

#define CHECK_STR(a, b)                                                              \
  do {                                                                               \
    const char *a_ = (a), *b_ = (b);                                                 \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  got:  %s\n  want: %s\n",     \
              __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
      check_failures++;                                                              \
    }                                                                                \
  } while (0)

#define RUN(fn)                                                                      \
  do {                                                                               \
    int before_ = check_failures;                                                    \
    fn();                                                                            \
    fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn);    \
  } while (0)

#define CHECK_DONE() (check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)

#endif
