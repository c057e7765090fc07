#include "kernels/conv_2d.h"

#include "kernels/dot_s8.h"
#include "kernels/quantize.h"

static inline int8_t requantize_channel(const KwsConv2DParams* p, int32_t acc, int channel) {
  return kws_requantize(acc, p->output_multiplier[channel], (int)p->output_shift[channel],
                        p->output_offset, p->activation_min, p->activation_max);
}

/* Output channels of one or two pixels whose inputs are contiguous vectors of length n
 * (x1 == 0: one pixel). Pairs of pixels and channels share every loaded value. */
static void conv_pixels(const KwsConv2DParams* p, const int8_t* x0, const int8_t* x1, int n,
                        int8_t* out0, int8_t* out1) {
  const int out_depth = p->output_depth;
  int c = 0;
  if (x1) {
    int32_t acc[4];
    for (; c + 1 < out_depth; c += 2) {
      const int8_t* w0 = p->filter + c * n;
      const int32_t bias0 = p->folded_bias[c], bias1 = p->folded_bias[c + 1];
      kws_dot_s8_2x2(x0, x1, w0, w0 + n, n, acc);
      out0[c] = requantize_channel(p, bias0 + acc[0], c);
      out0[c + 1] = requantize_channel(p, bias1 + acc[1], c + 1);
      out1[c] = requantize_channel(p, bias0 + acc[2], c);
      out1[c + 1] = requantize_channel(p, bias1 + acc[3], c + 1);
    }
  }
  for (; c < out_depth; ++c) {
    const int8_t* w = p->filter + c * n;
    out0[c] = requantize_channel(p, p->folded_bias[c] + kws_dot_s8(x0, w, n), c);
    if (x1) out1[c] = requantize_channel(p, p->folded_bias[c] + kws_dot_s8(x1, w, n), c);
  }
}

/* Copies the receptive field of one output pixel into patch ([fh][fw][depth], the filter's
 * own layout). Padding taps get the input zero point: w * (zp + input_offset) == 0, so the
 * folded bias stays exact at the borders, as TFLM's skipped taps. */
static void im2col_pixel(const KwsConv2DParams* p, const int8_t* input, int pixel,
                         int8_t* patch) {
  const int depth = p->input_depth;
  const int8_t pad = (int8_t)(-p->input_offset);
  const int in_y0 = (pixel / p->output_width) * p->stride_height - p->padding_top;
  const int in_x0 = (pixel % p->output_width) * p->stride_width - p->padding_left;
  int fy, fx, c;
  for (fy = 0; fy < p->filter_height; ++fy) {
    const int in_y = in_y0 + fy;
    const int row_inside = in_y >= 0 && in_y < p->input_height;
    for (fx = 0; fx < p->filter_width; ++fx) {
      const int in_x = in_x0 + fx;
      if (row_inside && in_x >= 0 && in_x < p->input_width) {
        const int8_t* src = input + (in_y * p->input_width + in_x) * depth;
        for (c = 0; c < depth; ++c) patch[c] = src[c];
      } else {
        for (c = 0; c < depth; ++c) patch[c] = pad;
      }
      patch += depth;
    }
  }
}

void kws_conv_2d(const KwsConv2DParams* p, const int8_t* input, int8_t* output) {
  const int out_depth = p->output_depth;
  const int num_pixels = p->output_height * p->output_width;
  const int pointwise = p->filter_height == 1 && p->filter_width == 1 &&
                        p->padding_top == 0 && p->padding_left == 0;
  const int n = p->filter_height * p->filter_width * p->input_depth;
  int pixel;
  for (pixel = 0; pixel < num_pixels; pixel += 2) {
    const int two = pixel + 1 < num_pixels;
    const int8_t* x0;
    const int8_t* x1 = 0;
    if (pointwise) {
      /* 1x1 without padding: the pixel's input vector is already contiguous. */
      const int y0 = pixel / p->output_width, xx0 = pixel % p->output_width;
      x0 = input + (y0 * p->stride_height * p->input_width + xx0 * p->stride_width) * n;
      if (two) {
        const int y1 = (pixel + 1) / p->output_width, xx1 = (pixel + 1) % p->output_width;
        x1 = input + (y1 * p->stride_height * p->input_width + xx1 * p->stride_width) * n;
      }
    } else {
      im2col_pixel(p, input, pixel, p->scratch);
      x0 = p->scratch;
      if (two) {
        im2col_pixel(p, input, pixel + 1, p->scratch + n);
        x1 = p->scratch + n;
      }
    }
    conv_pixels(p, x0, x1, n, output + pixel * out_depth, output + (pixel + 1) * out_depth);
  }
}
