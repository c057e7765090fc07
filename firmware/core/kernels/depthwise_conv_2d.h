/* DEPTHWISE_CONV_2D, int8, per-channel filters, any depth multiplier
 * (TFLM DepthwiseConvPerChannel). Output channel = input channel * multiplier + m. */
#ifndef KWS_KERNELS_DEPTHWISE_CONV_2D_H_
#define KWS_KERNELS_DEPTHWISE_CONV_2D_H_

#include <stdint.h>

typedef struct {
  int input_height, input_width, input_depth;
  int output_height, output_width, output_depth; /* output_depth = input_depth * multiplier */
  int depth_multiplier;
  int filter_height, filter_width;
  int stride_height, stride_width;
  int padding_top, padding_left;
  int32_t input_offset;  /* -input zero point */
  int32_t output_offset; /* output zero point */
  int32_t activation_min, activation_max;
  const int8_t* filter;        /* [1][filter_height][filter_width][output_depth] */
  const int32_t* bias;         /* [output_depth] (zeros when the model has none) */
  const int32_t* folded_bias;  /* [output_depth]: bias + input_offset * sum(filter[.., c]) */
  const int32_t* output_multiplier;
  const int32_t* output_shift;
} KwsDepthwiseConv2DParams;

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* params, const int8_t* input,
                           int8_t* output);

#endif /* KWS_KERNELS_DEPTHWISE_CONV_2D_H_ */
