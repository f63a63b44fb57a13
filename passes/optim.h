/* optim.h — optimizers as graph: the update of every trained weight, appended to a graph
 * that already computes the weights' gradients, so that forward + loss + backward +
 * update compile as one program (passes/trainstep.c puts them together).
 *
 * What optim_build adds to g, for weights w[i] (weight nodes) with gradients grad[i]
 * (nodes of the same dtype and shape):
 *   weights  optimizer state, one per weight and kind, zeros at the start:
 *              AdamW  "opt.m.<name>", "opt.v.<name>"   (first and second moments)
 *              SGD    "opt.mom.<name>"                  (momentum buffer)
 *            (state has its weight's dtype and shape)
 *   inputs   runtime scalars (f32[]), so that schedules never recompile:
 *              "opt.lr"    the scheduled base learning rate
 *              "opt.wd"    the scheduled weight decay
 *              "opt.step"  the step number t, 1 for the first step (AdamW bias correction;
 *                          present but unused with SGD)
 *   outputs  "new.<name>" for every weight and every state tensor: its value after the
 *            step; "grad_norm": the global L2 norm of the gradients before clipping
 *            (f64 when any weight is f64, else f32).
 *
 * The update, per weight, with lr_i = opt.lr * scale_i (layer-wise decay, below) and
 * wd_i = opt.wd, or 0 for a weight excluded from decay. Element-wise math is in the
 * weight's dtype; the scalars (lr_i, 1 - lr_i*wd_i, bias corrections, clipping factor)
 * are computed in f64 and rounded once, as torch does in Python floats:
 *   clipping   with clip > 0, every gradient is multiplied by
 *              min(1, clip / (grad_norm + 1e-6))            (torch.nn.utils.clip_grad_norm_)
 *   AdamW      p <- p - lr_i * wd_i * p                     (decoupled, as torch.optim.AdamW)
 *              m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *              p <- p - lr_i * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   SGD        d = g + wd_i * p (coupled, as torch.optim.SGD); mom <- momentum * mom + d;
 *              p <- p - lr_i * mom
 *
 * Weight-decay exclusions, as the BEiT reference (optim_factory.get_parameter_groups):
 * every weight of rank <= 1 (biases, norm weights, gammas, q_bias/v_bias), every name
 * ending in ".bias", and every name listed in no_decay (matched whole, or as the last
 * dotted component: "pos_embed" matches "pos_embed" and "encoder.pos_embed"; an entry
 * with dots matches the same way, as a whole dotted suffix).
 *
 * Layer-wise learning-rate decay (BEiT's LayerDecayValueAssigner, get_num_layer_for_vit),
 * when layer_decay != 1 and num_layers = L > 0: a weight's layer id is 0 for cls_token,
 * mask_token, pos_embed and patch_embed.*; k + 1 for blocks.k.*; L + 1 for everything
 * else; its scale is layer_decay^(L + 1 - id). A weight blocks.k.* with k >= L is an
 * error (the reference would index past its table). */
#ifndef MIMIC_OPTIM_H
#define MIMIC_OPTIM_H
#include "ir/ir.h"

typedef enum OptKind { OPT_ADAMW, OPT_SGD } OptKind;

#define OPT_MAX_NO_DECAY 16
typedef struct OptSpec {
  OptKind kind;
  double beta1, beta2, eps;    /* AdamW (0.9, 0.999, 1e-8) */
  double momentum;             /* SGD (0.9) */
  double clip;                 /* global-norm clipping threshold; 0 = off */
  double layer_decay;          /* 1 = off */
  int num_layers;              /* L for layer ids (the ViT's depth) */
  const char *no_decay[OPT_MAX_NO_DECAY]; /* names excluded from weight decay */
  int nno_decay;
} OptSpec;

/* AdamW with BEiT's defaults: betas (0.9, 0.999), eps 1e-8, no clipping, no layer
 * decay, no_decay = {cls_token, pos_embed}. */
OptSpec optim_defaults(void);

/* The weight-decay and learning-rate scale optim_build gives the weight `name` of rank
 * `rank` (exposed for tests and for `mimic train` to print the parameter groups). */
int optim_decays(const OptSpec *s, const char *name, int rank);
double optim_lr_scale(const OptSpec *s, const char *name);

/* Append the update described above to g. w[i] are weight nodes of g, grad[i] their
 * gradients. Returns 0, or -1 after reporting (a gradient whose dtype or shape differs
 * from its weight's, a non-float weight or a node that is not a weight, a weight listed
 * twice, a block index >= num_layers, a bad hyperparameter, a state, input or output
 * name already taken — so building the optimizer twice on one graph is an error). These
 * are found before anything is added: on such an error g is unchanged. */
int optim_build(Graph *g, const OptSpec *s, const int *w, const int *grad, int n, Diag *d);

#endif
