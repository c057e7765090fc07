/* Pointwise (1x1, stride 1, no padding) CONV_2D with its output written over its input.
 *
 * Output pixel p depends only on input pixel p. Pixels go in blocks through
 * kws_conv_2d: a block's inputs are first copied to a staging area, then its outputs are
 * written. In increasing pixel order, block [f, f + n) writes bytes below (f + n) *
 * output_depth, which never exceeds the first unread input byte (f + n) * input_depth
 * when output_depth <= input_depth; with more output than input channels the blocks go in
 * decreasing order, where writes start at f * output_depth >= f * input_depth, the end of
 * the unread inputs. */
#ifndef KWS_KERNELS_CONV_2D_INPLACE_H_
#define KWS_KERNELS_CONV_2D_INPLACE_H_

#include <stdint.h>

#include "kernels/conv_2d.h"

typedef struct {
  /* The convolution of one block of block_pixels pixels (a 1 x block_pixels image whose
   * input is the staging area), and of the last num_pixels % block_pixels pixels (NULL
   * when there are none). Both carry the layer's filter, bias and requantization. */
  const KwsConv2DParams* block;
  const KwsConv2DParams* tail;
  int num_pixels, block_pixels;
  int input_depth, output_depth;
  int8_t* staging; /* block_pixels * input_depth bytes, word-aligned, in the arena */
} KwsConv2DInPlaceParams;

/* data: the NHWC input on entry, the NHWC output on return; it must hold
 * num_pixels * max(input_depth, output_depth) bytes. */
void kws_conv_2d_pointwise_inplace(const KwsConv2DInPlaceParams* params, int8_t* data);

#endif /* KWS_KERNELS_CONV_2D_INPLACE_H_ */
