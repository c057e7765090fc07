/* FULLY_CONNECTED, int8, symmetric weights quantized per tensor or per output channel. */
#ifndef KWS_KERNELS_FULLY_CONNECTED_H_
#define KWS_KERNELS_FULLY_CONNECTED_H_

#include <stdint.h>

typedef struct {
  int batches, input_depth, output_depth;
  int32_t output_offset; /* output zero point */
  int32_t activation_min, activation_max;
  const int8_t* weights;      /* [output_depth][input_depth] */
  const int32_t* folded_bias; /* [output_depth]: bias - input_zero_point * sum(weights[c]) */
  const int32_t* output_multiplier; /* [output_depth] if per_channel, else [1] */
  const int32_t* output_shift;
  int per_channel;
} KwsFullyConnectedParams;

void kws_fully_connected(const KwsFullyConnectedParams* params, const int8_t* input,
                         int8_t* output);

#endif /* KWS_KERNELS_FULLY_CONNECTED_H_ */
