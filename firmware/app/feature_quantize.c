#include "feature_quantize.h"

/* |q| + 0.5 beyond this saturates any zero point to -128 or 127; keeps the int cast defined. */
#define QUANTIZE_SATURATION 1024.0f

int8_t kws_quantize_feature(const KwsFeatureQuantizeConfig* config, float value) {
  const float f = value * config->feature_scale;
  const float q = f / config->input_scale;
  const float magnitude = (q < 0.0f ? -q : q) + 0.5f;
  int32_t rounded;
  int32_t result;
  if (!(magnitude < QUANTIZE_SATURATION)) {
    rounded = (int32_t)QUANTIZE_SATURATION; /* also catches NaN */
  } else {
    rounded = (int32_t)magnitude; /* truncation == floor for a non-negative value */
  }
  result = (q < 0.0f ? -rounded : rounded) + config->zero_point;
  if (result < -128) result = -128;
  if (result > 127) result = 127;
  return (int8_t)result;
}

void kws_quantize_micro_frame(const KwsFeatureQuantizeConfig* config, const uint16_t* frame,
                              int n, int8_t* out) {
  int i;
  for (i = 0; i < n; ++i) out[i] = kws_quantize_feature(config, (float)frame[i]);
}

void kws_quantize_micro_frame_table(const uint32_t* thresholds, const uint16_t* frame, int n,
                                    int8_t* out) {
  int i;
  for (i = 0; i < n; ++i) {
    /* Binary search: how many thresholds the value reaches (0..255) is its int8 + 128. */
    int lo = 0;
    int hi = KWS_QUANTIZE_THRESHOLDS;
    while (lo < hi) {
      const int mid = (lo + hi) >> 1;
      if (thresholds[mid] <= frame[i]) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    out[i] = (int8_t)(lo - 128);
  }
}

void kws_quantize_float_frame(const KwsFeatureQuantizeConfig* config, const float* frame, int n,
                              int8_t* out) {
  int i;
  for (i = 0; i < n; ++i) out[i] = kws_quantize_feature(config, frame[i]);
}
