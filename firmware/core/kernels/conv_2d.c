#include "kernels/conv_2d.h"

#include "kernels/dot_s8.h"
#include "kernels/quantize.h"

static int8_t requantize_channel(const KwsConv2DParams* p, int32_t acc, int channel) {
  return kws_requantize(acc, p->output_multiplier[channel], (int)p->output_shift[channel],
                        p->output_offset, p->activation_min, p->activation_max);
}

/* 1x1 filter, no padding: a matrix product, computed two pixels x two channels at a time
 * so every loaded input and weight feeds two multiply-accumulates. */
static void conv_2d_pointwise(const KwsConv2DParams* p, const int8_t* input, int8_t* output) {
  const int depth = p->input_depth;
  const int out_depth = p->output_depth;
  const int num_pixels = p->output_height * p->output_width;
  int pixel = 0;
  while (pixel < num_pixels) {
    const int y0 = pixel / p->output_width, x0 = pixel % p->output_width;
    const int8_t* in0 =
        input + (y0 * p->stride_height * p->input_width + x0 * p->stride_width) * depth;
    int8_t* out0 = output + pixel * out_depth;
    int c = 0;
    if (pixel + 1 < num_pixels) {
      const int y1 = (pixel + 1) / p->output_width, x1 = (pixel + 1) % p->output_width;
      const int8_t* in1 =
          input + (y1 * p->stride_height * p->input_width + x1 * p->stride_width) * depth;
      int8_t* out1 = out0 + out_depth;
      int32_t acc[4];
      for (; c + 1 < out_depth; c += 2) {
        const int8_t* w0 = p->filter + c * depth;
        kws_dot_s8_2x2(in0, in1, w0, w0 + depth, depth, acc);
        out0[c] = requantize_channel(p, p->folded_bias[c] + acc[0], c);
        out0[c + 1] = requantize_channel(p, p->folded_bias[c + 1] + acc[1], c + 1);
        out1[c] = requantize_channel(p, p->folded_bias[c] + acc[2], c);
        out1[c + 1] = requantize_channel(p, p->folded_bias[c + 1] + acc[3], c + 1);
      }
      for (; c < out_depth; ++c) {
        const int8_t* w = p->filter + c * depth;
        out0[c] = requantize_channel(p, p->folded_bias[c] + kws_dot_s8(in0, w, depth), c);
        out1[c] = requantize_channel(p, p->folded_bias[c] + kws_dot_s8(in1, w, depth), c);
      }
      pixel += 2;
    } else {
      for (; c < out_depth; ++c) {
        const int8_t* w = p->filter + c * depth;
        out0[c] = requantize_channel(p, p->folded_bias[c] + kws_dot_s8(in0, w, depth), c);
      }
      pixel += 1;
    }
  }
}

/* A window that overlaps the padding: skip the missing taps, as TFLM does. */
static int32_t conv_2d_border_acc(const KwsConv2DParams* p, const int8_t* input, int in_y0,
                                  int in_x0, int channel) {
  const int depth = p->input_depth;
  int32_t acc = p->bias ? p->bias[channel] : 0;
  int fy, fx, ic;
  for (fy = 0; fy < p->filter_height; ++fy) {
    const int in_y = in_y0 + fy;
    if (in_y < 0 || in_y >= p->input_height) continue;
    for (fx = 0; fx < p->filter_width; ++fx) {
      const int in_x = in_x0 + fx;
      const int8_t* x;
      const int8_t* w;
      if (in_x < 0 || in_x >= p->input_width) continue;
      x = input + (in_y * p->input_width + in_x) * depth;
      w = p->filter + ((channel * p->filter_height + fy) * p->filter_width + fx) * depth;
      for (ic = 0; ic < depth; ++ic) acc += (int32_t)w[ic] * (x[ic] + p->input_offset);
    }
  }
  return acc;
}

void kws_conv_2d(const KwsConv2DParams* p, const int8_t* input, int8_t* output) {
  const int depth = p->input_depth;
  /* One filter row spans filter_width * depth contiguous bytes of an NHWC row. */
  const int row_span = p->filter_width * depth;
  int oy, ox, c, fy;
  if (p->filter_height == 1 && p->filter_width == 1 && p->padding_top == 0 &&
      p->padding_left == 0) {
    conv_2d_pointwise(p, input, output);
    return;
  }
  for (oy = 0; oy < p->output_height; ++oy) {
    const int in_y0 = oy * p->stride_height - p->padding_top;
    const int rows_inside = in_y0 >= 0 && in_y0 + p->filter_height <= p->input_height;
    for (ox = 0; ox < p->output_width; ++ox) {
      const int in_x0 = ox * p->stride_width - p->padding_left;
      int8_t* out = output + (oy * p->output_width + ox) * p->output_depth;
      if (rows_inside && in_x0 >= 0 && in_x0 + p->filter_width <= p->input_width) {
        const int8_t* window = input + (in_y0 * p->input_width + in_x0) * depth;
        for (c = 0; c < p->output_depth; ++c) {
          const int8_t* w = p->filter + c * p->filter_height * row_span;
          int32_t acc = p->folded_bias[c];
          for (fy = 0; fy < p->filter_height; ++fy) {
            acc += kws_dot_s8(window + fy * p->input_width * depth, w + fy * row_span, row_span);
          }
          out[c] = requantize_channel(p, acc, c);
        }
      } else {
        for (c = 0; c < p->output_depth; ++c) {
          out[c] = requantize_channel(p, conv_2d_border_acc(p, input, in_y0, in_x0, c), c);
        }
      }
    }
  }
}
