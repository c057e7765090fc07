/* Deterministic float32 math for the MFCC front end.
 *
 * libm's logf differs between glibc, newlib and compiler builtins, so the host and the
 * board could disagree in the last bit.  These versions use only IEEE float32 +, -, *, /
 * (exactly rounded everywhere, given -ffp-contract=off) and integer bit manipulation, so
 * every target computes the same bits, with or without an FPU. */
#ifndef KWS_MFCC_FLOAT_MATH_H_
#define KWS_MFCC_FLOAT_MATH_H_

/* Natural logarithm, within about 1 ulp.  log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf. */
float kws_log_f32(float x);

/* Correctly rounded square root (the same bits as IEEE sqrtf); sqrt(x < 0) = NaN. */
float kws_sqrt_f32(float x);

#endif /* KWS_MFCC_FLOAT_MATH_H_ */
