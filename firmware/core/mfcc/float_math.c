#include "mfcc/float_math.h"

#include <stdint.h>

/* Reinterpreting through a union is defined behaviour in C99 (TC3) and needs no memcpy. */
typedef union {
  float f;
  uint32_t u;
} KwsFloatBits;

static float kws_float_from_bits(uint32_t u) {
  KwsFloatBits b;
  b.u = u;
  return b.f;
}

static uint32_t kws_bits_from_float(float f) {
  KwsFloatBits b;
  b.f = f;
  return b.u;
}

#define KWS_F32_POS_INF 0x7f800000u
#define KWS_F32_NEG_INF 0xff800000u
#define KWS_F32_QNAN 0x7fc00000u
#define KWS_F32_MANTISSA_MASK 0x007fffffu
#define KWS_F32_IMPLICIT_ONE 0x00800000u

/* ln(2) split so that k * ln2_hi is exact for every exponent k of a float (|k| < 2^8):
 * ln2_hi keeps only the top 12 mantissa bits. */
#define KWS_LN2_HI 0x1.62ep-1f
#define KWS_LN2_LO 0x1.0bfbe8p-15f

/* Mantissa bits of sqrt(2): mantissas above it are halved so m lies in [sqrt(1/2), sqrt(2)). */
#define KWS_SQRT2_MANTISSA 0x003504f3u

float kws_log_f32(float x) {
  uint32_t bits = kws_bits_from_float(x);
  uint32_t mantissa;
  int32_t exponent;
  float m, f, s, z, half_f_squared, series, k;

  if (bits & 0x80000000u) {
    /* -0 is zero; any other negative (or negative NaN) has no real logarithm. */
    return (bits & 0x7fffffffu) == 0 ? kws_float_from_bits(KWS_F32_NEG_INF)
                                      : kws_float_from_bits(KWS_F32_QNAN);
  }
  if (bits >= KWS_F32_POS_INF) return x; /* +inf and NaN pass through */
  if (bits == 0) return kws_float_from_bits(KWS_F32_NEG_INF);

  exponent = (int32_t)(bits >> 23) - 127;
  mantissa = bits & KWS_F32_MANTISSA_MASK;
  if (exponent == -127) {
    /* Subnormal: normalise the mantissa by hand. */
    exponent = -126;
    while (!(mantissa & KWS_F32_IMPLICIT_ONE)) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= KWS_F32_MANTISSA_MASK;
  }
  if (mantissa > KWS_SQRT2_MANTISSA) {
    m = kws_float_from_bits(mantissa | 0x3f000000u); /* in [sqrt(1/2), 1) */
    ++exponent;
  } else {
    m = kws_float_from_bits(mantissa | 0x3f800000u); /* in [1, sqrt(2)] */
  }

  /* log(m) = log((1 + s) / (1 - s)) with s = f / (2 + f), f = m - 1 (exact), |s| < 0.172:
   *   log(m) = 2s + s * R(s^2),  R = 2/3 z + 2/5 z^2 + ... + 2/11 z^5.
   * Written as f - (f^2/2 - s * (f^2/2 + R)) so the big terms cancel exactly. The Taylor
   * tail after z^5 is below 2^-30 relative. */
  f = m - 1.0f;
  s = f / (2.0f + f);
  z = s * s;
  series = z * (0.6666666666f +
                z * (0.4f + z * (0.2857142857f + z * (0.2222222222f + z * 0.1818181818f))));
  half_f_squared = 0.5f * f * f;
  k = (float)exponent;
  return k * KWS_LN2_HI - ((half_f_squared - (s * (half_f_squared + series) + k * KWS_LN2_LO)) - f);
}

float kws_sqrt_f32(float x) {
  uint32_t bits = kws_bits_from_float(x);
  uint64_t radicand, root, remainder, bit;
  uint32_t mantissa, rounded;
  int32_t exponent;

  if (bits == 0 || bits == 0x80000000u) return x; /* sqrt(+-0) = +-0 */
  if (bits & 0x80000000u) return kws_float_from_bits(KWS_F32_QNAN);
  if (bits >= KWS_F32_POS_INF) return x;

  exponent = (int32_t)(bits >> 23) - 127;
  mantissa = bits & KWS_F32_MANTISSA_MASK;
  if (exponent == -127) {
    exponent = -126;
    while (!(mantissa & KWS_F32_IMPLICIT_ONE)) {
      mantissa <<= 1;
      --exponent;
    }
  } else {
    mantissa |= KWS_F32_IMPLICIT_ONE;
  }
  /* x = mantissa * 2^(exponent - 23); make the exponent even so it halves exactly. */
  if (exponent & 1) {
    mantissa <<= 1;
    --exponent;
  }
  /* isqrt(mantissa * 2^25) has 25 bits: the 24 of the result plus one rounding bit. */
  radicand = (uint64_t)mantissa << 25;
  root = 0;
  remainder = radicand;
  bit = (uint64_t)1 << 48;
  while (bit > remainder) bit >>= 2;
  while (bit != 0) {
    if (remainder >= root + bit) {
      remainder -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  /* A square root is never exactly halfway between two floats, so round-half-up on the
   * extra bit is round-to-nearest.  A carry into bit 24 correctly bumps the exponent. */
  rounded = (uint32_t)((root >> 1) + (root & 1));
  return kws_float_from_bits((uint32_t)(exponent / 2 + 127) * KWS_F32_IMPLICIT_ONE +
                             (rounded - KWS_F32_IMPLICIT_ONE));
}
