#include "micro_frontend/noise_reduction.h"

int kws_noise_reduction_init(KwsNoiseReductionState* state, const KwsNoiseReductionConfig* config) {
  if (config->num_channels <= 0 || config->num_channels > KWS_MAX_CHANNELS) return 0;
  state->config = *config;
  kws_noise_reduction_reset(state);
  return 1;
}

void kws_noise_reduction_reset(KwsNoiseReductionState* state) {
  int i;
  for (i = 0; i < state->config.num_channels; ++i) state->estimate[i] = 0;
}

void kws_noise_reduction_apply(KwsNoiseReductionState* state, uint32_t* signal) {
  const KwsNoiseReductionConfig* c = &state->config;
  int i;
  for (i = 0; i < c->num_channels; ++i) {
    const uint32_t smoothing = (i & 1) ? c->odd_smoothing : c->even_smoothing;
    const uint32_t one_minus_smoothing = (1u << KWS_NOISE_REDUCTION_BITS) - smoothing;
    const uint32_t signal_scaled_up = signal[i] << c->smoothing_bits;
    uint32_t estimate = (uint32_t)(((uint64_t)signal_scaled_up * smoothing +
                                    (uint64_t)state->estimate[i] * one_minus_smoothing) >>
                                   KWS_NOISE_REDUCTION_BITS);
    uint32_t floor_value, subtracted;
    state->estimate[i] = estimate;
    /* Never subtract more than the signal itself. */
    if (estimate > signal_scaled_up) estimate = signal_scaled_up;
    floor_value = (uint32_t)(((uint64_t)signal[i] * c->min_signal_remaining) >>
                             KWS_NOISE_REDUCTION_BITS);
    subtracted = (signal_scaled_up - estimate) >> c->smoothing_bits;
    signal[i] = subtracted > floor_value ? subtracted : floor_value;
  }
}
