/* json.h — a small, strict JSON reader (RFC 8259) for file headers such as
 * safetensors': it parses one value into a tree and rejects anything malformed (bad
 * syntax, invalid UTF-8, control characters in strings, "\u0000", nesting deeper than
 * JSON_MAX_DEPTH). Duplicate object keys are kept, in order, for the caller to judge. */
#ifndef MIMIC_JSON_H
#define MIMIC_JSON_H
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef enum JsonKind { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } JsonKind;

typedef struct Json {
  JsonKind kind;
  int b;              /* JSON_BOOL */
  double num;         /* JSON_NUM */
  int is_int;         /* JSON_NUM written without fraction or exponent and within int64 */
  int64_t i;          /* its value when is_int */
  char *s;            /* JSON_STR: UTF-8, NUL-terminated (embedded NULs are rejected) */
  int n;              /* JSON_ARR / JSON_OBJ: number of elements */
  char **keys;        /* JSON_OBJ: the keys, in text order */
  struct Json *items; /* JSON_ARR elements / JSON_OBJ values */
} Json;

/* Parse exactly one value from text[0..len), whitespace around it allowed. Returns 0 and
 * fills *out (free with json_free), or -1 with a message such as "at byte 17: expected
 * ':'" in err (out is then left empty). */
int json_parse(const char *text, size_t len, Json *out, char *err, size_t errn);
void json_free(Json *j);
/* First value of `key` in an object; NULL when absent or j is not an object. */
const Json *json_get(const Json *j, const char *key);

#endif
