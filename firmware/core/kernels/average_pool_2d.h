/* AVERAGE_POOL_2D, int8 (TFLM reference AveragePool): input and output share scale and
 * zero point, so only padding taps and rounding matter. */
#ifndef KWS_KERNELS_AVERAGE_POOL_2D_H_
#define KWS_KERNELS_AVERAGE_POOL_2D_H_

#include <stdint.h>

typedef struct {
  int input_height, input_width, depth;
  int output_height, output_width;
  int filter_height, filter_width;
  int stride_height, stride_width;
  int padding_top, padding_left;
  int32_t activation_min, activation_max;
} KwsAveragePool2DParams;

void kws_average_pool_2d(const KwsAveragePool2DParams* params, const int8_t* input,
                         int8_t* output);

#endif /* KWS_KERNELS_AVERAGE_POOL_2D_H_ */
