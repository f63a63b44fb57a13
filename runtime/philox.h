/* philox.h — Philox-4x32-10 (Salmon et al., SC'11; the Random123 reference) and the
 * mapping mimic's `random` op uses: key = (seed, stream), counter = (element index low
 * 32 bits, high 32 bits, 0, 0), value = (first output word >> 8) * 2^-24, a float in
 * [0, 1). Header-only and static inline so that the interpreter, the runtime and the
 * code generator's C model all compute bit-identical numbers from one definition.
 * Checked against the Random123 known-answer vectors in tests/test_interp.c. */
#ifndef MIMIC_PHILOX_H
#define MIMIC_PHILOX_H
#include <stdint.h>

#define PHILOX_M0 0xD2511F53u /* multiplier applied to counter word 0 */
#define PHILOX_M1 0xCD9E8D57u /* multiplier applied to counter word 2 */
#define PHILOX_W0 0x9E3779B9u /* key bump for key word 0 (golden ratio) */
#define PHILOX_W1 0xBB67AE85u /* key bump for key word 1 (sqrt(3) - 1) */

/* One Philox round: two 32x32->64 multiplies, mixed with the other words and the key. */
static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
  uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
  uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
  uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
  uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
  uint32_t c1 = ctr[1], c3 = ctr[3];
  ctr[0] = hi1 ^ c1 ^ key[0];
  ctr[1] = lo1;
  ctr[2] = hi0 ^ c3 ^ key[1];
  ctr[3] = lo0;
}

/* Advance the key between rounds (Weyl sequence, wraps mod 2^32). */
static inline void philox_bump(uint32_t key[2]) {
  key[0] += PHILOX_W0;
  key[1] += PHILOX_W1;
}

/* The block function: out = Philox4x32-10(ctr, key). Ten rounds, the key bumped
 * between consecutive rounds (nine bumps), as Random123's philox4x32_R(10, ...). */
static inline void philox_4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  uint32_t k[2] = {key[0], key[1]};
  for (int r = 0; r < 10; r++) {
    if (r) philox_bump(k);
    philox_round(c, k);
  }
  for (int i = 0; i < 4; i++) out[i] = c[i];
}

/* A 32-bit word to a float in [0, 1): its top 24 bits times 2^-24, exact in f32 (24-bit
 * significand), so the largest value is 1 - 2^-24 and 1.0 is never produced. */
static inline float philox_to_unit(uint32_t w) {
  return (float)(w >> 8) * (1.0f / 16777216.0f);
}

/* Element `index` of the `random` op's output for (seed, stream). The seed is the i32
 * value reinterpreted as uint32; the stream attribute is truncated to 32 bits. Only the
 * first of the four output words is used: one element, one block, so any element can be
 * computed alone, in any order, by any thread. */
static inline float philox_uniform(uint32_t seed, uint32_t stream, uint64_t index) {
  uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), 0, 0};
  uint32_t key[2] = {seed, stream};
  uint32_t out[4];
  philox_4x32_10(ctr, key, out);
  return philox_to_unit(out[0]);
}

#endif
