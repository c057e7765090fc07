/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), TFLM's reference kernel:
 * gemmlowp fixed-point exp and reciprocal. The host computes the input multiplier with
 * PreprocessSoftmaxScaling and diff_min with CalculateInputRadius. */
#ifndef KWS_KERNELS_SOFTMAX_H_
#define KWS_KERNELS_SOFTMAX_H_

#include <stdint.h>

typedef struct {
  int rows, depth;
  int32_t input_multiplier; /* beta * input_scale * 2^26 as Q31 multiplier */
  int32_t input_left_shift; /* its (non-negative) exponent */
  int32_t diff_min;         /* differences below this give exp() == 0 */
} KwsSoftmaxParams;

void kws_softmax(const KwsSoftmaxParams* params, const int8_t* input, int8_t* output);

#endif /* KWS_KERNELS_SOFTMAX_H_ */
