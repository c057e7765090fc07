#include "kernels/fully_connected.h"

#include "kernels/dot_s8.h"
#include "kernels/quantize.h"

void kws_fully_connected(const KwsFullyConnectedParams* p, const int8_t* input,
                         int8_t* output) {
  int b, c;
  for (b = 0; b < p->batches; ++b) {
    const int8_t* x = input + b * p->input_depth;
    int8_t* out = output + b * p->output_depth;
    for (c = 0; c < p->output_depth; ++c) {
      const int q = p->per_channel ? c : 0;
      const int32_t acc =
          p->folded_bias[c] + kws_dot_s8(x, p->weights + c * p->input_depth, p->input_depth);
      out[c] = kws_requantize(acc, p->output_multiplier[q], (int)p->output_shift[q],
                              p->output_offset, p->activation_min, p->activation_max);
    }
  }
}
