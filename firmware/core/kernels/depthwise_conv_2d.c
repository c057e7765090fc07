#include "kernels/depthwise_conv_2d.h"

#include "kernels/depthwise_lines.h"
#include "kernels/quantize.h"
#include "kernels/simd.h"

/* Input channel ic into the int16 plane as (x - input zero point). The border (where
 * the filter hangs over the input) was zeroed once and stays zero: padding taps then
 * contribute nothing, as TFLM skips them, and every output is the same branch-free sum. */
void kws_depthwise_fill_plane(const KwsDepthwiseConv2DParams* p, const int8_t* input, int ic,
                              int16_t* plane) {
  const int in_depth = p->input_depth;
  const int32_t offset = p->input_offset;
  const int width = p->plane_width;
  /* Input rows / columns past the last tap any output reads are not needed. */
  const int rows = p->input_height < p->plane_height - p->padding_top
                       ? p->input_height : p->plane_height - p->padding_top;
  const int cols = p->input_width < width - p->padding_left ? p->input_width
                                                            : width - p->padding_left;
  int iy, ix;
  for (iy = 0; iy < rows; ++iy) {
    const int8_t* src = input + iy * p->input_width * in_depth + ic;
    int16_t* dst = plane + (iy + p->padding_top) * width + p->padding_left;
    for (ix = 0; ix < cols; ++ix, src += in_depth) dst[ix] = (int16_t)(*src + offset);
  }
}

/* acc[0..count) of one output row for a filter of two tap pairs per row (taps w[2 fy],
 * w[2 fy + 1]) at stride 1 across, from the plane row at `line` (rows `width` apart). */
static KWS_NOINLINE void accumulate_row_2_pairs(const int16_t* line, int width,
                                                const int32_t* w, int filter_height,
                                                int32_t bias, int count, int32_t* acc) {
  int ox = 0, fy;
  for (; ox + 4 <= count; ox += 4, line += 4) {
    /* Four outputs: six plane words per row feed eight SMLADs. */
    const int16_t* row = line;
    const int32_t* taps = w;
    int32_t a = bias, b = bias, c = bias, d = bias;
    for (fy = 0; fy < filter_height; ++fy, row += width, taps += 2) {
      const int32_t wa = taps[0], wb = taps[1];
      const int32_t x2 = kws_load_int16x2(row + 2), x3 = kws_load_int16x2(row + 3);
      a = kws_smlad(kws_load_int16x2(row), wa, a);
      b = kws_smlad(kws_load_int16x2(row + 1), wa, b);
      c = kws_smlad(x2, wa, c);
      d = kws_smlad(x3, wa, d);
      a = kws_smlad(x2, wb, a);
      b = kws_smlad(x3, wb, b);
      c = kws_smlad(kws_load_int16x2(row + 4), wb, c);
      d = kws_smlad(kws_load_int16x2(row + 5), wb, d);
    }
    acc[ox] = a;
    acc[ox + 1] = b;
    acc[ox + 2] = c;
    acc[ox + 3] = d;
  }
  for (; ox + 2 <= count; ox += 2, line += 2) {
    const int16_t* row = line;
    const int32_t* taps = w;
    int32_t a = bias, b = bias;
    for (fy = 0; fy < filter_height; ++fy, row += width, taps += 2) {
      const int32_t wa = taps[0], wb = taps[1];
      a = kws_smlad(kws_load_int16x2(row), wa, a);
      b = kws_smlad(kws_load_int16x2(row + 1), wa, b);
      a = kws_smlad(kws_load_int16x2(row + 2), wb, a);
      b = kws_smlad(kws_load_int16x2(row + 3), wb, b);
    }
    acc[ox] = a;
    acc[ox + 1] = b;
  }
  if (ox < count) {
    const int16_t* row = line;
    int32_t a = bias;
    for (fy = 0; fy < filter_height; ++fy, row += width) {
      a = kws_smlad(kws_load_int16x2(row), w[2 * fy], a);
      a = kws_smlad(kws_load_int16x2(row + 2), w[2 * fy + 1], a);
    }
    acc[ox] = a;
  }
}

/* Accumulators of every output pixel of output channel oc, row-major into acc. */
void kws_depthwise_accumulate_channel(const KwsDepthwiseConv2DParams* p, const int16_t* plane,
                                      int oc, int32_t* acc) {
  const int pairs = p->filter_pairs;
  const int filter_height = p->filter_height;
  const int32_t* w = p->filter + oc * filter_height * pairs;
  const int32_t bias = p->bias[oc];
  const int width = p->plane_width;
  const int out_h = p->output_height, out_w = p->output_width;
  const int row_step = p->stride_height * width, col_step = p->stride_width;
  int oy, ox, fy, j;
  if (filter_height == 3 && pairs == 2 && col_step == 1) {
    /* 3x3, stride 1 (DS-CNN): three row pointers walk the plane. */
    for (oy = 0; oy < out_h; ++oy, acc += out_w) {
      const int16_t* r0 = plane + oy * row_step;
      kws_depthwise_accumulate_3_lines(r0, r0 + width, r0 + 2 * width, w, bias, out_w, acc);
    }
    return;
  }
  if (pairs == 2 && col_step == 1) {
    /* Up to 4 taps wide, stride 1 across (DS-CNN's 10x4 first layer as a depthwise
     * convolution): neighbouring outputs share every tap-pair and plane load. */
    for (oy = 0; oy < out_h; ++oy, acc += out_w) {
      accumulate_row_2_pairs(plane + oy * row_step, width, w, filter_height, bias, out_w,
                             acc);
    }
    return;
  }
  for (oy = 0; oy < out_h; ++oy) {
    for (ox = 0; ox < out_w; ++ox) {
      const int16_t* row = plane + oy * row_step + ox * col_step;
      const int32_t* taps = w;
      int32_t a = bias;
      for (fy = 0; fy < filter_height; ++fy, row += width, taps += pairs) {
        for (j = 0; j < pairs; ++j) a = kws_smlad(kws_load_int16x2(row + 2 * j), taps[j], a);
      }
      *acc++ = a;
    }
  }
}

/* Requantizes channel oc's accumulators into the NHWC output. A separate pass from the
 * multiply-accumulates: together they need more registers than the M4 has. */
static KWS_NOINLINE void requantize_channel(const KwsDepthwiseConv2DParams* p, const int32_t* acc,
                               int oc, int8_t* output) {
  const int32_t multiplier = p->output_multiplier[oc];
  const int shift = (int)p->output_shift[oc];
  const int32_t offset = p->output_offset;
  const int32_t act_min = p->activation_min, act_max = p->activation_max;
  const int out_depth = p->output_depth;
  const int32_t* const end = acc + p->output_height * p->output_width;
  int8_t* out = output + oc;
  if (p->fast_requantize) {
    const int32_t rounding = p->output_rounding[oc];
    const int right_shift = -shift;
    for (; acc != end; ++acc, out += out_depth) {
      *out = kws_clamp_output(kws_requantize_fast(*acc, multiplier, right_shift, rounding),
                              offset, act_min, act_max);
    }
  } else {
    for (; acc != end; ++acc, out += out_depth) {
      *out = kws_requantize(*acc, multiplier, shift, offset, act_min, act_max);
    }
  }
}

/* ---- Direct path (no plane): for inputs whose plane would cost more RAM than it saves,
 * e.g. one wide channel with a large multiplier (micro_speech). ---- */

static inline int8_t requantize_direct(const KwsDepthwiseConv2DParams* p, int32_t acc,
                                       int channel) {
  return kws_requantize(acc, p->output_multiplier[channel], (int)p->output_shift[channel],
                        p->output_offset, p->activation_min, p->activation_max);
}

/* The taps of one output pixel that fall inside the input: [fy0, fy1) x [fx0, fx1). */
typedef struct {
  int fy0, fy1, fx0, fx1;
  const int8_t* origin; /* input at tap (fy0, fx0), channel 0 */
} Window;

/* Multiplier 1: channels are contiguous in input and filter, so four accumulators run side
 * by side. Inside the input, acc starts at the folded bias and uses raw int8 inputs
 * (offset 0); on the border it starts at the bias and adds the offset to each valid tap
 * (TFLM skips padding taps). */
static inline void depthwise_m1_pixel(const KwsDepthwiseConv2DParams* p, const Window* win,
                                      const int32_t* init, int32_t offset, int8_t* out) {
  const int depth = p->output_depth;
  const int row_stride = p->input_width * depth;
  int c = 0;
  for (; c + 3 < depth; c += 4) {
    int32_t acc0 = init[c], acc1 = init[c + 1], acc2 = init[c + 2], acc3 = init[c + 3];
    int fy, fx;
    for (fy = win->fy0; fy < win->fy1; ++fy) {
      const int8_t* x = win->origin + (fy - win->fy0) * row_stride + c;
      const int8_t* w = p->filter_hwc + (fy * p->filter_width + win->fx0) * depth + c;
      for (fx = win->fx0; fx < win->fx1; ++fx) {
        acc0 += (x[0] + offset) * w[0];
        acc1 += (x[1] + offset) * w[1];
        acc2 += (x[2] + offset) * w[2];
        acc3 += (x[3] + offset) * w[3];
        x += depth;
        w += depth;
      }
    }
    out[c] = requantize_direct(p, acc0, c);
    out[c + 1] = requantize_direct(p, acc1, c + 1);
    out[c + 2] = requantize_direct(p, acc2, c + 2);
    out[c + 3] = requantize_direct(p, acc3, c + 3);
  }
  for (; c < depth; ++c) {
    int32_t acc = init[c];
    int fy, fx;
    for (fy = win->fy0; fy < win->fy1; ++fy) {
      const int8_t* x = win->origin + (fy - win->fy0) * row_stride + c;
      const int8_t* w = p->filter_hwc + (fy * p->filter_width + win->fx0) * depth + c;
      for (fx = win->fx0; fx < win->fx1; ++fx) {
        acc += (x[0] + offset) * w[0];
        x += depth;
        w += depth;
      }
    }
    out[c] = requantize_direct(p, acc, c);
  }
}

/* Any multiplier: output channel ic * multiplier + m reads input channel ic. */
static void depthwise_pixel(const KwsDepthwiseConv2DParams* p, const Window* win,
                            const int32_t* init, int32_t offset, int8_t* out) {
  const int in_depth = p->input_depth;
  const int out_depth = p->output_depth;
  const int multiplier = p->depth_multiplier;
  int ic, m, fy, fx;
  for (ic = 0; ic < in_depth; ++ic) {
    for (m = 0; m < multiplier; ++m) {
      const int oc = ic * multiplier + m;
      int32_t acc = init[oc];
      for (fy = win->fy0; fy < win->fy1; ++fy) {
        const int8_t* x = win->origin + (fy - win->fy0) * p->input_width * in_depth + ic;
        const int8_t* w = p->filter_hwc + (fy * p->filter_width + win->fx0) * out_depth + oc;
        for (fx = win->fx0; fx < win->fx1; ++fx) {
          acc += (*x + offset) * *w;
          x += in_depth;
          w += out_depth;
        }
      }
      out[oc] = requantize_direct(p, acc, oc);
    }
  }
}

static void depthwise_direct(const KwsDepthwiseConv2DParams* p, const int8_t* input,
                             int8_t* output) {
  int oy, ox;
  for (oy = 0; oy < p->output_height; ++oy) {
    const int in_y0 = oy * p->stride_height - p->padding_top;
    Window win;
    win.fy0 = in_y0 < 0 ? -in_y0 : 0;
    win.fy1 = in_y0 + p->filter_height > p->input_height ? p->input_height - in_y0
                                                         : p->filter_height;
    for (ox = 0; ox < p->output_width; ++ox) {
      const int in_x0 = ox * p->stride_width - p->padding_left;
      int8_t* out = output + (oy * p->output_width + ox) * p->output_depth;
      int inside;
      win.fx0 = in_x0 < 0 ? -in_x0 : 0;
      win.fx1 = in_x0 + p->filter_width > p->input_width ? p->input_width - in_x0
                                                         : p->filter_width;
      win.origin = input + ((in_y0 + win.fy0) * p->input_width + in_x0 + win.fx0) *
                               p->input_depth;
      inside = win.fy0 == 0 && win.fx0 == 0 && win.fy1 == p->filter_height &&
               win.fx1 == p->filter_width;
      if (p->depth_multiplier == 1) {
        if (inside) {
          depthwise_m1_pixel(p, &win, p->folded_bias, 0, out);
        } else {
          depthwise_m1_pixel(p, &win, p->bias, p->input_offset, out);
        }
      } else if (inside) {
        depthwise_pixel(p, &win, p->folded_bias, 0, out);
      } else {
        depthwise_pixel(p, &win, p->bias, p->input_offset, out);
      }
    }
  }
}

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* p, const int8_t* input,
                           int8_t* output) {
  /* The arena is word-aligned and every scratch area starts 16-byte aligned. */
  int16_t* plane = (int16_t*)(void*)p->scratch;
  int plane_size;
  int32_t* acc;
  int ic, m, i;
  if (!p->scratch) {
    depthwise_direct(p, input, output);
    return;
  }
  plane_size = p->plane_height * p->plane_width;
  acc = (int32_t*)(void*)(p->scratch + ((2 * plane_size + 3) / 4) * 4);
  for (i = 0; i < plane_size; ++i) plane[i] = 0;
  for (ic = 0; ic < p->input_depth; ++ic) {
    kws_depthwise_fill_plane(p, input, ic, plane);
    for (m = 0; m < p->depth_multiplier; ++m) {
      kws_depthwise_accumulate_channel(p, plane, ic * p->depth_multiplier + m, acc);
      requantize_channel(p, acc, ic * p->depth_multiplier + m, output);
    }
  }
}
