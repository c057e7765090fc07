/* int8 dot products: the inner loop of CONV_2D and FULLY_CONNECTED.
 *
 * Inputs are raw int8 (no zero-point offset): the kernels fold `input_offset * sum(w)`
 * into a host-computed bias, so the products are plain int8 x int8 and the Cortex-M4 path
 * can use SMLAD on sign-extended halfword pairs. Integer sums are exact in any order, so
 * both paths give identical results. */
#ifndef KWS_KERNELS_DOT_S8_H_
#define KWS_KERNELS_DOT_S8_H_

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* Four int8 values as one little-endian word; GCC merges this into a single (unaligned)
 * LDR on the M4, and it stays free of aliasing and alignment assumptions. */
static inline uint32_t kws_load_s8x4(const int8_t* p) {
  return (uint32_t)(uint8_t)p[0] | ((uint32_t)(uint8_t)p[1] << 8) |
         ((uint32_t)(uint8_t)p[2] << 16) | ((uint32_t)(uint8_t)p[3] << 24);
}

/* Bytes 1 and 3 sign-extended into two halfwords: one SXTB16 with its built-in ROR #8
 * (ACLE has no intrinsic for the rotated form; a separate ROR would cost an instruction). */
static inline int32_t kws_sxtb16_odd(uint32_t word) {
  int32_t result;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(word));
  return result;
}

static inline int32_t kws_dot_s8(const int8_t* a, const int8_t* b, int n) {
  int32_t acc = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t va = kws_load_s8x4(a + i);
    const uint32_t vb = kws_load_s8x4(b + i);
    acc = __smlad(__sxtb16((int32_t)va), __sxtb16((int32_t)vb), acc);
    acc = __smlad(kws_sxtb16_odd(va), kws_sxtb16_odd(vb), acc);
  }
  for (; i < n; ++i) acc += (int32_t)a[i] * b[i];
  return acc;
}

/* Two inputs x two weight rows: each loaded word feeds two SMLADs. */
static inline void kws_dot_s8_2x2(const int8_t* x0, const int8_t* x1, const int8_t* w0,
                                  const int8_t* w1, int n, int32_t* acc) {
  int32_t acc00 = 0, acc01 = 0, acc10 = 0, acc11 = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint32_t vx0 = kws_load_s8x4(x0 + i);
    const uint32_t vx1 = kws_load_s8x4(x1 + i);
    const int32_t x0_even = __sxtb16((int32_t)vx0), x0_odd = kws_sxtb16_odd(vx0);
    const int32_t x1_even = __sxtb16((int32_t)vx1), x1_odd = kws_sxtb16_odd(vx1);
    uint32_t vw = kws_load_s8x4(w0 + i);
    int32_t w_even = __sxtb16((int32_t)vw), w_odd = kws_sxtb16_odd(vw);
    acc00 = __smlad(x0_even, w_even, acc00);
    acc00 = __smlad(x0_odd, w_odd, acc00);
    acc10 = __smlad(x1_even, w_even, acc10);
    acc10 = __smlad(x1_odd, w_odd, acc10);
    vw = kws_load_s8x4(w1 + i);
    w_even = __sxtb16((int32_t)vw);
    w_odd = kws_sxtb16_odd(vw);
    acc01 = __smlad(x0_even, w_even, acc01);
    acc01 = __smlad(x0_odd, w_odd, acc01);
    acc11 = __smlad(x1_even, w_even, acc11);
    acc11 = __smlad(x1_odd, w_odd, acc11);
  }
  for (; i < n; ++i) {
    acc00 += (int32_t)x0[i] * w0[i];
    acc01 += (int32_t)x0[i] * w1[i];
    acc10 += (int32_t)x1[i] * w0[i];
    acc11 += (int32_t)x1[i] * w1[i];
  }
  acc[0] = acc00;
  acc[1] = acc01;
  acc[2] = acc10;
  acc[3] = acc11;
}

#else /* portable C99 */

static inline int32_t kws_dot_s8(const int8_t* a, const int8_t* b, int n) {
  int32_t acc = 0;
  int i;
  for (i = 0; i < n; ++i) acc += (int32_t)a[i] * b[i];
  return acc;
}

/* acc = {x0.w0, x0.w1, x1.w0, x1.w1}: each loaded value is used twice. */
static inline void kws_dot_s8_2x2(const int8_t* x0, const int8_t* x1, const int8_t* w0,
                                  const int8_t* w1, int n, int32_t* acc) {
  int32_t acc00 = 0, acc01 = 0, acc10 = 0, acc11 = 0;
  int i;
  for (i = 0; i < n; ++i) {
    const int32_t a0 = x0[i], a1 = x1[i], b0 = w0[i], b1 = w1[i];
    acc00 += a0 * b0;
    acc01 += a0 * b1;
    acc10 += a1 * b0;
    acc11 += a1 * b1;
  }
  acc[0] = acc00;
  acc[1] = acc01;
  acc[2] = acc10;
  acc[3] = acc11;
}

#endif /* __ARM_FEATURE_DSP */

#endif /* KWS_KERNELS_DOT_S8_H_ */
