#include "micro_frontend/micro_frontend.h"

#include "kws_bits.h"

int kws_micro_frontend_init(KwsMicroFrontendState* state, const KwsMicroFrontendConfig* config) {
  if (!kws_window_init(&state->window, &config->window)) return 0;
  if (!kws_fft_init(&state->fft, &config->fft)) return 0;
  if (!kws_filterbank_init(&state->filterbank, &config->filterbank)) return 0;
  if (!kws_noise_reduction_init(&state->noise_reduction, &config->noise_reduction)) return 0;
  if (!kws_pcan_init(&state->pcan, &config->pcan)) return 0;
  if (config->filterbank.end_index > config->fft.fft_size / 2 + 1) return 0;
  state->log_scale = config->log_scale;
  /* The FFT scales by 1/fft_size; the log stage shifts the filterbank back by this much. */
  state->correction_bits = kws_msb32((uint32_t)config->fft.fft_size) - 1 - KWS_FILTERBANK_BITS / 2;
  return 1;
}

void kws_micro_frontend_reset(KwsMicroFrontendState* state) {
  kws_window_reset(&state->window);
  kws_filterbank_reset(&state->filterbank);
  kws_noise_reduction_reset(&state->noise_reduction);
}

int kws_micro_frontend_process(KwsMicroFrontendState* state, const int16_t* samples,
                               size_t num_samples, size_t* num_samples_read, uint16_t* out) {
  int input_shift;
  uint32_t* channels;
  if (!kws_window_process(&state->window, samples, num_samples, num_samples_read)) return 0;

  /* Scale the window up so the 16-bit FFT keeps as much resolution as possible. */
  input_shift = 15 - kws_msb32((uint32_t)state->window.max_abs_output_value);
  kws_fft_compute(&state->fft, state->window.output, input_shift);
  kws_filterbank_energy(&state->filterbank, &state->fft);
  kws_filterbank_accumulate(&state->filterbank, state->fft.output.energy);
  channels = kws_filterbank_sqrt(&state->filterbank, input_shift);
  kws_noise_reduction_apply(&state->noise_reduction, channels);
  if (state->pcan.config.enable_pcan) {
    kws_pcan_apply(&state->pcan, state->noise_reduction.estimate, channels);
  }
  kws_log_scale_apply(&state->log_scale, channels, state->filterbank.config.num_channels,
                      state->correction_bits, out);
  return 1;
}

size_t kws_micro_frontend_process_all(KwsMicroFrontendState* state, const int16_t* samples,
                                      size_t num_samples, uint16_t* out, size_t max_frames) {
  const size_t channels = (size_t)state->filterbank.config.num_channels;
  size_t frames = 0;
  while (num_samples > 0 && frames < max_frames) {
    size_t read = 0;
    if (kws_micro_frontend_process(state, samples, num_samples, &read, out + frames * channels)) {
      ++frames;
    }
    samples += read;
    num_samples -= read;
  }
  return frames;
}
