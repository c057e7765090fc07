#include "micro_frontend/log_scale.h"

#include "kws_bits.h"

#define KWS_LOG_SEGMENTS_LOG2 7
#define KWS_LOG_SCALE 65536
#define KWS_LOG_SCALE_LOG2 16
#define KWS_LOG_COEFF 45426 /* ln(2) in Q16 */

/* Correction of log2(1 + x) over linear interpolation, 128 segments in Q16
 * (the table the TensorFlow micro frontend uses). */
static const uint16_t kws_log_lut[130] = {
    0,    224,  442,  654,  861,  1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646,
    2797, 2944, 3087, 3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460,
    4549, 4633, 4714, 4791, 4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408,
    5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633,
    5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370, 5332, 5291, 5249,
    5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341,
    4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981,
    2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
    1094, 963,  830,  695,  559,  421,  282,  142,  0,    0};

static uint32_t log2_fraction_part(uint32_t x, uint32_t log2x) {
  int32_t frac = (int32_t)(x - (1u << log2x));
  uint32_t base_seg, seg_unit;
  int32_t c0, c1, seg_base, rel_pos;
  if (log2x < KWS_LOG_SCALE_LOG2) {
    frac = (int32_t)((uint32_t)frac << (KWS_LOG_SCALE_LOG2 - log2x));
  } else {
    frac >>= log2x - KWS_LOG_SCALE_LOG2;
  }
  base_seg = (uint32_t)frac >> (KWS_LOG_SCALE_LOG2 - KWS_LOG_SEGMENTS_LOG2);
  seg_unit = (1u << KWS_LOG_SCALE_LOG2) >> KWS_LOG_SEGMENTS_LOG2;
  c0 = kws_log_lut[base_seg];
  c1 = kws_log_lut[base_seg + 1];
  seg_base = (int32_t)(seg_unit * base_seg);
  rel_pos = ((c1 - c0) * (frac - seg_base)) >> KWS_LOG_SCALE_LOG2;
  return (uint32_t)(frac + c0 + rel_pos);
}

static uint32_t log_scaled(uint32_t x, uint32_t scale_shift) {
  const uint32_t integer = (uint32_t)kws_msb32(x) - 1;
  const uint32_t fraction = log2_fraction_part(x, integer);
  const uint32_t log2 = (integer << KWS_LOG_SCALE_LOG2) + fraction;
  const uint32_t round = KWS_LOG_SCALE / 2;
  const uint32_t loge = (uint32_t)(((uint64_t)KWS_LOG_COEFF * log2 + round) >> KWS_LOG_SCALE_LOG2);
  return ((loge << scale_shift) + round) >> KWS_LOG_SCALE_LOG2;
}

void kws_log_scale_apply(const KwsLogScaleConfig* config, const uint32_t* signal, int size,
                         int correction_bits, uint16_t* output) {
  int i;
  for (i = 0; i < size; ++i) {
    uint32_t value = signal[i];
    if (config->enable_log) {
      if (correction_bits < 0) {
        value >>= -correction_bits;
      } else {
        value <<= correction_bits;
      }
      value = value > 1 ? log_scaled(value, (uint32_t)config->scale_shift) : 0;
    }
    output[i] = (uint16_t)(value < 0xFFFF ? value : 0xFFFF);
  }
}
