/* test_image.c — images and PNG output (runtime/image.h). The PNGs written are read back
 * by a small independent reader here: the signature, every chunk's CRC-32, IHDR, PLTE,
 * the IDAT chunks inflated together, each scanline's filter byte and the pixels. Also
 * the tiling and scaling helpers, and failed writes that must leave no file behind. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "image.h"

static char dir[] = "/tmp/mimic-image-XXXXXX";

/* What the reader found in a PNG file. */
typedef struct Png {
  int ok;                  /* every structural check passed */
  uint32_t width, height;
  int depth, type;         /* IHDR bit depth and colour type */
  int nidat;               /* IDAT chunks */
  int npal;                /* PLTE entries */
  uint8_t pal[768];
  uint8_t *px;             /* height rows of width * channels bytes, filter bytes removed */
} Png;

static uint32_t be32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)len + 1);
  *n = fread(b, 1, (size_t)len, f);
  fclose(f);
  return b;
}

/* Parse and check a PNG written with filter 0 on every row; failures are CHECKs. */
static Png read_png(const char *path) {
  Png p;
  memset(&p, 0, sizeof p);
  size_t n = 0;
  uint8_t *b = slurp(path, &n);
  CHECK(b != NULL);
  if (!b) return p;
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  int ok = n >= 8 && !memcmp(b, sig, 8), seen_iend = 0, first = 1;
  CHECK(ok);
  uint8_t *z = malloc(n);
  size_t zn = 0, at = 8;
  while (ok && !seen_iend) {
    if (at + 12 > n) {
      ok = 0;
      break;
    }
    uint32_t len = be32(b + at);
    const char *type = (const char *)b + at + 4;
    if (at + 12 + len > n) {
      ok = 0;
      break;
    }
    const uint8_t *data = b + at + 8;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)type, 4 + len);
    CHECK_INT(be32(data + len), crc); /* CRC over type and data */
    if (be32(data + len) != crc) ok = 0;
    if (first) CHECK(!memcmp(type, "IHDR", 4) && len == 13); /* IHDR comes first */
    first = 0;
    if (!memcmp(type, "IHDR", 4)) {
      p.width = be32(data);
      p.height = be32(data + 4);
      p.depth = data[8];
      p.type = data[9];
      CHECK(data[10] == 0 && data[11] == 0 && data[12] == 0);
    } else if (!memcmp(type, "PLTE", 4)) {
      CHECK_INT(p.nidat, 0); /* PLTE before the data */
      p.npal = (int)len / 3;
      memcpy(p.pal, data, len);
    } else if (!memcmp(type, "IDAT", 4)) {
      memcpy(z + zn, data, len);
      zn += len;
      p.nidat++;
    } else if (!memcmp(type, "IEND", 4)) {
      CHECK_INT(len, 0);
      seen_iend = 1;
    } else {
      ok = 0; /* the writer makes no other chunks */
    }
    at += 12 + len;
  }
  CHECK(seen_iend && at == n); /* nothing after IEND */
  int channels = p.type == 2 ? 3 : 1;
  size_t row = (size_t)p.width * (size_t)channels, rawn = (size_t)p.height * (row + 1);
  uint8_t *raw = malloc(rawn + 1);
  uLongf got = (uLongf)rawn + 1; /* one spare byte shows a stream longer than promised */
  if (ok) CHECK_INT(uncompress(raw, &got, z, (uLong)zn), Z_OK);
  if (ok) CHECK_INT(got, rawn);
  ok = ok && got == rawn;
  p.px = malloc(rawn + 1);
  for (size_t y = 0; ok && y < p.height; y++) {
    CHECK_INT(raw[y * (row + 1)], 0); /* filter: none */
    memcpy(p.px + y * row, raw + y * (row + 1) + 1, row);
  }
  p.ok = ok;
  free(raw);
  free(z);
  free(b);
  return p;
}

static void path_of(char *out, const char *name) {
  sprintf(out, "%s/%s", dir, name);
}

static void test_gray(void) {
  Diag d;
  diag_init(&d);
  Image *img = image_new(5, 3, 1);
  for (int i = 0; i < 15; i++) img->px[i] = (uint8_t)(i * 17);
  char path[256];
  path_of(path, "gray.png");
  CHECK_INT(image_write_png(img, path, &d), 0);
  Png p = read_png(path);
  CHECK(p.ok);
  CHECK_INT(p.width, 5);
  CHECK_INT(p.height, 3);
  CHECK_INT(p.depth, 8);
  CHECK_INT(p.type, 0);
  CHECK_INT(p.nidat, 1);
  CHECK(p.px && !memcmp(p.px, img->px, 15));
  free(p.px);
  image_free(img);
}

static void test_rgb_and_palette(void) {
  Diag d;
  diag_init(&d);
  Image *img = image_new(4, 2, 3);
  for (int i = 0; i < 24; i++) img->px[i] = (uint8_t)(255 - i * 7);
  char path[256];
  path_of(path, "rgb.png");
  CHECK_INT(image_write_png(img, path, &d), 0);
  Png p = read_png(path);
  CHECK(p.ok && p.type == 2 && p.width == 4 && p.height == 2);
  CHECK(p.px && !memcmp(p.px, img->px, 24));
  free(p.px);
  image_free(img);

  /* indexed: 0 black, 1 red, 2 white */
  const uint8_t pal[9] = {0, 0, 0, 255, 0, 0, 255, 255, 255};
  img = image_new(3, 3, 1);
  for (int i = 0; i < 9; i++) img->px[i] = (uint8_t)(i % 3);
  path_of(path, "pal.png");
  CHECK_INT(image_write_png_palette(img, pal, 3, path, &d), 0);
  p = read_png(path);
  CHECK(p.ok && p.type == 3 && p.npal == 3 && !memcmp(p.pal, pal, 9));
  CHECK(p.px && !memcmp(p.px, img->px, 9));
  free(p.px);
  d.quiet = 1;
  img->px[4] = 3;
  path_of(path, "pal-bad.png");
  CHECK_INT(image_write_png_palette(img, pal, 3, path, &d), -1);
  CHECK(strstr(d.last, "pixel 4 is colour 3 of a 3-colour palette") != NULL);
  CHECK(access(path, F_OK) != 0);
  image_free(img);
}

/* Incompressible pixels make more than one IDAT chunk (each at most 1 MiB). */
static void test_large(void) {
  Diag d;
  diag_init(&d);
  Image *img = image_new(1200, 1000, 1);
  uint32_t s = 12345;
  for (int i = 0; i < 1200 * 1000; i++) {
    s = s * 1664525u + 1013904223u;
    img->px[i] = (uint8_t)(s >> 24);
  }
  char path[256];
  path_of(path, "large.png");
  CHECK_INT(image_write_png(img, path, &d), 0);
  Png p = read_png(path);
  CHECK(p.ok && p.nidat == 2);
  CHECK(p.px && !memcmp(p.px, img->px, 1200 * 1000));
  free(p.px);
  image_free(img);
}

static void test_helpers(void) {
  /* two 1x2 images [c=1, h=1, w=2] in [-1, 1]: -1 -> 0, 1 -> 255, 0 -> 128 (127.5 to
   * even), out of range and NaN clamped */
  float x[4] = {-1, 1, 0, NAN};
  Image *a = image_from_f32(x, 1, 1, 2, -1, 1);
  CHECK(a && a->px[0] == 0 && a->px[1] == 255);
  Image *b = image_from_f32(x + 2, 1, 1, 2, -1, 1);
  CHECK(b && b->px[0] == 128 && b->px[1] == 0);
  float big[2] = {5, -5};
  Image *c = image_from_f32(big, 1, 1, 2, -1, 1);
  CHECK(c && c->px[0] == 255 && c->px[1] == 0);
  CHECK(image_from_f32(x, 1, 1, 2, 1, 1) == NULL);
  /* planar RGB in, interleaved out */
  float rgb[6] = {1, 0, 0, 1, 0, 0}; /* R plane, G plane, B plane of a 1x2 image: red, green */
  Image *e = image_from_f32(rgb, 3, 1, 2, 0, 1);
  const uint8_t want_e[6] = {255, 0, 0, 0, 255, 0};
  CHECK(e && !memcmp(e->px, want_e, 6));

  Image *s = image_scale(a, 3); /* 6x3: each pixel a 3x3 square */
  CHECK(s && s->width == 6 && s->height == 3);
  CHECK(s && s->px[0] == 0 && s->px[2] == 0 && s->px[3] == 255 && s->px[2 * 6 + 5] == 255);
  CHECK(image_scale(a, 0) == NULL);

  /* three tiles in two columns: cells 2x1 (the largest tile), 1-pixel lines of 200 */
  const Image *tiles[3] = {a, NULL, c};
  Image *t = image_tile(tiles, 3, 2, 200);
  CHECK(t && t->width == 2 * 3 + 1 && t->height == 2 * 2 + 1 && t->channels == 1);
  if (t) {
    const uint8_t want[5 * 7] = {200, 200, 200, 200, 200, 200, 200, /* top line */
                                 200, 0, 255, 200, 0, 0, 200,       /* a, empty cell */
                                 200, 200, 200, 200, 200, 200, 200, /* line */
                                 200, 255, 0, 200, 200, 200, 200,   /* c, past the last tile */
                                 200, 200, 200, 200, 200, 200, 200};
    CHECK(!memcmp(t->px, want, sizeof want));
  }
  /* a colour tile makes the whole grid colour, gray tiles expanded */
  const Image *mixed[2] = {a, e};
  Image *m = image_tile(mixed, 2, 2, 9);
  CHECK(m && m->channels == 3 && m->width == 7 && m->height == 3);
  if (m) {
    const uint8_t *r1 = m->px + 7 * 3; /* row 1 */
    const uint8_t want_r1[21] = {9, 9, 9, 0, 0, 0, 255, 255, 255, 9, 9, 9, 255, 0, 0, 0, 255, 0, 9, 9, 9};
    CHECK(!memcmp(r1, want_r1, 21));
  }
  /* the one-call grid of a batch [2, 1, 1, 2] at scale 2 */
  Image *g = image_grid_f32(x, 2, 1, 1, 2, 1, -1, 1, 2, 255);
  CHECK(g && g->width == 4 + 2 && g->height == 2 * 3 + 1);
  if (g) {
    CHECK_INT(g->px[1 * 6 + 1], 0);   /* first image, first pixel */
    CHECK_INT(g->px[2 * 6 + 4], 255); /* first image, second pixel, lower row */
    CHECK_INT(g->px[3 * 6 + 2], 255); /* the line between the images */
    CHECK_INT(g->px[4 * 6 + 2], 128); /* second image, first pixel */
  }
  Diag d;
  diag_init(&d);
  char path[256];
  path_of(path, "grid.png");
  CHECK_INT(image_write_png(m, path, &d), 0);
  Png p = read_png(path);
  CHECK(p.ok && p.type == 2 && m && !memcmp(p.px, m->px, 7 * 3 * 3));
  free(p.px);
  image_free(a);
  image_free(b);
  image_free(c);
  image_free(e);
  image_free(s);
  image_free(t);
  image_free(m);
  image_free(g);
}

static int files_in(const char *path) {
  DIR *dp = opendir(path);
  if (!dp) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(dp);
  return n;
}

static void test_failures(void) {
  Diag d;
  diag_init(&d);
  d.quiet = 1;
  Image *img = image_new(2, 2, 1);
  char path[256];
  path_of(path, "no/such/dir/x.png");
  CHECK_INT(image_write_png(img, path, &d), -1);
  CHECK(strstr(d.last, "x.png: error: cannot write: No such file or directory") != NULL);
  CHECK(access(path, F_OK) != 0);
  /* a rejected image leaves an existing file untouched and no temporary beside it */
  path_of(path, "keep.png");
  CHECK_INT(image_write_png(img, path, &d), 0);
  int before = files_in(dir);
  struct stat st0, st1;
  CHECK_INT(stat(path, &st0), 0);
  Image bad = {2, 2, 2, img->px};
  CHECK_INT(image_write_png(&bad, path, &d), -1);
  CHECK(strstr(d.last, "not a valid image (2x2, 2 channels)") != NULL);
  CHECK_INT(image_write_png(NULL, path, &d), -1);
  CHECK_INT(stat(path, &st1), 0);
  CHECK_INT(st1.st_size, st0.st_size);
  CHECK_INT(files_in(dir), before);
  /* a folder where the file should go: the rename fails, the temporary is removed */
  path_of(path, "adir");
  CHECK_INT(mkdir(path, 0755), 0);
  CHECK_INT(image_write_png(img, path, &d), -1);
  CHECK(strstr(d.last, "cannot write") != NULL);
  CHECK_INT(files_in(dir), before + 1);
  CHECK(image_new(0, 1, 1) == NULL && image_new(1, 1, 2) == NULL && image_new(1 << 16, 1 << 16, 1) == NULL);
  image_free(img);
}

int main(void) {
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  RUN(test_gray);
  RUN(test_rgb_and_palette);
  RUN(test_large);
  RUN(test_helpers);
  RUN(test_failures);
  int rc = CHECK_DONE();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (!rc && system(cmd) != 0) rc = 1; /* keep the files of a failed run to look at */
  return rc;
}
