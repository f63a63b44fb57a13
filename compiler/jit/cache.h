/* cache.h — the compile cache: object files keyed by a BLAKE3 hash of mimic's optimised IR
 * text, the target (triple, CPU, features) and mimic's version, one file per key under
 * $XDG_CACHE_HOME/mimic (else $HOME/.cache/mimic). An entry carries its own checksum; a
 * damaged one reads as a miss and is replaced by the next store. */
#ifndef MIMIC_CACHE_H
#define MIMIC_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "codegen/codegen.h"

typedef struct CacheKey {
  uint8_t b[32];
} CacheKey;

/* variant: how the object was built from the IR beyond the target ("plan", "noplan") */
void cache_key(CacheKey *k, const char *ir_text, const CgTarget *t, const char *variant);
/* Resolve the cache folder (override, else the XDG rule) into buf and create it.
 * Returns 0, or -1 when there is none to be had (no cache then; not an error). */
int cache_dir(char *buf, size_t n, const char *override);
/* 1: hit (*obj malloc'd); 0: no entry; -1: a damaged entry (removed). */
int cache_load(const char *dir, const CacheKey *k, void **obj, size_t *n);
/* Write the entry atomically; failures are reported and return -1. */
int cache_store(const char *dir, const CacheKey *k, const void *obj, size_t n, Diag *d);

#endif
