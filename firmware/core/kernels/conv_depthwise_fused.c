#include "kernels/conv_depthwise_fused.h"

#include "kernels/depthwise_conv_2d_inplace.h"
#include "kernels/quantize.h"
#include "kernels/simd.h"

/* Convolution channel c's accumulators (row-major over its output) requantized to int8 as
 * TFLM would store them, then widened into the depthwise plane with the depthwise input
 * offset, at the plane's padding offsets. Pixels past the last tap any depthwise output
 * reads are not needed; the plane's border stays zero. */
static KWS_NOINLINE void requantize_into_plane(const KwsDepthwiseConv2DParams* conv,
                                               const KwsDepthwiseConv2DParams* dw,
                                               const int32_t* acc, int c, int16_t* plane) {
  const int32_t multiplier = conv->output_multiplier[c];
  const int shift = (int)conv->output_shift[c];
  const int32_t rounding = conv->fast_requantize ? conv->output_rounding[c] : 0;
  const int32_t offset = conv->output_offset;
  const int32_t act_min = conv->activation_min, act_max = conv->activation_max;
  const int fast = conv->fast_requantize;
  const int32_t dw_offset = dw->input_offset;
  const int conv_w = conv->output_width;
  const int width = dw->plane_width;
  const int rows = conv->output_height < dw->plane_height - dw->padding_top
                       ? conv->output_height : dw->plane_height - dw->padding_top;
  const int cols = conv_w < width - dw->padding_left ? conv_w : width - dw->padding_left;
  int y, x;
  for (y = 0; y < rows; ++y) {
    const int32_t* a = acc + y * conv_w;
    int16_t* dst = plane + (y + dw->padding_top) * width + dw->padding_left;
    if (fast) { /* the branch hoisted out of the pixel loop */
      for (x = 0; x < cols; ++x) {
        dst[x] = (int16_t)(kws_clamp_output(kws_requantize_fast(a[x], multiplier, -shift,
                                                                rounding),
                                            offset, act_min, act_max) + dw_offset);
      }
    } else {
      for (x = 0; x < cols; ++x) {
        dst[x] = (int16_t)(kws_requantize(a[x], multiplier, shift, offset, act_min, act_max) +
                           dw_offset);
      }
    }
  }
}

static void zero_int16(int16_t* p, int n) {
  int i;
  for (i = 0; i < n; ++i) p[i] = 0;
}

void kws_conv_depthwise_fused(const KwsConvDepthwiseParams* p, const int8_t* input,
                              int8_t* output) {
  const KwsDepthwiseConv2DParams* conv = p->conv;
  const KwsDepthwiseConv2DParams* dw = p->depthwise;
  const int conv_plane = conv->plane_height * conv->plane_width;
  const int dw_plane = (dw->plane_height + 1) * dw->plane_width;
  /* The arena is word-aligned and every scratch area starts 16-byte aligned; each part
   * below starts on a word (KWS_CONV_DEPTHWISE_FUSED_SCRATCH_BYTES). */
  int8_t* next = p->scratch;
  int16_t* const conv_values = (int16_t*)(void*)next;
  int32_t* conv_acc;
  int16_t* dw_values;
  int32_t* dw_acc;
  int c;
  next += KWS_PLANE_BYTES_(conv->plane_height, conv->plane_width);
  conv_acc = (int32_t*)(void*)next;
  next += 4 * conv->output_height * conv->output_width;
  dw_values = (int16_t*)(void*)next;
  next += KWS_PLANE_BYTES_(dw->plane_height + 1, dw->plane_width);
  dw_acc = (int32_t*)(void*)next;
  zero_int16(conv_values, conv_plane);
  zero_int16(dw_values, dw_plane);
  kws_depthwise_fill_plane(conv, input, 0, conv_values);
  for (c = 0; c < dw->output_depth; ++c) {
    kws_depthwise_accumulate_channel(conv, conv_values, c, conv_acc);
    requantize_into_plane(conv, dw, conv_acc, c, dw_values);
    kws_depthwise_plane_rows(dw, dw_values, c, dw_acc, output);
  }
}
