/* afile.c — atomic file writing; see afile.h. */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkstemp creates files with mode 0600; the result should look like any file the user
 * creates: the old file's mode when replacing one, else 0666 less the umask. umask() can
 * only be read by setting it, which races with other threads, so read it from /proc. */
static mode_t new_file_mode(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return st.st_mode & 07777;
  unsigned mask = 022;
  FILE *f = fopen("/proc/self/status", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "Umask: %o", &mask) == 1) break;
    fclose(f);
  }
  return 0666 & ~(mode_t)mask;
}

int afile_open(AFile *a, const char *path, Diag *d) {
  memset(a, 0, sizeof *a);
  a->path = path;
  size_t n = strlen(path);
  a->tmp = malloc(n + 12);
  if (!a->tmp) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: out of memory");
    return -1;
  }
  memcpy(a->tmp, path, n);
  memcpy(a->tmp + n, ".tmp.XXXXXX", 12);
  int fd = mkstemp(a->tmp);
  if (fd < 0) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: %s", strerror(errno));
    free(a->tmp);
    a->tmp = NULL;
    return -1;
  }
  if (fchmod(fd, new_file_mode(path)) != 0 || !(a->f = fdopen(fd, "wb"))) {
    diag_error(d, (SrcLoc){path, 0, 0}, "cannot write: %s", strerror(errno));
    close(fd);
    unlink(a->tmp);
    free(a->tmp);
    a->tmp = NULL;
    return -1;
  }
  return 0;
}

void afile_write(AFile *a, const void *p, size_t n) {
  if (a->err || n == 0) return;
  if (fwrite(p, 1, n, a->f) != n) a->err = errno ? errno : EIO;
}

/* Make the rename itself durable; a failure here cannot be undone, so it is ignored. */
static void sync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

int afile_commit(AFile *a, Diag *d) {
  int err = a->err;
  if (!err && fflush(a->f) != 0) err = errno;
  if (!err && ferror(a->f)) err = EIO;
  if (!err && fsync(fileno(a->f)) != 0) err = errno;
  if (fclose(a->f) != 0 && !err) err = errno;
  a->f = NULL;
  if (!err && rename(a->tmp, a->path) != 0) err = errno;
  if (err) {
    unlink(a->tmp);
    diag_error(d, (SrcLoc){a->path, 0, 0}, "cannot write: %s", strerror(err));
  } else {
    sync_dir(a->path);
  }
  free(a->tmp);
  a->tmp = NULL;
  return err ? -1 : 0;
}

void afile_abort(AFile *a) {
  if (a->f) fclose(a->f);
  if (a->tmp) unlink(a->tmp);
  free(a->tmp);
  a->f = NULL;
  a->tmp = NULL;
}

int afile_mkdirs(const char *path, Diag *d) {
  char *p = strdup(path);
  if (!p) abort();
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s && *s != '/') continue;
    char c = *s;
    *s = 0;
    if (mkdir(p, 0755) && errno != EEXIST) {
      diag_error(d, (SrcLoc){path, 0, 0}, "cannot create the folder: %s", strerror(errno));
      rc = -1;
      break;
    }
    *s = c;
    if (!c) break;
  }
  free(p);
  return rc;
}
