#include "kernels/depthwise_conv_2d_inplace.h"

#include "kernels/quantize.h"
#include "kernels/simd.h"

/* Channel c of data into the plane as (x - input zero point). The plane's border (taps
 * over the padding) was zeroed once and is never written, so those taps add nothing, as
 * TFLM skips them. */
static void load_channel(const KwsDepthwiseConv2DParams* p, const int8_t* data, int c,
                         int16_t* plane) {
  const int depth = p->input_depth;
  const int32_t offset = p->input_offset;
  const int width = p->plane_width;
  /* Input rows / columns beyond the last tap any output reads are not needed. */
  const int rows = p->input_height < p->plane_height - p->padding_top
                       ? p->input_height : p->plane_height - p->padding_top;
  const int cols = p->input_width < width - p->padding_left ? p->input_width
                                                            : width - p->padding_left;
  int iy, ix;
  for (iy = 0; iy < rows; ++iy) {
    const int8_t* src = data + iy * p->input_width * depth + c;
    int16_t* dst = plane + (iy + p->padding_top) * width + p->padding_left;
    for (ix = 0; ix < cols; ++ix, src += depth) dst[ix] = (int16_t)(*src + offset);
  }
}

/* Accumulators of output row oy of channel c into acc[output_width]. */
static void accumulate_row(const KwsDepthwiseConv2DParams* p, const int16_t* plane, int c,
                           int oy, int32_t* acc) {
  const int pairs = p->filter_pairs;
  const int filter_height = p->filter_height;
  const int32_t* w = p->filter + c * filter_height * pairs;
  const int32_t bias = p->bias[c];
  const int width = p->plane_width;
  const int out_w = p->output_width;
  const int col_step = p->stride_width;
  const int16_t* r0 = plane + oy * p->stride_height * width;
  int ox, fy, j;
  if (filter_height == 3 && pairs == 2) { /* 3x3, DS-CNN's filter: taps in registers */
    const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5];
    const int16_t* r1 = r0 + width;
    const int16_t* r2 = r1 + width;
    for (ox = 0; ox < out_w; ++ox, r0 += col_step, r1 += col_step, r2 += col_step) {
      int32_t a = kws_smlad(kws_load_int16x2(r0), w0, bias);
      a = kws_smlad(kws_load_int16x2(r0 + 2), w1, a);
      a = kws_smlad(kws_load_int16x2(r1), w2, a);
      a = kws_smlad(kws_load_int16x2(r1 + 2), w3, a);
      a = kws_smlad(kws_load_int16x2(r2), w4, a);
      acc[ox] = kws_smlad(kws_load_int16x2(r2 + 2), w5, a);
    }
    return;
  }
  for (ox = 0; ox < out_w; ++ox) {
    const int16_t* row = r0 + ox * col_step;
    const int32_t* taps = w;
    int32_t a = bias;
    for (fy = 0; fy < filter_height; ++fy, row += width, taps += pairs) {
      for (j = 0; j < pairs; ++j) a = kws_smlad(kws_load_int16x2(row + 2 * j), taps[j], a);
    }
    acc[ox] = a;
  }
}

/* Requantizes one output row of channel c into data (stride: the depth). A separate pass
 * from the multiply-accumulates: together they need more registers than the M4 has. */
static void store_row(const KwsDepthwiseConv2DParams* p, const int32_t* acc, int c, int oy,
                      int8_t* data) {
  const int32_t multiplier = p->output_multiplier[c];
  const int shift = (int)p->output_shift[c];
  const int32_t offset = p->output_offset;
  const int32_t act_min = p->activation_min, act_max = p->activation_max;
  const int depth = p->output_depth;
  const int out_w = p->output_width;
  int8_t* out = data + oy * out_w * depth + c;
  int ox;
  if (p->fast_requantize) {
    const int32_t rounding = p->output_rounding[c];
    const int right_shift = -shift;
    for (ox = 0; ox < out_w; ++ox, out += depth) {
      *out = kws_clamp_output(kws_requantize_fast(acc[ox], multiplier, right_shift, rounding),
                              offset, act_min, act_max);
    }
  } else {
    for (ox = 0; ox < out_w; ++ox, out += depth) {
      *out = kws_requantize(acc[ox], multiplier, shift, offset, act_min, act_max);
    }
  }
}

void kws_depthwise_conv_2d_inplace(const KwsDepthwiseConv2DParams* p, int8_t* data) {
  /* The arena is word-aligned and every scratch area starts 16-byte aligned. */
  int16_t* plane = (int16_t*)(void*)p->scratch;
  const int plane_size = p->plane_height * p->plane_width;
  int32_t* acc = (int32_t*)(void*)(p->scratch + ((2 * plane_size + 3) / 4) * 4);
  int c, oy, i;
  for (i = 0; i < plane_size; ++i) plane[i] = 0;
  for (c = 0; c < p->input_depth; ++c) {
    /* Channel c is read completely before any of its bytes is overwritten. */
    load_channel(p, data, c, plane);
    for (oy = 0; oy < p->output_height; ++oy) {
      accumulate_row(p, plane, c, oy, acc);
      store_row(p, acc, c, oy, data);
    }
  }
}
