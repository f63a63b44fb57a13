/* recipe.c — training recipes from YAML (support/ytree.h) into a Recipe; see recipe.h
 * and docs/training.md. Each section is a table of known keys; every value is read by
 * one of a few typed getters that report `what must be ..., found ...` at the value. */
#include "recipe.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "support/ytree.h"

#define N(a) (int)(sizeof a / sizeof a[0])

static const char *const sched_kinds[] = {"constant", "linear", "cosine"}; /* in SchedKind order */

typedef struct Rp {
  Arena *a;
  Diag *d;
  Recipe *r;
} Rp;

/* A mapping of the recipe: the top level or one section. */
typedef struct Sec {
  const YNode *m;   /* the mapping; NULL when the section is absent */
  const char *name; /* "optimizer", "data.augment"; NULL for the top level */
  SrcLoc at;        /* its key (the top level: the document's start) */
} Sec;

static int err(Rp *p, SrcLoc at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(Rp *p, SrcLoc at, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(p->d, at, "%s", msg);
  return -1;
}

/* How a wrong value is shown: a number as written, other text quoted, else its kind. */
static const char *found(Rp *p, const YNode *n) {
  double v;
  if (!ytree_number(n, &v)) return n->str;
  if (n && n->kind == YN_SCALAR && !ytree_is_null(n)) return arena_printf(p->a, "'%s'", n->str);
  return ytree_kind_name(n);
}

static const char *qual(Rp *p, const Sec *s, const char *key) {
  return s->name ? arena_printf(p->a, "%s.%s", s->name, key) : key;
}

static SrcLoc key_loc(const YNode *m, const char *key) {
  for (int i = 0; m && i < m->n; i++)
    if (!strcmp(m->keys[i]->str, key)) return ytree_loc(m->keys[i]);
  return m ? ytree_loc(m) : SRCLOC_NONE;
}

/* Every key of s is one of keys[]. */
static int known_keys(Rp *p, const Sec *s, const char *const *keys, int n) {
  for (int i = 0; s->m && i < s->m->n; i++) {
    const YNode *k = s->m->keys[i];
    int ok = 0;
    for (int j = 0; j < n; j++) ok |= !strcmp(k->str, keys[j]);
    if (ok) continue;
    const char *where = s->name ? s->name : "the recipe", *hint = ytree_suggest(k->str, keys, n);
    if (hint) return err(p, ytree_loc(k), "unknown key '%s' in %s (did you mean '%s'?)", k->str, where, hint);
    char list[400];
    size_t at = 0;
    for (int j = 0; j < n && at < sizeof list; j++)
      at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", j ? ", " : "", keys[j]);
    return err(p, ytree_loc(k), "unknown key '%s' in %s (expected %s)", k->str, where, list);
  }
  return 0;
}

/* The section `key` of parent: *out->m NULL when absent; `key: ~` is an empty one. */
static int section(Rp *p, const Sec *parent, const char *key, const char *const *keys, int n, Sec *out) {
  const YNode *v = ytree_map_get(parent->m, key);
  *out = (Sec){NULL, qual(p, parent, key), key_loc(parent->m, key)};
  if (!v) return 0;
  if (ytree_is_null(v)) {
    YNode *empty = arena_alloc(p->a, sizeof *empty);
    *empty = (YNode){.kind = YN_MAP, .file = v->file, .line = v->line, .col = v->col};
    v = empty;
  }
  if (v->kind != YN_MAP) return err(p, ytree_loc(v), "%s must be a mapping, found %s", out->name, found(p, v));
  out->m = v;
  return known_keys(p, out, keys, n);
}

static int missing(Rp *p, const Sec *s, const char *key) {
  return err(p, s->at, "missing key '%s' in %s", key, s->name ? s->name : "the recipe");
}

/* ---- typed getters: an absent key leaves *out (the default) as it is ---- */

/* A number >= lo (> lo when open; any number when lo is -INFINITY). */
static int num(Rp *p, const Sec *s, const char *key, double lo, int open, double *out) {
  const YNode *v = ytree_map_get(s->m, key);
  double x;
  if (!v) return 0;
  if (ytree_number(v, &x) || x < lo || (open && x == lo)) {
    char range[40] = "";
    if (!isinf(lo)) snprintf(range, sizeof range, " %s %g", open ? ">" : ">=", lo);
    return err(p, ytree_loc(v), "%s must be a number%s, found %s", qual(p, s, key), range, found(p, v));
  }
  *out = x;
  return 0;
}

/* An integer >= lo. */
static int integer(Rp *p, const Sec *s, const char *key, int64_t lo, int64_t *out) {
  const YNode *v = ytree_map_get(s->m, key);
  int64_t x;
  if (!v) return 0;
  if (ytree_int(v, &x) || x < lo) {
    if (lo == 1) return err(p, ytree_loc(v), "%s must be a positive integer, found %s", qual(p, s, key), found(p, v));
    return err(p, ytree_loc(v), "%s must be an integer >= %lld, found %s", qual(p, s, key), (long long)lo, found(p, v));
  }
  *out = x;
  return 0;
}

static int boolean(Rp *p, const Sec *s, const char *key, int *out) {
  const YNode *v = ytree_map_get(s->m, key);
  if (v && ytree_bool(v, out))
    return err(p, ytree_loc(v), "%s must be true or false, found %s", qual(p, s, key), found(p, v));
  return 0;
}

static int is_name(const YNode *v) {
  return v && v->kind == YN_SCALAR && !ytree_is_null(v);
}

static int name(Rp *p, const Sec *s, const char *key, const char **out) {
  const YNode *v = ytree_map_get(s->m, key);
  if (!v) return 0;
  if (!is_name(v)) return err(p, ytree_loc(v), "%s must be a name, found %s", qual(p, s, key), found(p, v));
  *out = v->str;
  return 0;
}

/* A name that must be one of choices[] (`what` for the message: "optimizer kind"). */
static int choice(Rp *p, const Sec *s, const char *key, const char *what, const char *const *choices, int n, int *out) {
  const char *v = NULL;
  if (!ytree_map_get(s->m, key)) return 0;
  if (name(p, s, key, &v)) return -1;
  for (int i = 0; i < n; i++)
    if (!strcmp(v, choices[i])) return *out = i, 0;
  SrcLoc at = ytree_loc(ytree_map_get(s->m, key));
  const char *hint = ytree_suggest(v, choices, n);
  if (hint) return err(p, at, "unknown %s '%s' (did you mean '%s'?)", what, v, hint);
  char list[200];
  size_t k = 0;
  for (int i = 0; i < n && k < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
  return err(p, at, "unknown %s '%s' (expected %s)", what, v, list);
}

/* `path` relative to the recipe's folder. */
static const char *resolve(Rp *p, const char *path) {
  const char *dir = p->r->dir;
  if (path[0] == '/' || !strcmp(dir, ".")) return path;
  return arena_printf(p->a, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
}

/* A path (resolved); with `readable` the file must be readable. */
static int path(Rp *p, const Sec *s, const char *key, int readable, const char **out) {
  const char *v = NULL;
  if (!ytree_map_get(s->m, key)) return 0;
  if (name(p, s, key, &v)) return -1;
  *out = resolve(p, v);
  if (readable && access(*out, R_OK))
    return err(p, ytree_loc(ytree_map_get(s->m, key)), "cannot read %s '%s': %s", qual(p, s, key), *out,
               strerror(errno));
  return 0;
}

/* A sequence of at most max names. */
static int names(Rp *p, const Sec *s, const char *key, const char **out, int *n, int max) {
  const YNode *v = ytree_map_get(s->m, key);
  if (!v) return 0;
  if (v->kind != YN_SEQ)
    return err(p, ytree_loc(v), "%s must be a list of names, found %s", qual(p, s, key), found(p, v));
  if (v->n > max) return err(p, ytree_loc(v->items[max]), "%s has more than %d names", qual(p, s, key), max);
  for (int i = 0; i < v->n; i++) {
    if (!is_name(v->items[i]))
      return err(p, ytree_loc(v->items[i]), "%s must be a list of names, found %s in it", qual(p, s, key),
                 found(p, v->items[i]));
    out[i] = v->items[i]->str;
  }
  *n = v->n;
  return 0;
}

/* At most one of keys a and b; the error is at the later one. */
static int one_of(Rp *p, const Sec *s, const char *a, const char *b) {
  if (!ytree_map_get(s->m, a) || !ytree_map_get(s->m, b)) return 0;
  SrcLoc la = key_loc(s->m, a), lb = key_loc(s->m, b);
  int later_b = lb.line > la.line || (lb.line == la.line && lb.col > la.col);
  return err(p, later_b ? lb : la, "give %s or %s, not both", qual(p, s, a), qual(p, s, b));
}

/* ---- sections ---- */

/* A mapping of parameter overrides (`what`: "params", "tokenizer.params") into *out. */
static int param_map(Rp *p, const YNode *m, const char *what, FeDefine **out, int *n) {
  if (!m || ytree_is_null(m)) return 0;
  if (m->kind != YN_MAP)
    return err(p, ytree_loc(m), "%s must be a mapping of names to numbers, found %s", what, found(p, m));
  *out = arena_alloc(p->a, sizeof(FeDefine) * (size_t)(m->n + 1));
  for (int i = 0; i < m->n; i++) {
    const YNode *v = m->items[i];
    if (!is_name(v))
      return err(p, ytree_loc(v), "%s.%s must be a number or an expression, found %s", what, m->keys[i]->str,
                 found(p, v));
    (*out)[(*n)++] = (FeDefine){m->keys[i]->str, v->str, ytree_loc(v)};
  }
  return 0;
}

static int parse_params(Rp *p, const Sec *top) {
  return param_map(p, ytree_map_get(top->m, "params"), "params", &p->r->params, &p->r->nparams);
}

static int parse_data(Rp *p, const Sec *top) {
  static const char *const keys[] = {"dataset",  "split",   "count",     "val_count",
                                     "val_split", "shuffle", "normalize", "augment"};
  static const char *const aug_keys[] = {"crop_pad", "flip"};
  static const char *const datasets[] = {"fashion-mnist", "fashion-seg"}, *const splits[] = {"train", "test"};
  static const int64_t sizes[] = {60000, 10000}; /* Fashion-MNIST's splits */
  Recipe *r = p->r;
  Sec s, aug;
  int ds = 0, split = 0, vsplit = -1;
  if (section(p, top, "data", keys, N(keys), &s)) return -1;
  if (!s.m) return missing(p, top, "data");
  if (!ytree_map_get(s.m, "dataset")) return missing(p, &s, "dataset");
  if (choice(p, &s, "dataset", "dataset", datasets, N(datasets), &ds) ||
      choice(p, &s, "split", "split", splits, N(splits), &split) || integer(p, &s, "count", 0, &r->data.count) ||
      integer(p, &s, "val_count", 0, &r->data.val_count))
    return -1;
  r->data.shuffle = r->data.normalize = 1;
  if (boolean(p, &s, "shuffle", &r->data.shuffle) || boolean(p, &s, "normalize", &r->data.normalize)) return -1;
  r->data.dataset = datasets[ds];
  r->data.kind = (RecipeDataset)ds;
  r->data.split = splits[split];
  if (choice(p, &s, "val_split", "split", splits, N(splits), &vsplit)) return -1;
  r->data.val_split = vsplit < 0 || vsplit == split ? NULL : splits[vsplit];
  if (r->data.val_split && (r->data.count > sizes[split] || r->data.val_count > sizes[vsplit])) {
    int over = r->data.count > sizes[split];
    return err(p, ytree_loc(ytree_map_get(s.m, over ? "count" : "val_count")),
               "data.%s is %lld, more than the %lld images of %s's %s split", over ? "count" : "val_count",
               (long long)(over ? r->data.count : r->data.val_count), (long long)sizes[over ? split : vsplit],
               r->data.dataset, splits[over ? split : vsplit]);
  }
  if (!r->data.val_split && r->data.count + r->data.val_count > sizes[split]) {
    const char *k = ytree_map_get(s.m, "val_count") ? "val_count" : "count";
    return err(p, ytree_loc(ytree_map_get(s.m, k)),
               "data.count + data.val_count is %lld, more than the %lld images of %s's %s split",
               (long long)(r->data.count + r->data.val_count), (long long)sizes[split], r->data.dataset, r->data.split);
  }
  int64_t pad = 0;
  if (section(p, &s, "augment", aug_keys, N(aug_keys), &aug) || integer(p, &aug, "crop_pad", 0, &pad) ||
      boolean(p, &aug, "flip", &r->data.flip))
    return -1;
  if (pad > 64) return err(p, ytree_loc(ytree_map_get(aug.m, "crop_pad")), "data.augment.crop_pad must be at most 64");
  if (pad && r->data.kind == RECIPE_FASHION_SEG)
    return err(p, ytree_loc(ytree_map_get(aug.m, "crop_pad")),
               "data.augment.crop_pad applies to fashion-mnist only (fashion-seg canvases are flipped, not cropped)");
  r->data.crop_pad = (int)pad;
  return 0;
}

static int parse_bind(Rp *p, const Sec *top) {
  static const char *const fields[] = {"images", "labels"};
  const YNode *m = ytree_map_get(top->m, "bind");
  if (!m || ytree_is_null(m)) return 0;
  if (m->kind != YN_MAP)
    return err(p, ytree_loc(m), "bind must be a mapping of model inputs to images or labels, found %s", found(p, m));
  if (m->n > RECIPE_MAX_NAMES)
    return err(p, ytree_loc(m->keys[RECIPE_MAX_NAMES]), "bind has more than %d inputs", RECIPE_MAX_NAMES);
  Sec s = {m, "bind", key_loc(top->m, "bind")};
  for (int i = 0; i < m->n; i++) {
    int f = 0;
    if (choice(p, &s, m->keys[i]->str, "data field", fields, N(fields), &f)) return -1;
    p->r->bind[p->r->nbind++] = (RecipeBind){m->keys[i]->str, (RecipeField)f, ytree_loc(m->keys[i])};
  }
  return 0;
}

static int parse_optimizer(Rp *p, const Sec *top) {
  static const char *const keys[] = {"kind",         "lr",        "min_lr",      "schedule",       "warmup_epochs",
                                     "warmup_steps", "betas",     "eps",         "weight_decay",   "weight_decay_end",
                                     "momentum",     "clip_grad", "layer_decay", "no_weight_decay"};
  static const char *const kinds[] = {"adamw", "sgd"};
  RecipeOptim *o = &p->r->opt;
  Sec s;
  int kind = 0, sk = SCHED_COSINE;
  if (section(p, top, "optimizer", keys, N(keys), &s)) return -1;
  if (!s.m) return missing(p, top, "optimizer");
  if (choice(p, &s, "kind", "optimizer kind", kinds, N(kinds), &kind)) return -1;
  o->spec.kind = kind ? OPT_SGD : OPT_ADAMW;
  static const char *const adamw_only[] = {"betas", "eps"};
  for (int i = 0; i < 2; i++)
    if (kind == 1 && ytree_map_get(s.m, adamw_only[i]))
      return err(p, key_loc(s.m, adamw_only[i]), "optimizer.%s applies to adamw only", adamw_only[i]);
  if (kind == 0 && ytree_map_get(s.m, "momentum"))
    return err(p, key_loc(s.m, "momentum"), "optimizer.momentum applies to sgd only");
  if (!ytree_map_get(s.m, "lr")) return missing(p, &s, "lr");
  if (num(p, &s, "lr", 0, 0, &o->lr) || num(p, &s, "min_lr", 0, 0, &o->min_lr) ||
      choice(p, &s, "schedule", "schedule kind", sched_kinds, N(sched_kinds), &sk) ||
      one_of(p, &s, "warmup_epochs", "warmup_steps") || integer(p, &s, "warmup_epochs", 0, &o->warmup_epochs) ||
      integer(p, &s, "warmup_steps", 0, &o->warmup_steps) || num(p, &s, "eps", 0, 1, &o->spec.eps) ||
      num(p, &s, "weight_decay", 0, 0, &o->weight_decay))
    return -1;
  o->schedule = (SchedKind)sk;
  o->weight_decay_end = o->weight_decay;
  if (num(p, &s, "weight_decay_end", 0, 0, &o->weight_decay_end) || num(p, &s, "momentum", 0, 0, &o->spec.momentum) ||
      num(p, &s, "clip_grad", 0, 0, &o->spec.clip) || num(p, &s, "layer_decay", 0, 1, &o->spec.layer_decay))
    return -1;
  if (o->spec.momentum >= 1)
    return err(p, ytree_loc(ytree_map_get(s.m, "momentum")), "optimizer.momentum must be below 1");
  if (o->spec.layer_decay > 1)
    return err(p, ytree_loc(ytree_map_get(s.m, "layer_decay")), "optimizer.layer_decay must be at most 1 (1: off)");
  const YNode *b = ytree_map_get(s.m, "betas");
  if (b) {
    double v[2];
    if (b->kind != YN_SEQ || b->n != 2 || ytree_number(b->items[0], &v[0]) || ytree_number(b->items[1], &v[1]) ||
        v[0] < 0 || v[0] >= 1 || v[1] < 0 || v[1] >= 1)
      return err(p, ytree_loc(b), "optimizer.betas must be two numbers in [0, 1), such as [0.9, 0.999]");
    o->spec.beta1 = v[0];
    o->spec.beta2 = v[1];
  }
  if (ytree_map_get(s.m, "no_weight_decay")) {
    const char *nd[OPT_MAX_NO_DECAY];
    int n = 0;
    if (names(p, &s, "no_weight_decay", nd, &n, OPT_MAX_NO_DECAY)) return -1;
    memcpy(o->spec.no_decay, nd, sizeof(char *) * (size_t)n);
    o->spec.nno_decay = n;
  }
  /* warm-up longer than the run: BEiT's scheduler would fail its length assertion */
  Recipe *r = p->r;
  if ((r->steps && o->warmup_steps > r->steps) || (r->epochs && o->warmup_epochs > r->epochs)) {
    const char *k = o->warmup_steps ? "warmup_steps" : "warmup_epochs";
    return err(p, ytree_loc(ytree_map_get(s.m, k)), "optimizer.%s is %lld, longer than the run (%lld %s)", k,
               (long long)(o->warmup_steps ? o->warmup_steps : o->warmup_epochs),
               (long long)(r->steps ? r->steps : r->epochs), r->steps ? "steps" : "epochs");
  }
  return 0;
}

static int parse_schedules(Rp *p, const Sec *top) {
  static const char *const keys[] = {"kind", "start", "end", "warmup_steps", "steps"};
  const YNode *m = ytree_map_get(top->m, "schedules");
  if (!m || ytree_is_null(m)) return 0;
  if (m->kind != YN_MAP)
    return err(p, ytree_loc(m), "schedules must be a mapping of model inputs to schedules, found %s", found(p, m));
  if (m->n > RECIPE_MAX_SCHEDULES)
    return err(p, ytree_loc(m->keys[RECIPE_MAX_SCHEDULES]), "schedules has more than %d inputs", RECIPE_MAX_SCHEDULES);
  Sec parent = {m, "schedules", key_loc(top->m, "schedules")};
  for (int i = 0; i < m->n; i++) {
    const char *in = m->keys[i]->str;
    for (int k = 0; k < p->r->nbind; k++)
      if (!strcmp(p->r->bind[k].input, in))
        return err(p, ytree_loc(m->keys[i]), "schedules: input '%s' is already bound to data (bind)", in);
    Sec s;
    if (section(p, &parent, in, keys, N(keys), &s)) return -1;
    RecipeSchedule *rs = &p->r->sched[p->r->nsched++];
    int kind = SCHED_COSINE;
    *rs = (RecipeSchedule){.input = in, .loc = ytree_loc(m->keys[i])};
    if (!ytree_map_get(s.m, "start")) return missing(p, &s, "start");
    if (choice(p, &s, "kind", "schedule kind", sched_kinds, N(sched_kinds), &kind) ||
        num(p, &s, "start", -INFINITY, 0, &rs->s.start))
      return -1;
    rs->s.kind = (SchedKind)kind;
    rs->s.end = rs->s.start;
    if (num(p, &s, "end", -INFINITY, 0, &rs->s.end) || integer(p, &s, "warmup_steps", 0, &rs->s.warmup) ||
        integer(p, &s, "steps", 0, &rs->s.steps))
      return -1;
  }
  return 0;
}

/* An input name a feeder fills must not also be bound to data or scheduled. */
static int input_free(Rp *p, const char *in, SrcLoc at, const char *who) {
  for (int k = 0; k < p->r->nbind; k++)
    if (!strcmp(p->r->bind[k].input, in)) return err(p, at, "%s: input '%s' is already bound to data (bind)", who, in);
  for (int k = 0; k < p->r->nsched; k++)
    if (!strcmp(p->r->sched[k].input, in))
      return err(p, at, "%s: input '%s' is already scheduled (schedules)", who, in);
  return 0;
}

static int parse_tokenizer(Rp *p, const Sec *top) {
  static const char *const keys[] = {"model", "weights", "params", "output", "input", "bind"};
  RecipeTokenizer *t = &p->r->tokenizer;
  Sec s;
  if (section(p, top, "tokenizer", keys, N(keys), &s)) return -1;
  if (!s.m) return 0;
  t->loc = s.at;
  if (!ytree_map_get(s.m, "model")) return missing(p, &s, "model");
  if (!ytree_map_get(s.m, "weights")) return missing(p, &s, "weights");
  if (path(p, &s, "model", 1, &t->model) || path(p, &s, "weights", 1, &t->weights) ||
      param_map(p, ytree_map_get(s.m, "params"), "tokenizer.params", &t->params, &t->nparams))
    return -1;
  t->model_loc = ytree_loc(ytree_map_get(s.m, "model"));
  t->output = "tokens";
  t->pixels = "pixels";
  if (name(p, &s, "output", &t->output)) return -1;
  t->output_loc = ytree_map_get(s.m, "output") ? ytree_loc(ytree_map_get(s.m, "output")) : s.at;
  t->input = t->output;
  if (name(p, &s, "input", &t->input)) return -1;
  t->input_loc = ytree_map_get(s.m, "input") ? ytree_loc(ytree_map_get(s.m, "input")) : t->output_loc;
  t->pixels_loc = s.at;
  const YNode *b = ytree_map_get(s.m, "bind");
  if (b && !ytree_is_null(b)) {
    if (b->kind != YN_MAP || b->n != 1 || !is_name(b->items[0]) || strcmp(b->items[0]->str, "images"))
      return err(p, ytree_loc(b), "tokenizer.bind must map one tokenizer input to images, as {pixels: images}");
    t->pixels = b->keys[0]->str;
    t->pixels_loc = ytree_loc(b->keys[0]);
  }
  return input_free(p, t->input, t->input_loc, "tokenizer");
}

static int parse_mask(Rp *p, const Sec *top) {
  static const char *const keys[] = {"input", "kind", "count", "min_block", "max_block", "min_aspect"};
  static const char *const kinds[] = {"block", "random"}; /* MaskKind order */
  RecipeMask *m = &p->r->mask;
  Sec s;
  if (section(p, top, "mask", keys, N(keys), &s)) return -1;
  if (!s.m) return 0;
  m->loc = s.at;
  m->input = "mask";
  m->min_block = 4; /* the masking class's own default (BEiT's script passes 16 for 14x14) */
  m->min_aspect = 0.3;
  if (!ytree_map_get(s.m, "count")) return missing(p, &s, "count");
  if (name(p, &s, "input", &m->input) || choice(p, &s, "kind", "mask kind", kinds, N(kinds), &m->kind) ||
      integer(p, &s, "count", 0, &m->count) || integer(p, &s, "min_block", 1, &m->min_block) ||
      integer(p, &s, "max_block", 0, &m->max_block) || num(p, &s, "min_aspect", 0, 1, &m->min_aspect))
    return -1;
  m->input_loc = ytree_map_get(s.m, "input") ? ytree_loc(ytree_map_get(s.m, "input")) : s.at;
  m->count_loc = ytree_loc(ytree_map_get(s.m, "count"));
  if (m->min_aspect > 1)
    return err(p, ytree_loc(ytree_map_get(s.m, "min_aspect")), "mask.min_aspect must be in (0, 1], found %g",
               m->min_aspect);
  if (m->kind == 0 && m->min_block > m->count && m->count > 0)
    return err(p, ytree_loc(ytree_map_get(s.m, ytree_map_get(s.m, "min_block") ? "min_block" : "count")),
               "mask.min_block (%lld) is larger than mask.count (%lld)", (long long)m->min_block, (long long)m->count);
  if (m->max_block && m->max_block < m->min_block)
    return err(p, ytree_loc(ytree_map_get(s.m, "max_block")), "mask.max_block (%lld) is below mask.min_block (%lld)",
               (long long)m->max_block, (long long)m->min_block);
  if (p->r->tokenizer.model && !strcmp(p->r->tokenizer.input, m->input))
    return err(p, m->input_loc, "mask: input '%s' is already filled by the tokenizer", m->input);
  return input_free(p, m->input, m->input_loc, "mask");
}

/* eval: and checkpoint: share `every_epochs` / `every_steps`. */
static int every(Rp *p, const Sec *s, int64_t *epochs, int64_t *steps) {
  return one_of(p, s, "every_epochs", "every_steps") || integer(p, s, "every_epochs", 0, epochs) ||
         integer(p, s, "every_steps", 0, steps);
}

static int parse_eval_ckpt(Rp *p, const Sec *top) {
  static const char *const ekeys[] = {"every_epochs", "every_steps", "outputs"};
  static const char *const ckeys[] = {"dir", "every_epochs", "every_steps"};
  Recipe *r = p->r;
  Sec e, c;
  if (section(p, top, "eval", ekeys, N(ekeys), &e) || every(p, &e, &r->eval.every_epochs, &r->eval.every_steps) ||
      names(p, &e, "outputs", r->eval.outputs, &r->eval.noutputs, RECIPE_MAX_NAMES))
    return -1;
  if (section(p, top, "checkpoint", ckeys, N(ckeys), &c)) return -1;
  if (!c.m) return 0;
  r->checkpoint.dir = r->out;
  return path(p, &c, "dir", 0, &r->checkpoint.dir) ||
         every(p, &c, &r->checkpoint.every_epochs, &r->checkpoint.every_steps);
}

/* <dir>/<the recipe's name without .yaml or .yml>.out */
static const char *default_out(Rp *p) {
  const char *base = strrchr(p->r->file, '/');
  base = base ? base + 1 : p->r->file;
  size_t n = strlen(base);
  if (n > 5 && !strcmp(base + n - 5, ".yaml"))
    n -= 5;
  else if (n > 4 && !strcmp(base + n - 4, ".yml"))
    n -= 4;
  return resolve(p, arena_printf(p->a, "%.*s.out", (int)n, base));
}

static int parse_top(Rp *p, const YNode *root) {
  static const char *const keys[] = {"model",     "params",    "data", "bind", "loss",       "batch", "epochs", "steps",
                                     "optimizer", "schedules", "seed", "eval", "checkpoint", "out",   "init",
                                     "freeze",    "tokenizer", "mask"};
  Recipe *r = p->r;
  Sec top = {root, NULL, ytree_loc(root)};
  if (root->kind != YN_MAP)
    return err(p, ytree_loc(root), "a recipe is a mapping (model, data, batch, epochs, optimizer, ...), found %s",
               found(p, root));
  if (known_keys(p, &top, keys, N(keys))) return -1;
  if (!ytree_map_get(root, "model")) return missing(p, &top, "model");
  if (path(p, &top, "model", 1, &r->model)) return -1;
  r->model_loc = ytree_loc(ytree_map_get(root, "model"));
  if (parse_params(p, &top) || parse_data(p, &top) || parse_bind(p, &top) || name(p, &top, "loss", &r->loss)) return -1;
  if (!ytree_map_get(root, "batch")) return missing(p, &top, "batch");
  if (integer(p, &top, "batch", 1, &r->batch) || one_of(p, &top, "epochs", "steps") ||
      integer(p, &top, "epochs", 1, &r->epochs) || integer(p, &top, "steps", 1, &r->steps))
    return -1;
  if (!r->epochs && !r->steps) return err(p, top.at, "missing key 'epochs' or 'steps' in the recipe");
  int64_t seed = 0;
  if (parse_optimizer(p, &top) || parse_schedules(p, &top) || integer(p, &top, "seed", 0, &seed)) return -1;
  if (seed > UINT32_MAX)
    return err(p, ytree_loc(ytree_map_get(root, "seed")), "seed must be at most %u, found %lld", UINT32_MAX,
               (long long)seed);
  r->seed = (uint32_t)seed;
  r->out = default_out(p);
  if (path(p, &top, "out", 0, &r->out) || path(p, &top, "init", 1, &r->init)) return -1;
  if (r->init) r->init_loc = ytree_loc(ytree_map_get(root, "init"));
  if (parse_tokenizer(p, &top) || parse_mask(p, &top)) return -1;
  if (names(p, &top, "freeze", r->freeze, &r->nfreeze, RECIPE_MAX_NAMES)) return -1;
  return parse_eval_ckpt(p, &top);
}

static void set_defaults(Rp *p, const char *path) {
  Recipe *r = p->r;
  memset(r, 0, sizeof *r);
  r->file = arena_strdup(p->a, path);
  const char *slash = strrchr(r->file, '/');
  r->dir = !slash ? "." : slash == r->file ? "/" : arena_strndup(p->a, r->file, (size_t)(slash - r->file));
  r->data.split = "train";
  r->loss = "loss";
  r->opt.spec = optim_defaults();
  r->opt.schedule = SCHED_COSINE;
}

int recipe_parse(const char *path, const char *text, size_t len, Arena *a, Recipe *r, Diag *d) {
  Rp p = {a, d, r};
  set_defaults(&p, path);
  const YNode *root = ytree_parse(a, d, r->file, text, len);
  return root ? parse_top(&p, root) : -1;
}

int recipe_load(const char *path, Arena *a, Recipe *r, Diag *d) {
  Rp p = {a, d, r};
  set_defaults(&p, path);
  const YNode *root = ytree_load(a, d, r->file);
  return root ? parse_top(&p, root) : -1;
}

int64_t recipe_total_steps(const Recipe *r, int64_t steps_per_epoch) {
  return r->steps > 0 ? r->steps : r->epochs * steps_per_epoch;
}

void recipe_schedules(const Recipe *r, int64_t steps_per_epoch, Sched *lr, Sched *wd) {
  const RecipeOptim *o = &r->opt;
  *lr = (Sched){.kind = o->schedule,
                .start = o->lr,
                .end = o->min_lr,
                .warmup = sched_warmup_iters(o->warmup_epochs, steps_per_epoch, o->warmup_steps)};
  *wd = (Sched){.kind = SCHED_COSINE, .start = o->weight_decay, .end = o->weight_decay_end};
}
