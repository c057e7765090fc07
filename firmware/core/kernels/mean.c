#include "kernels/mean.h"

#include "kernels/quantize.h"

void kws_mean(const KwsMeanParams* p, const int8_t* input, int8_t* output) {
  const int count = p->input_height * p->input_width;
  int c, i;
  for (c = 0; c < p->depth; ++c) {
    int32_t acc = 0;
    int32_t value;
    for (i = 0; i < count; ++i) acc += input[i * p->depth + c];
    acc -= p->input_zero_point * count;
    value = kws_multiply_by_quantized_multiplier(acc, p->multiplier, (int)p->shift) +
            p->output_zero_point;
    if (value < -128) value = -128;
    if (value > 127) value = 127;
    output[c] = (int8_t)value;
  }
}
