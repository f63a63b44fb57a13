/* init.h — initial values for a graph's weights, from each weight node's `init` and
 * `init_args` attributes (canonical forms in init.c). Values depend only on the seed and
 * the weight's name: each weight draws from its own stream, so adding or reordering
 * weights never changes the others. */
#ifndef MIMIC_INIT_H
#define MIMIC_INIT_H
#include <stdint.h>

#include "ir/ir.h"
#include "tensor.h"

/* Whether `kind` is a known initializer taking `nargs` canonical arguments; on failure
 * writes a reason ("unknown initializer 'foo'", "normal takes 2 arguments, got 3"). */
int init_check(const char *kind, int nargs, char *why, size_t whylen);
/* One tensor per weight node of g, named like the weight. Returns 0 or -1 (reported). */
int init_weights(const Graph *g, uint64_t seed, TensorSet *out, Diag *d);

#endif
