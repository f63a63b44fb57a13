/* arena.h — bump allocator for compiler data that dies together (one graph, one parse).
 * Everything allocated from an arena is freed at once by arena_free. */
#ifndef MIMIC_ARENA_H
#define MIMIC_ARENA_H
#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head; /* most recent block; older blocks chain behind it */
} Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);          /* zeroed, 16-byte aligned */
char *arena_strdup(Arena *a, const char *s);    /* NULL stays NULL */
char *arena_strndup(Arena *a, const char *s, size_t n);
void *arena_memdup(Arena *a, const void *p, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
