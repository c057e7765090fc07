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
  /* One input channel widened to int16 with the input offset added and zero padding:
   * plane_height = (output_height - 1) * stride_height + filter_height rows of
   * plane_width = (output_width - 1) * stride_width + 2 * filter_pairs values. */
  int plane_height, plane_width;
  int filter_pairs; /* (filter_width + 1) / 2 */
  /* [output_depth][filter_height][filter_pairs]: taps (2j, 2j+1) of a filter row as int16
   * halves of one word (low half first; a zero tap pads odd widths), packed by the model
   * compiler. */
  const int32_t* filter;
  const int32_t* bias; /* [output_depth] (zeros when the model has none) */
  /* Direct path (scratch == NULL, chosen by the compiler when a plane would cost more RAM
   * than the input; the plane fields stay filled): the filter as [1][filter_height][filter_width][output_depth] int8 and
   * bias + input_offset * sum(filter[.., c]). NULL on the plane path. */
  const int8_t* filter_hwc;
  const int32_t* folded_bias;
  const int32_t* output_multiplier;
  const int32_t* output_shift;
  /* See KwsConv2DParams: kws_requantize_fast's rounding terms and when it applies. */
  const int32_t* output_rounding;
  int fast_requantize;
  /* KWS_DEPTHWISE_CONV_2D_SCRATCH_BYTES, word-aligned, in the arena: the plane, then one
   * channel's int32 accumulators. */
  int8_t* scratch;
} KwsDepthwiseConv2DParams;

#define KWS_DEPTHWISE_CONV_2D_SCRATCH_BYTES(plane_height, plane_width, output_pixels) \
  (((2 * (plane_height) * (plane_width) + 3) / 4) * 4 + 4 * (output_pixels))

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* params, const int8_t* input,
                           int8_t* output);

/* The plane path's two stages, shared with the fused convolution + depthwise kernel:
 * input channel ic into the (zero-bordered) plane, then the accumulators of every output
 * pixel of output channel oc, row-major into acc[output_height * output_width]. */
void kws_depthwise_fill_plane(const KwsDepthwiseConv2DParams* params, const int8_t* input,
                              int ic, int16_t* plane);
void kws_depthwise_accumulate_channel(const KwsDepthwiseConv2DParams* params,
                                      const int16_t* plane, int oc, int32_t* acc);

#endif /* KWS_KERNELS_DEPTHWISE_CONV_2D_H_ */
