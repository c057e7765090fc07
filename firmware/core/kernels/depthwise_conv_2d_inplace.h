/* DEPTHWISE_CONV_2D with depth multiplier 1, output written over its own input.
 *
 * Output channel c depends only on input channel c, and in NHWC both sit at bytes
 * congruent to c modulo the depth. The kernel copies channel c (widened to int16, as
 * kws_depthwise_conv_2d does) into a scratch plane, then writes output channel c into
 * the same bytes: no other channel is touched, so it is exact for any stride, padding
 * and filter size. The model compiler fills the same KwsDepthwiseConv2DParams as for the
 * out-of-place kernel (depth_multiplier 1); only the scratch size differs. 3x3 stride-1
 * filters run over the plane transposed (see depthwise_conv_2d_inplace.c). */
#ifndef KWS_KERNELS_DEPTHWISE_CONV_2D_INPLACE_H_
#define KWS_KERNELS_DEPTHWISE_CONV_2D_INPLACE_H_

#include <stdint.h>

#include "kernels/depthwise_conv_2d.h"

/* Scratch: the int16 plane of one channel with one spare row (plane_height + 1 values per
 * column when a 3x3 stride-1 filter stores it transposed), then the int32 accumulators of
 * one output row or column. */
#define KWS_DEPTHWISE_CONV_2D_INPLACE_SCRATCH_BYTES(plane_height, plane_width, output_height, \
                                                    output_width)                              \
  (((2 * ((plane_height) + 1) * (plane_width) + 3) / 4) * 4 +                                 \
   4 * ((output_height) > (output_width) ? (output_height) : (output_width)))

/* data: the NHWC input on entry, the NHWC output on return; it must hold
 * max(input, output) bytes. params->depth_multiplier must be 1. */
void kws_depthwise_conv_2d_inplace(const KwsDepthwiseConv2DParams* params, int8_t* data);

/* Output channel c from its row-major plane (any filter and stride) into the NHWC output,
 * one output row at a time through acc[output_width]; shared with the fused convolution +
 * depthwise kernel. */
void kws_depthwise_plane_rows(const KwsDepthwiseConv2DParams* params, const int16_t* plane,
                              int c, int32_t* acc, int8_t* output);

#endif /* KWS_KERNELS_DEPTHWISE_CONV_2D_INPLACE_H_ */
