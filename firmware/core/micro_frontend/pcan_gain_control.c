#include "micro_frontend/pcan_gain_control.h"

#include "kws_bits.h"
#include "kws_config.h"

int kws_pcan_init(KwsPcanState* state, const KwsPcanConfig* config) {
  if (config->enable_pcan && (config->num_channels <= 0 || config->num_channels > KWS_MAX_CHANNELS ||
                              config->snr_shift < 0 || config->gain_lut == 0)) {
    return 0;
  }
  state->config = *config;
  return 1;
}

static int16_t wide_dynamic_function(uint32_t x, const int16_t* lut) {
  int16_t interval, frac;
  int32_t result;
  if (x <= 2) return lut[x];
  interval = (int16_t)kws_msb32(x);
  lut += 4 * interval - 6;
  frac = (int16_t)(((interval < 11) ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FF);
  result = ((int32_t)lut[2] * frac) >> 5;
  result += (int32_t)((uint32_t)lut[1] << 5);
  result *= frac;
  result = (result + (1 << 14)) >> 15;
  result += lut[0];
  return (int16_t)result;
}

static uint32_t pcan_shrink(uint32_t x) {
  if (x < (2u << KWS_PCAN_SNR_BITS)) {
    return (x * x) >> (2 + 2 * KWS_PCAN_SNR_BITS - KWS_PCAN_OUTPUT_BITS);
  }
  return (x >> (KWS_PCAN_SNR_BITS - KWS_PCAN_OUTPUT_BITS)) - (1u << KWS_PCAN_OUTPUT_BITS);
}

void kws_pcan_apply(const KwsPcanState* state, const uint32_t* noise_estimate, uint32_t* signal) {
  int i;
  for (i = 0; i < state->config.num_channels; ++i) {
    const uint32_t gain = (uint32_t)(int32_t)wide_dynamic_function(noise_estimate[i], state->config.gain_lut);
    const uint32_t snr = (uint32_t)(((uint64_t)signal[i] * gain) >> state->config.snr_shift);
    signal[i] = pcan_shrink(snr);
  }
}
