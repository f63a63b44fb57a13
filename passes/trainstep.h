/* trainstep.h — the training step as one graph: the model's forward pass and loss, the
 * backward pass (autodiff.h) and the optimizer update (optim.h), built once and compiled
 * like any other graph, so the JIT, the interpreter and an AOT object all run the whole
 * step. Learning rate, weight decay and step number are runtime inputs (optim.h), as are
 * any schedule-driven inputs of the model itself (a Gumbel temperature), so a schedule
 * never recompiles.
 *
 * The step graph's interface:
 *   inputs   the model's inputs (those the loss and the kept outputs need), "opt.lr",
 *            "opt.wd", "opt.step"
 *   weights  the model's weights (those the loss needs) and the optimizer state
 *   outputs  the loss, the kept outputs, "grad_norm", and "new.<name>" for every trained
 *            weight and state tensor: feed them back as the next step's weights. */
#ifndef MIMIC_TRAINSTEP_H
#define MIMIC_TRAINSTEP_H
#include "ir/ir.h"
#include "optim.h"

#define TRAIN_MAX_NAMES 16
typedef struct TrainSpec {
  const char *loss;                        /* the model output to minimise (a scalar) */
  const char *keep[TRAIN_MAX_NAMES];       /* other model outputs to compute, e.g. logits */
  int nkeep;
  const char *frozen[TRAIN_MAX_NAMES];     /* weight-name prefixes that get no gradient and no update */
  int nfrozen;
  OptSpec opt;
  int no_remat;                            /* keep every forward value the backward pass reads
                                              (else pass_remat recomputes the cheap ones) */
} TrainSpec;

/* Whether `name` is frozen by s (a prefix match that ends at a '.' or the name's end). */
int train_is_frozen(const TrainSpec *s, const char *name);

/* The step graph of `model` (as the front end makes it: high-level ops allowed).
 * NULL after reporting (an unknown output, a loss that is not a scalar float, nothing
 * left to train). */
Graph *train_step(const Graph *model, const TrainSpec *s, Diag *d);

#endif
