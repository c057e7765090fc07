#include "kernels/depthwise_conv_2d.h"

#include "kernels/quantize.h"

static inline int8_t requantize_channel(const KwsDepthwiseConv2DParams* p, int32_t acc,
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
      const int8_t* w = p->filter + (fy * p->filter_width + win->fx0) * depth + c;
      for (fx = win->fx0; fx < win->fx1; ++fx) {
        acc0 += (x[0] + offset) * w[0];
        acc1 += (x[1] + offset) * w[1];
        acc2 += (x[2] + offset) * w[2];
        acc3 += (x[3] + offset) * w[3];
        x += depth;
        w += depth;
      }
    }
    out[c] = requantize_channel(p, acc0, c);
    out[c + 1] = requantize_channel(p, acc1, c + 1);
    out[c + 2] = requantize_channel(p, acc2, c + 2);
    out[c + 3] = requantize_channel(p, acc3, c + 3);
  }
  for (; c < depth; ++c) {
    int32_t acc = init[c];
    int fy, fx;
    for (fy = win->fy0; fy < win->fy1; ++fy) {
      const int8_t* x = win->origin + (fy - win->fy0) * row_stride + c;
      const int8_t* w = p->filter + (fy * p->filter_width + win->fx0) * depth + c;
      for (fx = win->fx0; fx < win->fx1; ++fx) {
        acc += (x[0] + offset) * w[0];
        x += depth;
        w += depth;
      }
    }
    out[c] = requantize_channel(p, acc, c);
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
        const int8_t* w = p->filter + (fy * p->filter_width + win->fx0) * out_depth + oc;
        for (fx = win->fx0; fx < win->fx1; ++fx) {
          acc += (*x + offset) * *w;
          x += in_depth;
          w += out_depth;
        }
      }
      out[oc] = requantize_channel(p, acc, oc);
    }
  }
}

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* p, const int8_t* input,
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
