/* CONV_2D, int8 activations, per-channel symmetric int8 filters (TFLM ConvPerChannel). */
#ifndef KWS_KERNELS_CONV_2D_H_
#define KWS_KERNELS_CONV_2D_H_

#include <stdint.h>

/* Output pixels computed together: each weight word loaded feeds this many pixels. */
#define KWS_CONV_2D_PIXELS 4

typedef struct {
  int input_height, input_width, input_depth;
  int output_height, output_width, output_depth;
  int filter_height, filter_width;
  int stride_height, stride_width;
  int padding_top, padding_left; /* taps before the first input row / column (SAME) */
  int32_t input_offset;          /* -input zero point */
  int32_t output_offset;         /* output zero point */
  int32_t activation_min, activation_max;
  /* filter_height * filter_width * input_depth rounded up to a multiple of 4. */
  int patch_size;
  /* [output_depth][patch_size / 4]: OHWI filter rows, zero-padded to patch_size, four
   * int8 per word (value k in bits 8k..8k+7), packed by the model compiler. */
  const int32_t* filter;
  /* Set when the compiler packed filter pre-widened instead: [output_depth][patch_size / 4]
   * [2], per group of four taps the words (tap 0, tap 2) and (tap 1, tap 3) as int16
   * halves (SXTB16 of the int8 word, done once on the host). Twice the flash, two
   * instructions fewer per 16 multiply-accumulates on the M4. */
  int filter_widened;
  /* [output_depth]: bias + input_offset * sum(filter[c]), computed on the host, so every
   * output is a plain int8 dot product (padding taps read the input zero point, which
   * contributes nothing). */
  const int32_t* folded_bias;
  const int32_t* output_multiplier; /* [output_depth] Q31 */
  const int32_t* output_shift;      /* [output_depth] power-of-two exponent */
  /* [output_depth] 2^(-shift - 1) (0 when the multiplier is 0): kws_requantize_fast's
   * rounding term; used when fast_requantize is set. */
  const int32_t* output_rounding;
  /* Set by the model compiler when every shift is <= -1 (or its multiplier 0) and no
   * accumulator can reach 2^30, so kws_requantize_fast is exact; else kws_requantize. */
  int fast_requantize;
  /* [output_depth][4]: folded bias, multiplier, rounding + (output_offset << right shift)
   * and right shift, or NULL. Set by the model compiler only when fast_requantize holds,
   * the activation range is all of int8 and every right shift is in [1, 22] (the folded
   * sum cannot overflow): then one channel's terms are one LDM and an output costs
   * SMMULR, two adds, a shift and one SSAT. */
  const int32_t* channel_terms;
  /* KWS_CONV_2D_SCRATCH_BYTES of word-aligned working memory, planned in the arena. */
  int8_t* scratch;
} KwsConv2DParams;

/* Scratch: the inputs of KWS_CONV_2D_PIXELS pixels widened to int16 (patch_size * 2 bytes
 * each), plus one int8 patch for the receptive field when the filter is not 1x1 or has
 * padding (im2col). */
#define KWS_CONV_2D_SCRATCH_BYTES(patch_size, needs_im2col) \
  (KWS_CONV_2D_PIXELS * 2 * (patch_size) + ((needs_im2col) ? (patch_size) : 0))

/* input NHWC [1][input_height][input_width][input_depth] -> output NHWC. */
void kws_conv_2d(const KwsConv2DParams* params, const int8_t* input, int8_t* output);

/* kws_conv_2d for a pointwise (1x1, stride 1, no padding) params over num_pixels
 * consecutive NHWC pixels, whatever image size params states (the in-place variant runs
 * its block params over the whole tensor). */
void kws_conv_2d_pointwise_row(const KwsConv2DParams* params, int num_pixels,
                               const int8_t* input, int8_t* output);

#endif /* KWS_KERNELS_CONV_2D_H_ */
