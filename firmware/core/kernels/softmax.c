#include "kernels/softmax.h"

#include "kernels/quantize.h"

/* Fixed-point formats below are named Qi.f after gemmlowp's FixedPoint<int32, i>. */
#define KWS_SCALED_DIFF_INTEGER_BITS 5  /* exp() input: Q5.26 */
#define KWS_ACCUMULATION_INTEGER_BITS 12 /* sum of exps: Q12.19 */

/* Saturating x * 2^exponent for exponent >= 0 (gemmlowp SaturatingRoundingMultiplyByPOT). */
static int32_t saturating_shift_left(int32_t x, int exponent) {
  const int32_t limit = INT32_MAX >> exponent;
  if (x > limit) return INT32_MAX;
  if (x < -limit - 1) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp fixed-point add: plain wrap-around int32 addition. */
static int32_t fixed_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* exp(x) for x in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;     /* exp(-1/8) */
  const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
  const int32_t x = fixed_add(a, (int32_t)1 << 28); /* a + 1/8 */
  const int32_t x2 = kws_srdhm(x, x);
  const int32_t x3 = kws_srdhm(x2, x);
  const int32_t x4 = kws_srdhm(x2, x2);
  const int32_t x4_over_4 = kws_rounding_divide_by_pot(x4, 2);
  const int32_t poly = kws_rounding_divide_by_pot(
      fixed_add(kws_srdhm(fixed_add(x4_over_4, x3), constant_1_over_3), x2), 1);
  return fixed_add(constant_term, kws_srdhm(constant_term, fixed_add(x, poly)));
}

/* gemmlowp exp_on_negative_values for a Q5.26 input <= 0; result Q0.31. */
static int32_t exp_on_negative_values(int32_t a) {
  static const int32_t barrel_multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                                39332535,   720401,     242};
  const int fractional_bits = 31 - KWS_SCALED_DIFF_INTEGER_BITS;
  const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      saturating_shift_left(a_mod_quarter_minus_one_quarter, KWS_SCALED_DIFF_INTEGER_BITS));
  const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
  int k;
  /* Multiply in exp(-2^e) for every set bit of the remainder, e = -2 .. 4. */
  for (k = 0; k < 7; ++k) {
    const int bit = fractional_bits - 2 + k;
    if (remainder & ((int32_t)1 << bit)) result = kws_srdhm(result, barrel_multipliers[k]);
  }
  return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: Q0.31 in, Q0.31 out, Newton-Raphson. */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
  const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
  const int32_t one_q2 = (int32_t)1 << 29;
  /* RoundingHalfSum(a, One) with One = INT32_MAX in Q0.31. */
  const int64_t sum = (int64_t)a + INT32_MAX;
  const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = fixed_add(constant_48_over_17, kws_srdhm(half_denominator, constant_neg_32_over_17));
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = kws_srdhm(half_denominator, x);
    const int32_t one_minus = (int32_t)((uint32_t)one_q2 - (uint32_t)half_denominator_times_x);
    x = fixed_add(x, saturating_shift_left(kws_srdhm(x, one_minus), 2));
  }
  /* ExactMulByPot<-1> reinterprets Q2.29 as Q1.30; Rescale to Q0.31 doubles. */
  return saturating_shift_left(x, 1);
}

static int count_leading_zeros(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

void kws_softmax(const KwsSoftmaxParams* p, const int8_t* input, int8_t* output) {
  int row, c;
  for (row = 0; row < p->rows; ++row) {
    const int8_t* in = input + row * p->depth;
    int8_t* out = output + row * p->depth;
    int32_t max_in_row = -128;
    int32_t sum_of_exps = 0; /* Q12.19 */
    int headroom_plus_one, num_bits_over_unit;
    int32_t shifted_sum_minus_one, shifted_scale;
    for (c = 0; c < p->depth; ++c) {
      if (in[c] > max_in_row) max_in_row = in[c];
    }
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      if (diff >= p->diff_min) {
        const int32_t scaled = kws_multiply_by_quantized_multiplier(
            diff, p->input_multiplier, (int)p->input_left_shift);
        sum_of_exps = fixed_add(sum_of_exps, kws_rounding_divide_by_pot(
                                                 exp_on_negative_values(scaled),
                                                 KWS_ACCUMULATION_INTEGER_BITS));
      }
    }
    /* GetReciprocal: normalise the sum into [1, 2) and invert it. */
    headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
    num_bits_over_unit = KWS_ACCUMULATION_INTEGER_BITS - headroom_plus_one;
    shifted_sum_minus_one =
        (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
    shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = in[c] - max_in_row;
      int32_t value = -128;
      if (diff >= p->diff_min) {
        const int32_t scaled = kws_multiply_by_quantized_multiplier(
            diff, p->input_multiplier, (int)p->input_left_shift);
        const int32_t exp_value = exp_on_negative_values(scaled);
        value = kws_rounding_divide_by_pot(kws_srdhm(shifted_scale, exp_value),
                                           num_bits_over_unit + 31 - 8) - 128;
        if (value < -128) value = -128;
        if (value > 127) value = 127;
      }
      out[c] = (int8_t)value;
    }
  }
}
