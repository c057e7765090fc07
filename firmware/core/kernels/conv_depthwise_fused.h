/* A convolution over a one-channel input (DS-CNN's first layer) fused with the depthwise
 * convolution (multiplier 1) that reads it: the convolution's output never exists whole.
 *
 * The convolution over one input channel is a depthwise convolution with multiplier =
 * its output depth, so it runs as one (kws_depthwise_accumulate_channel over the widened
 * input plane). Output channel c of the convolution is requantized straight into the
 * depthwise plane of channel c (int16, the depthwise input offset added), then depthwise
 * channel c is written to the NHWC output (kws_depthwise_plane_rows). Both are exact
 * integer sums with TFLM's requantization, in TFLM's order of rounding. */
#ifndef KWS_KERNELS_CONV_DEPTHWISE_FUSED_H_
#define KWS_KERNELS_CONV_DEPTHWISE_FUSED_H_

#include <stdint.h>

#include "kernels/depthwise_conv_2d.h"

typedef struct {
  /* The convolution as a depthwise convolution over input channel 0 (plane fields set;
   * its own scratch is unused). */
  const KwsDepthwiseConv2DParams* conv;
  /* The depthwise convolution, depth multiplier 1, row-major plane (scratch unused). */
  const KwsDepthwiseConv2DParams* depthwise;
  /* KWS_CONV_DEPTHWISE_FUSED_SCRATCH_BYTES, word-aligned, in the arena. */
  int8_t* scratch;
} KwsConvDepthwiseParams;

#define KWS_PLANE_BYTES_(height, width) ((((2 * (height) * (width)) + 3) / 4) * 4)

/* The convolution's plane and accumulators (one channel), then the depthwise plane (with
 * a spare row) and accumulators (one output row). */
#define KWS_CONV_DEPTHWISE_FUSED_SCRATCH_BYTES(conv_plane_h, conv_plane_w, conv_pixels,     \
                                               dw_plane_h, dw_plane_w, dw_output_w)         \
  (KWS_PLANE_BYTES_(conv_plane_h, conv_plane_w) + 4 * (conv_pixels) +                       \
   KWS_PLANE_BYTES_((dw_plane_h) + 1, dw_plane_w) + 4 * (dw_output_w))

/* input NHWC [1][h][w][1] -> output NHWC (the depthwise output). */
void kws_conv_depthwise_fused(const KwsConvDepthwiseParams* params, const int8_t* input,
                              int8_t* output);

#endif /* KWS_KERNELS_CONV_DEPTHWISE_FUSED_H_ */
