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
  const int32_t* bias;  /* [output_depth] or NULL */
  /* [output_depth]: bias + input_offset * sum(filter[c]), computed on the host, so
   * windows without padding taps are a plain int8 dot product. */
  const int32_t* folded_bias;
  const int32_t* output_multiplier; /* [output_depth] Q31 */
  const int32_t* output_shift;      /* [output_depth] power-of-two exponent */
} KwsConv2DParams;

/* input NHWC [1][input_height][input_width][input_depth] -> output NHWC. */
void kws_conv_2d(const KwsConv2DParams* params, const int8_t* input, int8_t* output);

#endif /* KWS_KERNELS_CONV_2D_H_ */
