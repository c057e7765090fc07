#include "kernels/average_pool_2d.h"

#include "kernels/simd.h"

/* The mean of count values summing to acc, rounded half away from zero with truncating
 * division as TFLM does, clamped to the activation range. */
static int8_t average(const KwsAveragePool2DParams* p, int32_t acc, int32_t count) {
  if (count == 0) {
    acc = 0;
  } else {
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
  }
  if (acc < p->activation_min) acc = p->activation_min;
  if (acc > p->activation_max) acc = p->activation_max;
  return (int8_t)acc;
}

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
      const int8_t* const window = input + (y_start * p->input_width + x_start) * depth;
      const int row_step = p->input_width * depth;
      const int span = (x_end - x_start) * depth;
      c = 0;
      /* Four channels at a time: one word load per pixel, each byte sign-extended and
       * added (SXTAB on the M4). */
      for (; c + 4 <= depth; c += 4) {
        int32_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        const int8_t* row = window + c;
        for (y = y_start; y < y_end; ++y, row += row_step) {
          const int8_t* px = row;
          const int8_t* const row_end = row + span;
          for (; px != row_end; px += depth) {
            const uint32_t word = (uint32_t)kws_load_int8x4(px);
            acc0 += (int8_t)(word & 0xFF);
            acc1 += (int8_t)((word >> 8) & 0xFF);
            acc2 += (int8_t)((word >> 16) & 0xFF);
            acc3 += (int8_t)(word >> 24);
          }
        }
        out[c] = average(p, acc0, count);
        out[c + 1] = average(p, acc1, count);
        out[c + 2] = average(p, acc2, count);
        out[c + 3] = average(p, acc3, count);
      }
      for (; c < depth; ++c) {
        int32_t acc = 0;
        const int8_t* row = window + c;
        for (y = y_start; y < y_end; ++y, row += row_step) {
          for (x = 0; x < span; x += depth) acc += row[x];
        }
        out[c] = average(p, acc, count);
      }
    }
  }
}
