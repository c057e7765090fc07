/* Fixed-point requantization shared by the int8 kernels.
 *
 * Matches TFLM's reference arithmetic exactly (double rounding, as TFLM builds without
 * TFLITE_SINGLE_ROUNDING): the host turns each real multiplier into an int32 Q31
 * multiplier and a power-of-two shift (QuantizeMultiplier), and the kernels apply it with
 * gemmlowp's SaturatingRoundingDoublingHighMul followed by RoundingDivideByPOT. */
#ifndef KWS_KERNELS_QUANTIZE_H_
#define KWS_KERNELS_QUANTIZE_H_

#include <stdint.h>

#include "kernels/simd.h"

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating the one
 * overflowing case INT32_MIN * INT32_MIN. The nudge rounds half away from zero. */
static inline int32_t kws_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int64_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  /* C division truncates toward zero, as gemmlowp's does. */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
static inline int32_t kws_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* kws_srdhm for a multiplier > 0 (every requantization multiplier), where the saturating
 * case cannot occur. For any int64 ab, C's truncating (ab + nudge) / 2^31 equals the
 * floor (ab + 2^30) >> 31 (for ab < 0 the nudge 1 - 2^30 plus the truncation bias
 * 2^31 - 1 sum to 2^30), which compiles to one SMLAL-style multiply-add and two shifts. */
static inline int32_t kws_srdhm_positive(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* TFLM MultiplyByQuantizedMultiplier: x * multiplier * 2^shift with double rounding. */
static inline int32_t kws_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                           int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  /* Left shift through uint32 so an (unexpected) overflow wraps like TFLM instead of
   * being undefined behaviour. */
  const int32_t shifted = (int32_t)((uint32_t)x << left_shift);
  return kws_rounding_divide_by_pot(kws_srdhm(shifted, multiplier), right_shift);
}

/* Requantizes an accumulator to int8: scale, add the output zero point, clamp. */
static inline int8_t kws_requantize(int32_t acc, int32_t multiplier, int shift,
                                    int32_t output_offset, int32_t activation_min,
                                    int32_t activation_max) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = (int32_t)((uint32_t)acc << left_shift);
  /* multiplier is 0 or in [2^30, 2^31) (QuantizeMultiplier), so no saturation case. */
  int32_t value = kws_rounding_divide_by_pot(kws_srdhm_positive(shifted, multiplier),
                                             right_shift) + output_offset;
  if (value < activation_min) value = activation_min;
  if (value > activation_max) value = activation_max;
  return (int8_t)value;
}

/* kws_requantize in five instructions, for the common case the model compiler proves at
 * build time (and flags per op): every channel shifts right (shift <= -1, or multiplier 0)
 * and |acc| < 2^30. Then
 * - SRDHM(acc, M) = floor((acc * M + 2^30) / 2^31) = SMMULR(2 * acc, M), 2 * acc fits;
 * - RoundingDivideByPOT(v, r) = (v + 2^(r-1) - (v < 0)) >> r for r >= 1 (half away from
 *   zero; |v| < 2^30 so the sum cannot overflow); rounding = 2^(r-1), or 0 with M = 0,
 *   where v = 0. */
static inline int32_t kws_requantize_fast(int32_t acc, int32_t multiplier, int right_shift,
                                          int32_t rounding) {
  const int32_t v = kws_smmulr((int32_t)((uint32_t)acc << 1), multiplier);
  return (v + rounding + (v >> 31)) >> right_shift;
}

/* Output zero point and fused-activation clamp. */
static inline int8_t kws_clamp_output(int32_t value, int32_t output_offset,
                                      int32_t activation_min, int32_t activation_max) {
  value += output_offset;
  if (value < activation_min) value = activation_min;
  if (value > activation_max) value = activation_max;
  return (int8_t)value;
}

/* Clamp to [-128, 127]: one SSAT on the M4. */
static inline int8_t kws_saturate_int8(int32_t value) {
#if defined(__ARM_FEATURE_DSP)
  return (int8_t)__ssat(value, 8);
#else
  if (value < -128) value = -128;
  if (value > 127) value = 127;
  return (int8_t)value;
#endif
}

#endif /* KWS_KERNELS_QUANTIZE_H_ */
