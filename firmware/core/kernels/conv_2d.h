/* CONV_2D, int8 activations, per-channel symmetric int8 filters (TFLM ConvPerChannel). */
#ifndef KWS_KERNELS_CONV_2D_H_
#define KWS_KERNELS_CONV_2D_H_

#include <stdint.h>

typedef struct {
  int input_height, input_width, input_depth;
  int output_height, output_width, output_depth;
  int filter_height, filter_width;
  int stride_height, stride_width;
  int padding_top, padding_left; /* taps before the first input row / column (SAME) */
  int32_t input_offset;          /* -input zero point */
  int32_t output_offset;         /* output zero point */
  int32_t activation_min, activation_max;
  const int8_t* filter; /* OHWI: [output_depth][filter_height][filter_width][input_depth] */
  /* [output_depth]: bias + input_offset * sum(filter[c]), computed on the host, so every
   * output is a plain int8 dot product (padding taps read the input zero point, which
   * contributes nothing). */
  const int32_t* folded_bias;
  const int32_t* output_multiplier; /* [output_depth] Q31 */
  const int32_t* output_shift;      /* [output_depth] power-of-two exponent */
  /* 2 * filter_height * filter_width * input_depth bytes of working memory (planned in
   * the arena) for the receptive fields of two pixels; unused (may be NULL) for a 1x1
   * filter without padding, which reads the input in place. */
  int8_t* scratch;
} KwsConv2DParams;

/* Bytes of scratch kws_conv_2d needs for these dimensions. */
#define KWS_CONV_2D_SCRATCH_BYTES(filter_height, filter_width, input_depth) \
  (2 * (filter_height) * (filter_width) * (input_depth))

/* input NHWC [1][input_height][input_width][input_depth] -> output NHWC. */
void kws_conv_2d(const KwsConv2DParams* params, const int8_t* input, int8_t* output);

#endif /* KWS_KERNELS_CONV_2D_H_ */
