/* int8 model input from one feature value: the single quantization rule shared with the
 * host (kws.features.quantize.quantize_values, the input contract; kws.export.quantize_inputs).
 *
 *   f = value * feature_scale              (micro: uint16 * 10/256, exact in float32; MFCC: 1)
 *   q = f / input_scale                    (float32, IEEE-rounded division)
 *   r = sign(q) * floor(|q| + 0.5f)        (half away from zero, the add rounded to float32)
 *   out = clamp(r + zero_point, -128, 127)
 *
 * Every step is one correctly rounded float32 operation, so an FPU, softfloat and numpy's
 * float32 give the same bits (build with -ffp-contract=off: no fused multiply-add). */
#ifndef KWS_APP_FEATURE_QUANTIZE_H_
#define KWS_APP_FEATURE_QUANTIZE_H_

#include <stdint.h>

typedef struct {
  float feature_scale; /* raw feature -> model float input */
  float input_scale;   /* model input tensor scale */
  int32_t zero_point;  /* model input tensor zero point */
} KwsFeatureQuantizeConfig;

int8_t kws_quantize_feature(const KwsFeatureQuantizeConfig* config, float value);

/* A micro frontend frame (uint16 channels) into n int8 model inputs. */
void kws_quantize_micro_frame(const KwsFeatureQuantizeConfig* config, const uint16_t* frame,
                              int n, int8_t* out);

/* kws_quantize_micro_frame without floating point, for one fixed config: thresholds[k]
 * (KWS_QUANTIZE_THRESHOLDS entries, ascending) is the smallest raw value whose int8 input
 * is at least k - 127.  kws deploy computes the table from the float rule above, which is
 * monotonic in the raw value, so both give the same bits; integer-only boards (no FPU)
 * then quantize without soft-float calls. */
#define KWS_QUANTIZE_THRESHOLDS 255
void kws_quantize_micro_frame_table(const uint32_t* thresholds, const uint16_t* frame, int n,
                                    int8_t* out);

/* An MFCC frame (float32 coefficients) into n int8 model inputs. */
void kws_quantize_float_frame(const KwsFeatureQuantizeConfig* config, const float* frame, int n,
                              int8_t* out);

#endif /* KWS_APP_FEATURE_QUANTIZE_H_ */
