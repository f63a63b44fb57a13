/* autodiff.h — reverse-mode automatic differentiation over the primitive IR.
 *
 * The backward pass is more IR: ad_backward appends to the graph the nodes that compute
 * the gradients, so the same passes, interpreter and code generator handle forward and
 * backward alike. Gradients flow only through floating-point nodes that lie on a path
 * from one of the wrt nodes to the loss; weights not in wrt (a frozen tokenizer) get
 * none, and no node is made for them. Rules: passes/autodiff.c (one per primitive;
 * comparisons, not, one_hot, floor, casts to or from integers and random pass no
 * gradient). */
#ifndef MIMIC_AUTODIFF_H
#define MIMIC_AUTODIFF_H
#include "ir/ir.h"

/* Append to g (primitive ops only) the derivative of node `loss` with respect to each
 * node wrt[i]; grads[i] receives the id of a node holding it, with wrt[i]'s dtype and
 * shape (a zero constant when loss does not depend on wrt[i]). `seed` is the gradient
 * of the loss itself: -1 for 1 (then loss must be a scalar), else a node of loss's dtype
 * and shape. The loss and every wrt node must be f32 or f64. 0, or -1 after reporting. */
int ad_backward(Graph *g, int loss, int seed, const int *wrt, int nwrt, int *grads, Diag *d);

/* For `mimic grad`: a copy of g (already decomposed) whose outputs are the output named
 * `loss` (a scalar) and, for every weight, "grad.<weight name>". NULL after reporting
 * (an unknown output, a non-scalar or non-float loss). */
Graph *ad_grad_graph(const Graph *g, const char *loss, Diag *d);

#endif
