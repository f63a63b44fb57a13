/* test_atomic.c — tensor files are written atomically: a failed write leaves no file and
 * no temporary beside it, a rewrite replaces the old file whole and keeps its mode. */
#include "tensorio_harness.h"

/* ---- atomic writing ---------------------------------------------------------------- */

static void test_atomic(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  TensorSet ts;
  tset_init(&ts);
  tset_put(&ts, "w", filled(DT_F32, shp(2, 4, 4)));
  Tensor *t = filled(DT_F64, shp(1, 9));

  /* a directory that does not exist: one error, nothing created */
  const char *nodir = path_of("no/such/dir/w.safetensors");
  CHECK(st_write(nodir, &ts, &d) != 0);
  CHECK_INT(d.nerr, 1);
  CHECK_STR(msg(&d), "cannot write: No such file or directory");
  CHECK(npy_write(path_of("no/such/x.npy"), t, &d) != 0);
  CHECK_INT(d.nerr, 2);
  CHECK_INT(count_tmp_files(), 0);

  /* good files to overwrite; a successful rewrite keeps their mode */
  const char *sp = path_of("keep.safetensors"), *np = path_of("keep.npy");
  CHECK_INT(st_write(sp, &ts, &d), 0);
  CHECK_INT(npy_write(np, t, &d), 0);
  chmod(sp, 0640);
  CHECK_INT(st_write(sp, &ts, &d), 0);
  struct stat st;
  CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0640);
  size_t n0, m0, n1, m1;
  unsigned char *s0 = slurp(sp, &n0), *p0 = slurp(np, &m0);

  /* a set that cannot be written: refused before any file is touched */
  tset_put(&ts, "bad", tensor_new((DType)DT_COUNT, shp(0)));
  d.nerr = 0;
  CHECK(st_write(sp, &ts, &d) != 0);
  CHECK_INT(d.nerr, 1);
  CHECK_STR(msg(&d), "tensor 'bad': cannot write dtype ?");
  tset_put(&ts, "bad", filled(DT_F32, shp(1, 1)));
  tset_put(&ts, "__metadata__", filled(DT_F32, shp(1, 1)));
  CHECK(st_write(sp, &ts, &d) != 0);
  CHECK_STR(msg(&d), "a tensor cannot be named '__metadata__' (the name is reserved)");
  TensorSet ts2;
  tset_init(&ts2);
  tset_put(&ts2, "w", filled(DT_F32, shp(1, 300000)));
  Tensor *big = filled(DT_F64, shp(1, 300000));

  /* a write that fails half way (the file size limit): the old files are untouched and
   * no temporary file remains */
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 64 * 1024;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  d.nerr = 0;
  CHECK(st_write(sp, &ts2, &d) != 0);
  CHECK_INT(d.nerr, 1);
  CHECK_STR(msg(&d), "cannot write: File too large");
  CHECK(npy_write(np, big, &d) != 0);
  CHECK_INT(d.nerr, 2);
  CHECK_STR(msg(&d), "cannot write: File too large");
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  unsigned char *s1 = slurp(sp, &n1), *p1 = slurp(np, &m1);
  CHECK(s0 && s1 && n0 == n1 && !memcmp(s0, s1, n0));
  CHECK(p0 && p1 && m0 == m1 && !memcmp(p0, p1, m0));
  CHECK_INT(count_tmp_files(), 0);
  TensorSet rd;
  tset_init(&rd);
  d.nerr = 0;
  CHECK_INT(st_read(sp, &rd, &d), 0);
  CHECK(tensor_same(tset_get(&rd, "w"), tset_get(&ts, "w")));

  /* the limit lifted, the same writes succeed and replace the files */
  CHECK_INT(st_write(sp, &ts2, &d), 0);
  CHECK_INT(npy_write(np, big, &d), 0);
  Tensor *r = NULL;
  CHECK_INT(npy_read(np, &r, &d), 0);
  CHECK(tensor_same(r, big));
  CHECK_INT(count_tmp_files(), 0);

  free(s0), free(s1), free(p0), free(p1);
  tensor_free(r), tensor_free(big), tensor_free(t);
  tset_free(&rd), tset_free(&ts), tset_free(&ts2);
}

int main(void) {
  if (scratch_begin()) return 1;
  RUN(test_atomic);
  scratch_end();
  return CHECK_DONE();
}
