/* The few Cortex-M4 DSP instructions the conv kernels are written in, with exact C99
 * equivalents for targets without them (the host `native` engine, Cortex-M3). One algorithm
 * for both paths means the host tests exercise the data layouts the board runs.
 *
 * Packed operands are int32 words holding two int16 halves (low half first by value, not
 * by memory order) or four int8 bytes, as the compiler packs its weights. */
#ifndef KWS_KERNELS_SIMD_H_
#define KWS_KERNELS_SIMD_H_

#include <stdint.h>

/* Keeps a hot loop in its own function: inlined into a large caller, GCC runs out of the
 * M4's registers and spills inside the loop. */
#if defined(__GNUC__)
#define KWS_NOINLINE __attribute__((noinline))
#else
#define KWS_NOINLINE
#endif

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* Bytes 0 and 2 sign-extended into the two halves. */
static inline int32_t kws_sxtb16(int32_t word) { return __sxtb16(word); }

/* Bytes 1 and 3: SXTB16 with its built-in ROR #8 (ACLE has no intrinsic for it). */
static inline int32_t kws_sxtb16_ror8(int32_t word) {
  int32_t result;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(word));
  return result;
}

/* acc + a.lo * b.lo + a.hi * b.hi */
static inline int32_t kws_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }

/* round(a * b / 2^32), ties toward +infinity: (a * b + 2^31) >> 32. */
static inline int32_t kws_smmulr(int32_t a, int32_t b) {
  int32_t result;
  __asm__("smmulr %0, %1, %2" : "=r"(result) : "r"(a), "r"(b));
  return result;
}

#else /* portable C99 */

static inline int32_t kws_pack_int16x2(int32_t lo, int32_t hi) {
  return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

static inline int32_t kws_sxtb16(int32_t word) {
  return kws_pack_int16x2((int8_t)(word & 0xFF), (int8_t)((word >> 16) & 0xFF));
}

static inline int32_t kws_sxtb16_ror8(int32_t word) {
  return kws_pack_int16x2((int8_t)((word >> 8) & 0xFF), (int8_t)((word >> 24) & 0xFF));
}

static inline int32_t kws_smlad(int32_t a, int32_t b, int32_t acc) {
  /* Unsigned sum: wraps like the instruction (the kernels' bounds keep it from wrapping). */
  return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)(a & 0xFFFF) *
                                              (int16_t)(b & 0xFFFF)) +
                   (uint32_t)((a >> 16) * (b >> 16)));
}

static inline int32_t kws_smmulr(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 31)) >> 32);
}

#endif /* __ARM_FEATURE_DSP */

/* Two int16 values at p (any alignment) as one packed word: p[0] low, p[1] high. */
static inline int32_t kws_load_int16x2(const int16_t* p) {
  return (int32_t)((uint32_t)(uint16_t)p[0] | ((uint32_t)(uint16_t)p[1] << 16));
}

/* Four int8 values at p (any alignment) as one word, byte k in bits 8k..8k+7; GCC merges
 * this into a single LDR on the M4. */
static inline int32_t kws_load_int8x4(const int8_t* p) {
  return (int32_t)((uint32_t)(uint8_t)p[0] | ((uint32_t)(uint8_t)p[1] << 8) |
                   ((uint32_t)(uint8_t)p[2] << 16) | ((uint32_t)(uint8_t)p[3] << 24));
}

#endif /* KWS_KERNELS_SIMD_H_ */
