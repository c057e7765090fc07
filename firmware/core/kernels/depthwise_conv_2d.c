#include "kernels/depthwise_conv_2d.h"

#include "kernels/quantize.h"

static int8_t requantize_channel(const KwsDepthwiseConv2DParams* p, int32_t acc, int channel) {
  return kws_requantize(acc, p->output_multiplier[channel], (int)p->output_shift[channel],
                        p->output_offset, p->activation_min, p->activation_max);
}

/* Multiplier 1, window fully inside the input: four channels at a time, raw int8
 * products against the folded bias (channels are contiguous in both input and filter). */
static void depthwise_inside_m1(const KwsDepthwiseConv2DParams* p, const int8_t* window,
                                int8_t* out) {
  const int depth = p->output_depth;
  const int row_stride = p->input_width * depth;
  const int taps = p->filter_height * p->filter_width;
  int c = 0;
  for (; c + 3 < depth; c += 4) {
    int32_t acc0 = p->folded_bias[c], acc1 = p->folded_bias[c + 1];
    int32_t acc2 = p->folded_bias[c + 2], acc3 = p->folded_bias[c + 3];
    const int8_t* w = p->filter + c;
    int fy, fx;
    for (fy = 0; fy < p->filter_height; ++fy) {
      const int8_t* x = window + fy * row_stride + c;
      for (fx = 0; fx < p->filter_width; ++fx) {
        acc0 += (int32_t)x[0] * w[0];
        acc1 += (int32_t)x[1] * w[1];
        acc2 += (int32_t)x[2] * w[2];
        acc3 += (int32_t)x[3] * w[3];
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
    int32_t acc = p->folded_bias[c];
    int tap;
    for (tap = 0; tap < taps; ++tap) {
      const int fy = tap / p->filter_width, fx = tap % p->filter_width;
      acc += (int32_t)window[fy * row_stride + fx * depth + c] * p->filter[tap * depth + c];
    }
    out[c] = requantize_channel(p, acc, c);
  }
}

void kws_depthwise_conv_2d(const KwsDepthwiseConv2DParams* p, const int8_t* input,
                           int8_t* output) {
  const int in_depth = p->input_depth;
  const int out_depth = p->output_depth;
  const int multiplier = p->depth_multiplier;
  int oy, ox, ic, m, fy, fx;
  for (oy = 0; oy < p->output_height; ++oy) {
    const int in_y0 = oy * p->stride_height - p->padding_top;
    const int rows_inside = in_y0 >= 0 && in_y0 + p->filter_height <= p->input_height;
    for (ox = 0; ox < p->output_width; ++ox) {
      const int in_x0 = ox * p->stride_width - p->padding_left;
      const int inside = rows_inside && in_x0 >= 0 && in_x0 + p->filter_width <= p->input_width;
      int8_t* out = output + (oy * p->output_width + ox) * out_depth;
      if (inside && multiplier == 1) {
        depthwise_inside_m1(p, input + (in_y0 * p->input_width + in_x0) * in_depth, out);
        continue;
      }
      for (ic = 0; ic < in_depth; ++ic) {
        for (m = 0; m < multiplier; ++m) {
          const int oc = ic * multiplier + m;
          int32_t acc;
          if (inside) {
            acc = p->folded_bias[oc];
          } else {
            acc = p->bias ? p->bias[oc] : 0;
          }
          for (fy = 0; fy < p->filter_height; ++fy) {
            const int in_y = in_y0 + fy;
            if (in_y < 0 || in_y >= p->input_height) continue;
            for (fx = 0; fx < p->filter_width; ++fx) {
              const int in_x = in_x0 + fx;
              int32_t x;
              if (in_x < 0 || in_x >= p->input_width) continue;
              x = input[(in_y * p->input_width + in_x) * in_depth + ic];
              /* Padded windows add the offset per tap (only valid taps count). */
              if (!inside) x += p->input_offset;
              acc += x * p->filter[(fy * p->filter_width + fx) * out_depth + oc];
            }
          }
          out[oc] = requantize_channel(p, acc, oc);
        }
      }
    }
  }
}
