#include "kernels/average_pool_2d.h"

void kws_average_pool_2d(const KwsAveragePool2DParams* p, const int8_t* input,
                         int8_t* output) {
  const int depth = p->depth;
  int oy, ox, c, y, x;
  for (oy = 0; oy < p->output_height; ++oy) {
    const int in_y0 = oy * p->stride_height - p->padding_top;
    const int y_start = in_y0 < 0 ? 0 : in_y0;
    const int y_end = in_y0 + p->filter_height > p->input_height ? p->input_height
                                                                 : in_y0 + p->filter_height;
    for (ox = 0; ox < p->output_width; ++ox) {
      const int in_x0 = ox * p->stride_width - p->padding_left;
      const int x_start = in_x0 < 0 ? 0 : in_x0;
      const int x_end = in_x0 + p->filter_width > p->input_width ? p->input_width
                                                                 : in_x0 + p->filter_width;
      const int32_t count = (int32_t)((y_end - y_start) * (x_end - x_start));
      int8_t* out = output + (oy * p->output_width + ox) * depth;
      for (c = 0; c < depth; ++c) {
        int32_t acc = 0;
        for (y = y_start; y < y_end; ++y) {
          for (x = x_start; x < x_end; ++x) acc += input[(y * p->input_width + x) * depth + c];
        }
        if (count == 0) {
          acc = 0;
        } else {
          /* Round half away from zero with truncating division, as TFLM does. */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        }
        if (acc < p->activation_min) acc = p->activation_min;
        if (acc > p->activation_max) acc = p->activation_max;
        out[c] = (int8_t)acc;
      }
    }
  }
}
