/* ytree.h — a YAML document as a small tree of YNodes (built on libyaml), allocated in
 * an arena, every node carrying its file:line:col; the mapping from an offset inside a
 * scalar back to a file position; and the few typed readers (number, integer, boolean)
 * and the did-you-mean helper that the users of the tree (model files, training
 * recipes) share. Only the parse functions and ytree_load report: one error through
 * the Diag, and NULL. */
#ifndef MIMIC_YTREE_H
#define MIMIC_YTREE_H
#include <stddef.h>
#include <stdint.h>

#include "support/arena.h"
#include "support/diag.h"

typedef enum YKind { YN_SCALAR, YN_SEQ, YN_MAP } YKind;

typedef struct YNode {
  YKind kind;
  const char *file;          /* the file's path as the user named it (borrowed) */
  int line, col;             /* 1-based start mark; 0 when the node is synthetic */
  const char *str;           /* scalar text, NUL-terminated */
  size_t len;
  int plain;                 /* unquoted scalar (so `~`, `null` and "" mean nothing) */
  const char *src, *src_end; /* the file's text from this scalar's start mark: used to
                                map an offset in `str` back to a line and column */
  struct YNode **items;      /* sequence items, or mapping values */
  struct YNode **keys;       /* mapping keys (scalars, all different) */
  int n;                     /* item / pair count */
} YNode;

/* ytree_parse_flags option: inside [...] and {...} YAML ends a plain scalar at ',', so
 * `init: normal(0, 0.02)` would arrive as "normal(0" and a stray key "0.02)". With this
 * flag a plain scalar with an unclosed '(' is extended over the source text to its
 * balanced end and the pieces YAML split off are dropped (the model language wants it). */
#define YTREE_JOIN_CALLS 1u

/* Parse `text` (the whole file, len bytes; the tree points into it, so it must outlive
 * the tree) into a tree allocated in `a`. A syntax error, a non-scalar key or a
 * duplicate key is reported at its location and gives NULL. An empty document yields an
 * empty mapping. `file` is borrowed. */
YNode *ytree_parse(Arena *a, Diag *d, const char *file, const char *text, size_t len);
YNode *ytree_parse_flags(Arena *a, Diag *d, const char *file, const char *text, size_t len, unsigned flags);
/* Read the file at `path` into `a` and parse it (flags 0). NULL after reporting
 * `path: error: cannot read: ...` or a parse error. */
YNode *ytree_load(Arena *a, Diag *d, const char *path);

/* Location of the node's start. */
SrcLoc ytree_loc(const YNode *n);
/* Location of byte `off` of a scalar's text in the file (see docs/models.md for the rule
 * on block scalars); the node's start when it cannot be mapped. */
SrcLoc ytree_loc_at(const YNode *n, size_t off);
/* Value of key `k` in a mapping, or NULL. */
YNode *ytree_map_get(const YNode *m, const char *k);
/* NULL, or a plain scalar "", "~", "null", "Null" or "NULL". */
int ytree_is_null(const YNode *n);
const char *ytree_kind_name(const YNode *n); /* "a mapping", "a sequence", "a scalar", "nothing" */

/* Typed readers of a plain scalar; 0 ok, -1 (nothing reported) when it is not one.
 * A number is what strtod reads from the whole text and is finite (quoted text is a
 * string, as YAML says). An integer is a number with no fraction within int64. A
 * boolean is true/false in YAML 1.2's spellings (true, True, TRUE, false, ...). */
int ytree_number(const YNode *n, double *out);
int ytree_int(const YNode *n, int64_t *out);
int ytree_bool(const YNode *n, int *out);

/* The closest of `cands` to `name` by edit distance, when close enough to be a likely
 * typo (a third of the name's length, at most 3); NULL when none is. */
const char *ytree_suggest(const char *name, const char *const *cands, int n);

#endif
