/* test_tensorio.c — host tensors (conversions, bf16, sets) and the tensor file formats:
 * safetensors and .npy round trips of every dtype and odd shape, files crafted byte by
 * byte (valid and each kind of invalid: one error, the right message, nothing leaked).
 * Atomic writing is test_atomic.c's. */
#include "tensorio_harness.h"

/* ---- tensors ---------------------------------------------------------------------- */

static uint16_t bf16_bits(double v) {
  Tensor *t = tensor_new(DT_BF16, shp(0));
  tensor_set(t, 0, v);
  uint16_t b = *(uint16_t *)t->data;
  tensor_free(t);
  return b;
}

static void test_bf16(void) {
  CHECK_INT(bf16_bits(1.0), 0x3f80);
  CHECK_INT(bf16_bits(-2.0), 0xc000);
  CHECK_INT(bf16_bits(0.0), 0x0000);
  CHECK_INT(bf16_bits(-0.0), 0x8000);
  CHECK_INT(bf16_bits(1.00390625), 0x3f80);      /* halfway, ties to even (down) */
  CHECK_INT(bf16_bits(1.01171875), 0x3f82);      /* halfway, ties to even (up) */
  CHECK_INT(bf16_bits(1.0039063692), 0x3f81);    /* one f32 ulp above halfway */
  CHECK_INT(bf16_bits(3.0e38), 0x7f62);
  CHECK_INT(bf16_bits(3.4028234e38), 0x7f80);    /* f32 max rounds up to inf */
  CHECK_INT(bf16_bits(INFINITY), 0x7f80);
  CHECK_INT(bf16_bits(-INFINITY), 0xff80);
  CHECK_INT(bf16_bits(1e-40) , 0x0001);          /* f32 subnormal 0x000116c2 */
  uint16_t nan = bf16_bits(NAN);
  CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0);
  Tensor *t = tensor_new(DT_BF16, shp(1, 3));
  ((uint16_t *)t->data)[0] = 0x4049;
  ((uint16_t *)t->data)[1] = 0xbf80;
  ((uint16_t *)t->data)[2] = 0x7fc0;
  CHECK_NEAR(tensor_get(t, 0), 3.140625, 0);
  CHECK_NEAR(tensor_get(t, 1), -1.0, 0);
  CHECK(isnan(tensor_get(t, 2)));
  Tensor *f = tensor_convert(t, DT_F32);
  CHECK_NEAR(((float *)f->data)[0], 3.140625, 0);
  Tensor *back = tensor_convert(f, DT_BF16);
  CHECK(!memcmp(back->data, t->data, 4));   /* bf16 -> f32 -> bf16 is exact */
  tensor_free(t);
  tensor_free(f);
  tensor_free(back);
}

static void test_convert(void) {
  Tensor *t = tensor_new(DT_F64, shp(1, 8));
  double v[8] = {2.7, -2.7, 1e10, -1e10, NAN, 0.5, 0.1, 0};
  for (int i = 0; i < 8; i++) tensor_set(t, i, v[i]);
  Tensor *i32 = tensor_convert(t, DT_I32), *b = tensor_convert(t, DT_BOOL);
  Tensor *f32 = tensor_convert(t, DT_F32), *i64 = tensor_convert(t, DT_I64);
  int32_t want32[8] = {2, -2, INT32_MAX, INT32_MIN, 0, 0, 0, 0};
  uint8_t wantb[8] = {1, 1, 1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 8; i++) {
    CHECK_INT(((int32_t *)i32->data)[i], want32[i]);
    CHECK_INT(((uint8_t *)b->data)[i], wantb[i]);
  }
  CHECK_INT(((int64_t *)i64->data)[2], 10000000000LL);
  CHECK(((float *)f32->data)[6] == 0.1f);
  CHECK_NEAR(tensor_get(f32, 6), (double)0.1f, 0);
  tensor_set(i64, 0, 1e300);
  CHECK_INT(((int64_t *)i64->data)[0], INT64_MAX);
  tensor_set(i64, 0, -9223372036854775808.0);
  CHECK_INT(((int64_t *)i64->data)[0], INT64_MIN);
  /* integer to integer stays exact above 2^53 and saturates into i32 */
  ((int64_t *)i64->data)[1] = (1LL << 53) + 1;
  Tensor *i64b = tensor_convert(i64, DT_I64), *i32b = tensor_convert(i64, DT_I32);
  CHECK_INT(((int64_t *)i64b->data)[1], (1LL << 53) + 1);
  CHECK_INT(((int32_t *)i32b->data)[1], INT32_MAX);
  CHECK_INT(((int32_t *)i32b->data)[3], INT32_MIN);
  Tensor *bi = tensor_convert(b, DT_I32);
  CHECK_INT(((int32_t *)bi->data)[5], 1);
  CHECK_INT(((int32_t *)bi->data)[7], 0);
  Tensor *bf = tensor_convert(b, DT_F64);
  CHECK_NEAR(tensor_get(bf, 0), 1.0, 0);
  Tensor *all[] = {t, i32, b, f32, i64, i64b, i32b, bi, bf};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) tensor_free(all[i]);
}

static void test_tensor_basics(void) {
  int64_t sizes[] = {0, 1, 3, 17, 1000};
  for (int i = 0; i < 5; i++) {
    Tensor *t = tensor_new(DT_F32, shp(1, (int)sizes[i]));
    CHECK(t->data != NULL);
    CHECK((uintptr_t)t->data % 64 == 0);
    CHECK_INT(tensor_nbytes(t), 4 * sizes[i]);
    for (int64_t k = 0; k < sizes[i]; k++) CHECK(tensor_get(t, k) == 0.0);
    Tensor *c = tensor_copy(t);
    CHECK(tensor_same(t, c));
    tensor_free(t);
    tensor_free(c);
  }
  tensor_free(NULL);
  /* tensor_same: dtype, shape and bytes */
  Tensor *a = tensor_new(DT_F32, shp(1, 4)), *b = tensor_new(DT_F32, shp(1, 4)), *c4 = tensor_new(DT_I32, shp(1, 4));
  Tensor *d = tensor_new(DT_F32, shp(2, 2, 2));
  CHECK(tensor_same(a, b) && !tensor_same(a, c4) && !tensor_same(a, d) && !tensor_same(a, NULL) && !tensor_same(NULL, a));
  tensor_set(b, 3, -0.0); /* -0 == 0, but not the same bits */
  CHECK(!tensor_same(a, b));
  tensor_free(a);
  tensor_free(b);
  tensor_free(c4);
  tensor_free(d);
  Tensor *s = tensor_new(DT_I64, shp(0));
  CHECK_INT(tensor_nbytes(s), 8);
  tensor_free(s);

  TensorSet ts;
  tset_init(&ts);
  CHECK(tset_get(&ts, "a") == NULL);
  for (int i = 0; i < 20; i++) {
    char name[8];
    snprintf(name, sizeof name, "w%d", i);
    tset_put(&ts, name, tensor_new(DT_F32, shp(1, i)));
  }
  CHECK_INT(ts.n, 20);
  tset_put(&ts, "w3", tensor_new(DT_I32, shp(0)));
  CHECK_INT(ts.n, 20);
  CHECK_INT(tset_get(&ts, "w3")->dtype, DT_I32);
  CHECK_INT(tset_get(&ts, "w19")->shape.d[0], 19);
  tset_free(&ts);
  CHECK_INT(ts.n, 0);
  tset_free(&ts); /* freeing twice is harmless */
}

static void test_st_roundtrip(void) {
  TensorSet ts, rd;
  tset_init(&ts);
  tset_init(&rd);
  tset_put(&ts, "f32", filled(DT_F32, shp(2, 2, 3)));
  tset_put(&ts, "f64.scalar", filled(DT_F64, shp(0)));
  tset_put(&ts, "i32.empty", filled(DT_I32, shp(2, 0, 5)));
  tset_put(&ts, "i64.rank8", filled(DT_I64, shp(8, 1, 2, 1, 2, 1, 2, 1, 3)));
  tset_put(&ts, "mask", filled(DT_BOOL, shp(1, 5)));
  tset_put(&ts, "bf16", filled(DT_BF16, shp(1, 3)));
  tset_put(&ts, "we\"ird\\name\n\xc3\xa9", filled(DT_F32, shp(1, 1)));
  tset_put(&ts, "", filled(DT_I32, shp(1, 2)));
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  const char *p = path_of("rt.safetensors");
  CHECK_INT(st_write(p, &ts, &d), 0);
  CHECK_INT(st_read(p, &rd, &d), 0);
  CHECK_INT(d.nerr, 0);
  CHECK_INT(rd.n, ts.n);
  for (int i = 0; i < ts.n; i++) CHECK(tensor_same(ts.t[i], tset_get(&rd, ts.names[i])));
  CHECK_INT(count_tmp_files(), 0);

  /* reading into a set that has tensors adds and replaces, keeps the rest */
  TensorSet mix;
  tset_init(&mix);
  tset_put(&mix, "f32", tensor_new(DT_F64, shp(0)));
  tset_put(&mix, "other", tensor_new(DT_F64, shp(0)));
  CHECK_INT(st_read(p, &mix, &d), 0);
  CHECK_INT(mix.n, ts.n + 1);
  CHECK(tensor_same(tset_get(&mix, "f32"), tset_get(&ts, "f32")));
  CHECK(tset_get(&mix, "other") != NULL);
  tset_free(&mix);

  /* the empty set */
  TensorSet empty;
  tset_init(&empty);
  CHECK_INT(st_write(path_of("empty.safetensors"), &empty, &d), 0);
  CHECK_INT(st_read(path_of("empty.safetensors"), &empty, &d), 0);
  CHECK_INT(empty.n, 0);
  size_t n;
  unsigned char *b = slurp(path_of("empty.safetensors"), &n);
  CHECK_INT(n, 16);
  CHECK(b && !memcmp(b, "\x08\0\0\0\0\0\0\0{}      ", 16));
  free(b);
  tset_free(&ts);
  tset_free(&rd);
}

/* The exact bytes: largest dtype first, then by name, compact JSON padded to 8. */
static void test_st_layout(void) {
  TensorSet ts;
  tset_init(&ts);
  tset_put(&ts, "b", filled(DT_BOOL, shp(1, 1)));
  tset_put(&ts, "a", filled(DT_F32, shp(1, 2)));
  tset_put(&ts, "c", filled(DT_F64, shp(0)));
  tset_put(&ts, "a2", filled(DT_F32, shp(1, 1)));
  Diag d;
  diag_init(&d);
  const char *p = path_of("layout.safetensors");
  CHECK_INT(st_write(p, &ts, &d), 0);
  const char *hdr = "{\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                    "\"a2\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]},"
                    "\"b\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[20,21]}}";
  size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8, n;
  unsigned char *b = slurp(p, &n);
  CHECK_INT(n, 8 + padded + 21);
  uint64_t len = 0;
  for (int i = 7; b && i >= 0; i--) len = len << 8 | b[i];
  CHECK_INT(len, padded);
  CHECK(b && !memcmp(b + 8, hdr, hl));
  for (size_t i = hl; b && i < padded; i++) CHECK(b[8 + i] == ' ');
  double c = 0;
  if (b) memcpy(&c, b + 8 + padded, 8);
  CHECK_NEAR(c, -7, 0);
  free(b);
  tset_free(&ts);
}

/* [le64 length][header][data of `ndata` bytes, value i*7 at byte i] */
static void st_craft(const char *path, const char *hdr, size_t ndata) {
  size_t hl = strlen(hdr);
  unsigned char *b = malloc(8 + hl + ndata + 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(b + 8, hdr, hl);
  for (size_t i = 0; i < ndata; i++) b[8 + hl + i] = (unsigned char)(i * 7);
  write_bytes(path, b, 8 + hl + ndata);
  free(b);
}

static void test_st_crafted_valid(void) {
  Diag d;
  diag_init(&d);
  TensorSet ts;
  tset_init(&ts);
  /* the example of the safetensors documentation, header padded as the reference does */
  st_craft(path_of("v1.safetensors"),
           "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}   ", 16);
  CHECK_INT(st_read(path_of("v1.safetensors"), &ts, &d), 0);
  Tensor *t = tset_get(&ts, "test");
  CHECK(t && t->dtype == DT_I32 && t->shape.rank == 2 && t->shape.d[1] == 2);
  if (t) CHECK_INT(((int32_t *)t->data)[1], 0x312a231c); /* bytes 28, 35, 42, 49 */
  tset_free(&ts);
  /* metadata, whitespace, escapes, keys in any order, zero-sized tensors anywhere */
  st_craft(path_of("v2.safetensors"),
           " {\n \"__metadata__\" : {\"format\": \"pt\", \"x\": \"\\\"q\\\"\"},\n"
           "  \"caf\\u00e9.\\ud83d\\ude00\": {\"shape\": [3], \"data_offsets\": [2, 5], \"dtype\": \"BOOL\"},\n"
           "  \"z\": {\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]},\n"
           "  \"e0\": {\"dtype\":\"F64\",\"shape\":[0,4],\"data_offsets\":[0,0]},\n"
           "  \"e1\": {\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[5,5]}\n} ",
           5);
  /* bytes 2..4 are 14, 21, 28: not bools, so overwrite them with 1,0,1 */
  FILE *f = fopen(path_of("v2.safetensors"), "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, -3, SEEK_END);
    fwrite("\1\0\1", 1, 3, f);
    fclose(f);
  }
  CHECK_INT(st_read(path_of("v2.safetensors"), &ts, &d), 0);
  CHECK_INT(d.nerr, 0);
  CHECK_INT(ts.n, 4);
  t = tset_get(&ts, "caf\xc3\xa9.\xf0\x9f\x98\x80");
  CHECK(t && t->dtype == DT_BOOL && tensor_get(t, 0) == 1 && tensor_get(t, 1) == 0);
  t = tset_get(&ts, "e0");
  CHECK(t && t->dtype == DT_F64 && t->shape.d[0] == 0 && t->shape.d[1] == 4);
  t = tset_get(&ts, "z");
  CHECK(t && t->dtype == DT_BF16 && *(uint16_t *)t->data == 0x0700);
  tset_free(&ts);
}

typedef struct BadSt {
  const char *hdr;   /* header JSON; NULL: `raw` holds the whole file */
  size_t ndata;
  const char *want;  /* the message, exactly */
} BadSt;

static void expect_st_error(const char *path, const char *want, int line) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  TensorSet ts;
  tset_init(&ts);
  int rc = st_read(path, &ts, &d);
  if (rc == 0 || d.nerr != 1 || ts.n != 0 || strcmp(msg(&d), want))
    fprintf(stderr, "  (case at line %d: rc %d, %d errors, last: %s)\n", line, rc, d.nerr, d.last);
  CHECK(rc != 0);
  CHECK_INT(d.nerr, 1);
  CHECK_INT(ts.n, 0);
  CHECK_STR(msg(&d), want);
  CHECK(!strncmp(d.last, path, strlen(path)));  /* located at the file, no line */
  tset_free(&ts);
}

/* One header entry: T("x", "F32", "[2]", "[0,8]") */
#define T(name, dt, sh, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" sh ",\"data_offsets\":" off "}"
#define JS "header is not valid JSON: at byte "
#define OFFS "data_offsets must be [begin, end] with 0 <= begin <= end"

static void test_st_invalid(void) {
  static const BadSt cases[] = {
    {"{\"a\":", 0, JS "5: unexpected end of text"},
    {"{\"a\" 1}", 0, JS "5: expected ':'"},
    {"{'a':1}", 0, JS "1: expected a string key"},
    {"{\"a\":1,}", 0, JS "7: expected a string key"},
    {"{} x", 0, JS "3: unexpected text after the value"},
    {"{\"a\":01}", 0, JS "6: expected ',' or '}'"},
    {"{\"a\":\"\\x\"}", 0, JS "7: bad escape in string"},
    {"{\"a\\u0000\":1}", 0, JS "9: \\u0000 is not allowed in a string"},
    {"{\"\\ud800\":1}", 0, JS "8: unpaired surrogate in \\u escape"},
    {"{\"\xc3\x28\":1}", 0, JS "2: invalid UTF-8 in string"},
    {"{\"\xc0\xaf\":1}", 0, JS "2: invalid UTF-8 in string"}, /* overlong '/' */
    {"{\"a\":\"tab\there\"}", 0, JS "9: control character in string"},
    {"{\"a\":tru}", 0, JS "5: unexpected character"},
    {"", 0, JS "0: unexpected end of text"},
    {"[1,2]", 0, "header is not a JSON object"},
    {"{\"x\":[1]}", 0, "tensor 'x': expected an object with dtype, shape and data_offsets"},
    {"{" T("x", "F16", "[2]", "[0,4]") "}", 4, "tensor 'x': unsupported dtype 'F16'"},
    {"{" T("x", "f32", "[2]", "[0,8]") "}", 8, "tensor 'x': unsupported dtype 'f32'"},
    {"{\"x\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'x': dtype must be a string"},
    {"{" T("x", "F32", "[2,-3]", "[0,8]") "}", 8, "tensor 'x': shape has a negative dimension (-3)"},
    {"{" T("x", "F32", "[2.0]", "[0,8]") "}", 8, "tensor 'x': shape must be a list of non-negative integers"},
    {"{" T("x", "F32", "2", "[0,8]") "}", 8, "tensor 'x': shape must be a list of non-negative integers"},
    {"{" T("x", "F32", "[99999999999999999999]", "[0,8]") "}", 8,
     "tensor 'x': shape must be a list of non-negative integers"},
    {"{" T("x", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "tensor 'x': rank 9 is more than the 8 mimic supports"},
    {"{" T("x", "F32", "[4611686018427387904,4]", "[0,8]") "}", 8,
     "tensor 'x': shape [4611686018427387904,4] is too large"},
    {"{" T("x", "F32", "[4294967296,4294967296,0]", "[0,0]") "}", 0,
     "tensor 'x': shape [4294967296,4294967296,0] is too large"},
    {"{" T("x", "F32", "[2]", "[8,0]") "}", 8, "tensor 'x': " OFFS},
    {"{" T("x", "F32", "[2]", "[0]") "}", 8, "tensor 'x': " OFFS},
    {"{" T("x", "F32", "[2]", "[-8,0]") "}", 8, "tensor 'x': " OFFS},
    {"{" T("x", "F32", "[2]", "[0,8,9]") "}", 8, "tensor 'x': " OFFS},
    {"{" T("x", "F32", "[3]", "[0,8]") "}", 8,
     "tensor 'x': data_offsets [0,8] do not match dtype F32 and shape [3] (12 bytes)"},
    {"{" T("x", "F32", "[2]", "[0,8]") "}", 4, "tensor 'x': data_offsets [0,8] go past the end of the data (4 bytes)"},
    {"{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[4,12]") "}", 12,
     "tensor 'b': data_offsets [4,12] overlap tensor 'a' [0,8]"},
    {"{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[0,8]") "}", 8,
     "tensor 'b': data_offsets [0,8] overlap tensor 'a' [0,8]"},
    {"{" T("a", "F32", "[2]", "[0,8]") "," T("z", "F32", "[0]", "[4,4]") "}", 8,
     "tensor 'z': data_offsets [4,4] overlap tensor 'a' [0,8]"},
    {"{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[12,20]") "}", 20,
     "tensor 'b': data_offsets [12,20] leave a gap: bytes 8 to 12 belong to no tensor"},
    {"{" T("a", "F32", "[2]", "[4,12]") "}", 12,
     "tensor 'a': data_offsets [4,12] leave a gap: bytes 0 to 4 belong to no tensor"},
    {"{" T("a", "F32", "[2]", "[0,8]") "}", 11, "trailing data: the tensors end at byte 8 of the 11-byte data buffer"},
    {"{}", 3, "trailing data: the tensors end at byte 0 of the 3-byte data buffer"},
    {"{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[8,16]") "," T("a", "F32", "[2]", "[16,24]") "}",
     24, "duplicate tensor 'a'"},
    {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8,
     "tensor 'x': unexpected key 'extra'"},
    {"{\"x\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "tensor 'x': duplicate key 'dtype'"},
    {"{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'x': missing 'shape'"},
    {"{\"__metadata__\":{\"a\":1}}", 0, "__metadata__: value of 'a' is not a string"},
    {"{\"__metadata__\":[]}", 0, "__metadata__ must be an object of strings"},
    {"{" T("m", "BOOL", "[3]", "[0,3]") "}", 3, "tensor 'm': bool element 1 is 7, not 0 or 1"},
  };
  char name[64];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(name, sizeof name, "bad%zu.safetensors", i);
    st_craft(path_of(name), cases[i].hdr, cases[i].ndata);
    expect_st_error(path_of(name), cases[i].want, (int)i);
  }
  /* nesting far deeper than any header needs: an error, not a stack overflow */
  char deep[4096] = "{\"a\":";
  for (int i = 0; i < 1000; i++) strcat(deep, "[");
  st_craft(path_of("deep.safetensors"), deep, 0);
  expect_st_error(path_of("deep.safetensors"), "header is not valid JSON: at byte 69: nesting deeper than 64",
                  __LINE__);

  /* the length prefix itself */
  const char *p = path_of("short.safetensors");
  write_bytes(p, "\x10\0\0\0\0", 5);
  expect_st_error(p, "truncated: the file has 5 bytes, fewer than the 8 of the header length", __LINE__);
  write_bytes(p, "", 0);
  expect_st_error(p, "truncated: the file has 0 bytes, fewer than the 8 of the header length", __LINE__);
  write_bytes(p, "\xe8\x03\0\0\0\0\0\0{\"a\":1}    ", 20);
  expect_st_error(p, "truncated: header says 1000 bytes but only 12 follow", __LINE__);
  write_bytes(p, "\0\0\0\0\0\x01\0\0{}", 10);
  expect_st_error(p, "header length 1099511627776 is absurd (the limit is 100000000 bytes)", __LINE__);
  write_bytes(p, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
  expect_st_error(p, "header length 18446744073709551615 is absurd (the limit is 100000000 bytes)",
                  __LINE__);
  expect_st_error(path_of("does-not-exist.safetensors"), "cannot open: No such file or directory", __LINE__);
  expect_st_error(dir, "not a regular file", __LINE__);
}

/* ---- npy --------------------------------------------------------------------------- */

static void test_npy_roundtrip(void) {
  struct {
    DType dt;
    Shape s;
  } cases[] = {{DT_F32, shp(2, 2, 3)},  {DT_F64, shp(0)},       {DT_I32, shp(1, 3)},
               {DT_I64, shp(8, 1, 2, 1, 2, 1, 2, 1, 3)}, {DT_BOOL, shp(1, 7)},
               {DT_F32, shp(3, 2, 0, 4)}, {DT_I32, shp(1, 0)}};
  Diag d;
  diag_init(&d);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Tensor *t = filled(cases[i].dt, cases[i].s), *r = NULL;
    const char *p = path_of("rt.npy");
    CHECK_INT(npy_write(p, t, &d), 0);
    CHECK_INT(npy_read(p, &r, &d), 0);
    CHECK(tensor_same(t, r));
    size_t n;
    unsigned char *b = slurp(p, &n);
    size_t hl = b ? (size_t)(b[8] | b[9] << 8) : 0;
    CHECK((10 + hl) % 64 == 0 && b && b[10 + hl - 1] == '\n');
    CHECK_INT(n, 10 + hl + tensor_nbytes(t));
    free(b);
    tensor_free(t);
    tensor_free(r);
  }
  CHECK_INT(d.nerr, 0);
  /* NumPy's exact header text */
  Tensor *t = filled(DT_F32, shp(1, 3));
  CHECK_INT(npy_write(path_of("h.npy"), t, &d), 0);
  size_t n;
  unsigned char *b = slurp(path_of("h.npy"), &n);
  const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  CHECK(b && !memcmp(b, "\x93NUMPY\x01\x00\x76\x00", 10) && !memcmp(b + 10, want, strlen(want)));
  CHECK(b && n == 128 + 12 && b[127] == '\n' && b[126] == ' ');
  free(b);
  tensor_free(t);
  t = filled(DT_I64, shp(0));
  CHECK_INT(npy_write(path_of("h.npy"), t, &d), 0);
  b = slurp(path_of("h.npy"), &n);
  CHECK(b && !memcmp(b + 10, "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", 55));
  free(b);
  tensor_free(t);
  /* bf16 has no .npy dtype */
  d.quiet = 1;
  t = filled(DT_BF16, shp(1, 2));
  CHECK(npy_write(path_of("bf.npy"), t, &d) != 0);
  CHECK_INT(d.nerr, 1);
  CHECK_STR(msg(&d), "cannot write dtype bf16 to .npy (NumPy has no such dtype; convert to f32)");
  CHECK(access(path_of("bf.npy"), F_OK) != 0);
  tensor_free(t);
}

/* [magic][version][len][header][data]; the header is used as given (no padding). */
static void npy_craft(const char *path, int major, const char *hdr, size_t ndata, int fill) {
  size_t hl = strlen(hdr), lb = major == 1 ? 2 : 4;
  unsigned char *b = malloc(8 + lb + hl + ndata + 1);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[7] = 0;
  for (size_t i = 0; i < lb; i++) b[8 + i] = (unsigned char)(hl >> (8 * i));
  memcpy(b + 8 + lb, hdr, hl);
  memset(b + 8 + lb + hl, fill, ndata);
  write_bytes(path, b, 8 + lb + hl + ndata);
  free(b);
}

static void test_npy_crafted_valid(void) {
  Diag d;
  diag_init(&d);
  Tensor *t = NULL;
  const char *p = path_of("v.npy");
  npy_craft(p, 2, "{\"shape\": (2,3,), \"fortran_order\": False, \"descr\": \"<i4\"}\n", 24, 1);
  CHECK_INT(npy_read(p, &t, &d), 0);
  CHECK(t && t->dtype == DT_I32 && t->shape.rank == 2 && t->shape.d[1] == 3);
  if (t) CHECK_INT(((int32_t *)t->data)[5], 0x01010101);
  tensor_free(t);
  npy_craft(p, 3, "{'descr':'|b1','fortran_order':False,'shape':(5L,)}", 5, 1);
  CHECK_INT(npy_read(p, &t, &d), 0);
  CHECK(t && t->dtype == DT_BOOL && t->shape.d[0] == 5 && tensor_get(t, 4) == 1);
  tensor_free(t);
  npy_craft(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, 0);
  CHECK_INT(npy_read(p, &t, &d), 0);
  CHECK(t && t->shape.rank == 0 && tensor_get(t, 0) == 0);
  tensor_free(t);
  CHECK_INT(d.nerr, 0);
}

static void expect_npy_error(const char *path, const char *want, int line) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  Tensor *t = (Tensor *)&d; /* must come back NULL */
  int rc = npy_read(path, &t, &d);
  if (rc == 0 || d.nerr != 1 || strcmp(msg(&d), want))
    fprintf(stderr, "  (case at line %d: rc %d, %d errors, last: %s)\n", line, rc, d.nerr, d.last);
  CHECK(rc != 0);
  CHECK(t == NULL);
  CHECK_INT(d.nerr, 1);
  CHECK_STR(msg(&d), want);
}

/* A NumPy header dict */
#define H(descr, fo, shape) "{'descr': " descr ", 'fortran_order': " fo ", 'shape': " shape ", }"
#define UNSUP " (mimic reads <f4, <f8, <i4, <i8, |b1)"

static void test_npy_invalid(void) {
  static const struct {
    const char *hdr;
    size_t ndata;
    const char *want;
  } cases[] = {
    {H("'<f4'", "True", "(2, 3)"), 24, "Fortran-order data is not supported (save a C-order array)"},
    {H("'>f4'", "False", "(2, 3)"), 24, "big-endian data ('>f4') is not supported"},
    {H("'<c8'", "False", "(2,)"), 16, "unsupported dtype '<c8'" UNSUP},
    {H("'<f2'", "False", "(2,)"), 4, "unsupported dtype '<f2'" UNSUP},
    {H("[('a', '<f4')]", "False", "(2,)"), 8, "structured dtypes are not supported"},
    {H("'<f4'", "False", "(2, 3)"), 20, "truncated data: shape [2,3] of <f4 needs 24 bytes but the file has 20"},
    {H("'<f4'", "False", "(2, 3)"), 28, "trailing data: 4 bytes after the 24 of shape [2,3] <f4"},
    {H("'<f4'", "False", "(3)"), 12, "bad header: shape (n) is not a tuple; write (n,)"},
    {H("'<f4'", "False", "(3, -1)"), 12, "bad header: shape has a negative dimension (-1)"},
    {H("'<f4'", "False", "[3]"), 12, "bad header: shape must be a tuple"},
    {H("'<f4'", "False", "(3.0,)"), 12, "bad header: expected ',' or ')' in shape"},
    {H("'<f4'", "False", "(1,1,1,1,1,1,1,1,1)"), 4, "rank is more than the 8 mimic supports"},
    {H("'<f4'", "False", "(99999999999999999999,)"), 4, "bad header: shape dimension is too large"},
    {H("'<f4'", "False", "(4611686018427387904, 4)"), 4, "shape [4611686018427387904,4] is too large"},
    {H("'|b1'", "False", "(3,)"), 3, "bool element 0 is 2, not 0 or 1"},
    {"{'descr': '<f4', 'shape': (3,), }", 12, "bad header: missing 'fortran_order'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", 12, "bad header: unexpected key 'x'"},
    {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 12, "bad header: duplicate key 'descr'"},
    {"{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", 12, "bad header: fortran_order must be True or False"},
    {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (3,)}", 12, "bad header: fortran_order must be True or False"},
    {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}", 12, "bad header: expected ',' or '}' after 'descr'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", 12, "bad header: unexpected text after the dict"},
    {"('descr', '<f4')", 12, "bad header: expected a dict"},
  };
  char name[64];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(name, sizeof name, "bad%zu.npy", i);
    npy_craft(path_of(name), 1, cases[i].hdr, cases[i].ndata, 2);
    expect_npy_error(path_of(name), cases[i].want, (int)i);
  }
  const char *p = path_of("pre.npy");
  write_bytes(p, "\x93NUMPZ\x01\x00\x10\x00", 10);
  expect_npy_error(p, "not a .npy file (bad magic)", __LINE__);
  write_bytes(p, "PK\x03\x04", 4);
  expect_npy_error(p, "not a .npy file (bad magic)", __LINE__);
  write_bytes(p, "\x93NUMPY\x01", 7);
  expect_npy_error(p, "truncated: the file ends inside the preamble", __LINE__);
  write_bytes(p, "\x93NUMPY\x02\x00\x10\x00", 10);
  expect_npy_error(p, "truncated: the file ends inside the preamble", __LINE__);
  write_bytes(p, "\x93NUMPY\x04\x00\x10\x00", 10);
  expect_npy_error(p, "unsupported .npy format version 4.0", __LINE__);
  write_bytes(p, "\x93NUMPY\x01\x00\x00\x01{}", 12);
  expect_npy_error(p, "truncated: header says 256 bytes but only 2 follow", __LINE__);
  write_bytes(p, "\x93NUMPY\x02\x00\x00\x00\x00\x10{}", 14);
  expect_npy_error(p, "header length 268435456 is absurd (the limit is 1048576 bytes)", __LINE__);
  expect_npy_error(path_of("nope.npy"), "cannot open: No such file or directory", __LINE__);
}

int main(void) {
  if (scratch_begin()) return 1;
  RUN(test_bf16);
  RUN(test_convert);
  RUN(test_tensor_basics);
  RUN(test_st_roundtrip);
  RUN(test_st_layout);
  RUN(test_st_crafted_valid);
  RUN(test_st_invalid);
  RUN(test_npy_roundtrip);
  RUN(test_npy_crafted_valid);
  RUN(test_npy_invalid);
  scratch_end();
  return CHECK_DONE();
}
