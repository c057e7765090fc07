#include "kernels/depthwise_conv_2d.h"

#include "kernels/quantize.h"
#include "kernels/simd.h"

/* Input channel ic as an int16 plane of (x - input zero point), zero where the filter
 * hangs over the border: padding taps then contribute nothing, as TFLM skips them, and
 * every output is the same branch-free sum of tap pairs. */
static void fill_plane(const KwsDepthwiseConv2DParams* p, const int8_t* input, int ic,
                       int16_t* plane) {
  const int in_depth = p->input_depth;
  const int width = p->plane_width;
  int py, px;
  for (py = 0; py < p->plane_height; ++py) {
    const int iy = py - p->padding_top;
    int16_t* row = plane + py * width;
    if (iy < 0 || iy >= p->input_height) {
      for (px = 0; px < width; ++px) row[px] = 0;
    } else {
      const int8_t* src = input + iy * p->input_width * in_depth + ic;
      for (px = 0; px < width; ++px) {
        const int ix = px - p->padding_left;
        row[px] = (int16_t)(ix >= 0 && ix < p->input_width
                                ? src[ix * in_depth] + p->input_offset : 0);
      }
    }
  }
}

/* Every output pixel of output channel oc from its input channel's plane. Parameters are
 * read into locals once: the int8 stores could alias them, so GCC would reload them. */
static void depthwise_channel(const KwsDepthwiseConv2DParams* p, const int16_t* plane,
                              int oc, int8_t* output) {
  const int pairs = p->filter_pairs;
  const int filter_height = p->filter_height;
  const int32_t* w = p->filter + oc * filter_height * pairs;
  const int32_t bias = p->bias[oc];
  const int32_t multiplier = p->output_multiplier[oc];
  const int shift = (int)p->output_shift[oc];
  const int32_t rounding = p->output_rounding[oc];
  const int fast = p->fast_requantize;
  const int32_t offset = p->output_offset;
  const int32_t act_min = p->activation_min, act_max = p->activation_max;
  const int width = p->plane_width;
  const int out_h = p->output_height, out_w = p->output_width, out_depth = p->output_depth;
  const int row_step = p->stride_height * width, col_step = p->stride_width;
  int oy, ox, fy, j;
  int8_t* out = output + oc;
  for (oy = 0; oy < out_h; ++oy) {
    const int16_t* row0 = plane + oy * row_step;
    for (ox = 0; ox < out_w; ++ox, out += out_depth) {
      const int16_t* row = row0 + ox * col_step;
      int32_t acc = bias;
      if (filter_height == 3 && pairs == 2) { /* 3x3, DS-CNN's filter: fully unrolled */
        acc = kws_smlad(kws_load_int16x2(row), w[0], acc);
        acc = kws_smlad(kws_load_int16x2(row + 2), w[1], acc);
        acc = kws_smlad(kws_load_int16x2(row + width), w[2], acc);
        acc = kws_smlad(kws_load_int16x2(row + width + 2), w[3], acc);
        acc = kws_smlad(kws_load_int16x2(row + 2 * width), w[4], acc);
        acc = kws_smlad(kws_load_int16x2(row + 2 * width + 2), w[5], acc);
      } else {
        const int32_t* taps = w;
        for (fy = 0; fy < filter_height; ++fy, row += width, taps += pairs) {
          for (j = 0; j < pairs; ++j) {
            acc = kws_smlad(kws_load_int16x2(row + 2 * j), taps[j], acc);
          }
        }
      }
      if (fast) {
        *out = kws_clamp_output(kws_requantize_fast(acc, multiplier, -shift, rounding),
                                offset, act_min, act_max);
      } else {
        *out = kws_requantize(acc, multiplier, shift, offset, act_min, act_max);
      }
    }
  }
}

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* p, const int8_t* input,
                           int8_t* output) {
  /* The arena is word-aligned and every scratch area starts 16-byte aligned. */
  int16_t* plane = (int16_t*)(void*)p->scratch;
  int ic, m;
  for (ic = 0; ic < p->input_depth; ++ic) {
    fill_plane(p, input, ic, plane);
    for (m = 0; m < p->depth_multiplier; ++m) {
      depthwise_channel(p, plane, ic * p->depth_multiplier + m, output);
    }
  }
}
