/* cache.c — the compile cache; see cache.h.
 *
 * Entry file <hex key>.mobj:
 *   "MIMICOBJ"  8 bytes
 *   version     u32 (CACHE_FORMAT)
 *   key         32 bytes (must equal the file name's)
 *   size        u64, bytes of the object
 *   checksum    32 bytes, BLAKE3 of the object
 *   object      size bytes */
#include "jit/cache.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <llvm-c/blake3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "afile.h"

#define CACHE_FORMAT 1u
#define HEADER_BYTES (8 + 4 + 32 + 8 + 32)

static void put(llvm_blake3_hasher *h, const char *s) {
  llvm_blake3_hasher_update(h, s, strlen(s) + 1); /* the NUL separates the fields */
}

/* The running program's GNU build ID: it changes whenever mimic's code (codegen
 * included) is rebuilt, so a developer's cache never serves objects from an older code
 * generator under the same version number. dl_iterate_phdr lists the main program first. */
static int build_id(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  llvm_blake3_hasher *h = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      const char *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3) & ~3u);
      if (desc + nh->n_descsz > end) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
        llvm_blake3_hasher_update(h, desc, nh->n_descsz);
        return 1;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  return 1; /* the main program only */
}

void cache_key(CacheKey *k, const char *ir_text, const CgTarget *t, const char *variant) {
  llvm_blake3_hasher h;
  llvm_blake3_hasher_init(&h);
  put(&h, "mimic " MIMIC_VERSION);
  dl_iterate_phdr(build_id, &h);
  put(&h, t->triple);
  put(&h, t->cpu);
  put(&h, t->features);
  put(&h, variant);
  put(&h, ir_text);
  llvm_blake3_hasher_finalize(&h, k->b, sizeof k->b);
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir(path, 0755);
    *p = '/';
    if (rc && errno != EEXIST) return -1;
  }
  return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

int cache_dir(char *buf, size_t n, const char *override) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int len;
  if (override) len = snprintf(buf, n, "%s", override);
  else if (xdg && *xdg == '/') len = snprintf(buf, n, "%s/mimic", xdg);
  else if (home && *home) len = snprintf(buf, n, "%s/.cache/mimic", home);
  else return -1;
  if (len <= 0 || (size_t)len >= n) return -1;
  return mkdirs(buf);
}

static void entry_path(char *buf, size_t n, const char *dir, const CacheKey *k) {
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", k->b[i]);
  snprintf(buf, n, "%s/%s.mobj", dir, hex);
}

int cache_load(const char *dir, const CacheKey *k, void **obj, size_t *n) {
  char path[4200];
  entry_path(path, sizeof path, dir, k);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  unsigned char hdr[HEADER_BYTES];
  uint32_t version;
  uint64_t size;
  void *data = NULL;
  int ok = fread(hdr, 1, sizeof hdr, f) == sizeof hdr && !memcmp(hdr, "MIMICOBJ", 8);
  if (ok) {
    memcpy(&version, hdr + 8, 4);
    memcpy(&size, hdr + 44, 8);
    ok = version == CACHE_FORMAT && !memcmp(hdr + 12, k->b, 32) && size > 0 && size < ((uint64_t)1 << 34);
  }
  if (ok) {
    data = malloc(size);
    ok = data && fread(data, 1, size, f) == size && fgetc(f) == EOF;
  }
  if (ok) {
    uint8_t sum[32];
    llvm_blake3_hasher h;
    llvm_blake3_hasher_init(&h);
    llvm_blake3_hasher_update(&h, data, size);
    llvm_blake3_hasher_finalize(&h, sum, 32);
    ok = !memcmp(sum, hdr + 52, 32);
  }
  fclose(f);
  if (!ok) {
    free(data);
    remove(path);
    return -1;
  }
  *obj = data;
  *n = size;
  return 1;
}

int cache_store(const char *dir, const CacheKey *k, const void *obj, size_t n, Diag *d) {
  char path[4200];
  entry_path(path, sizeof path, dir, k);
  unsigned char hdr[HEADER_BYTES];
  uint32_t version = CACHE_FORMAT;
  uint64_t size = n;
  memcpy(hdr, "MIMICOBJ", 8);
  memcpy(hdr + 8, &version, 4);
  memcpy(hdr + 12, k->b, 32);
  memcpy(hdr + 44, &size, 8);
  llvm_blake3_hasher h;
  llvm_blake3_hasher_init(&h);
  llvm_blake3_hasher_update(&h, obj, n);
  llvm_blake3_hasher_finalize(&h, hdr + 52, 32);
  AFile af;
  if (afile_open(&af, path, d)) return -1;
  afile_write(&af, hdr, sizeof hdr);
  afile_write(&af, obj, n);
  return afile_commit(&af, d);
}
