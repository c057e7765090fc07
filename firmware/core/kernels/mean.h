/* MEAN over height and width of an NHWC int8 tensor (GlobalAveragePooling2D), TFLM's
 * integer algorithm: the host folds 1/count into the multiplier (see kws/deploy). */
#ifndef KWS_KERNELS_MEAN_H_
#define KWS_KERNELS_MEAN_H_

#include <stdint.h>

typedef struct {
  int input_height, input_width, depth;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier; /* QuantizeMultiplier(in_scale / out_scale), then << s / count */
  int32_t shift;      /* shift - s */
} KwsMeanParams;

/* output [depth] (any shape with that many elements). */
void kws_mean(const KwsMeanParams* params, const int8_t* input, int8_t* output);

#endif /* KWS_KERNELS_MEAN_H_ */
