#include "mfcc/mfcc.h"

int kws_mfcc_init(KwsMfccState* state, const KwsMfccConfig* config) {
  if (config->fft.input_size != config->window.size) return 0;
  if (config->mel.num_spectrum_bins != config->fft.fft_size / 2 + 1) return 0;
  if (config->log_mel.num_channels != config->mel.num_channels) return 0;
  if (config->dct.num_inputs != config->mel.num_channels) return 0;
  if (!kws_mfcc_window_init(&state->window, &config->window)) return 0;
  if (!kws_real_fft_init(&state->fft, &config->fft)) return 0;
  if (!kws_mel_filterbank_init(&state->mel, &config->mel)) return 0;
  if (!kws_log_mel_validate(&config->log_mel)) return 0;
  if (!kws_dct_validate(&config->dct)) return 0;
  state->log_mel = config->log_mel;
  state->dct = config->dct;
  return 1;
}

void kws_mfcc_reset(KwsMfccState* state) { kws_mfcc_window_reset(&state->window); }

int kws_mfcc_process(KwsMfccState* state, const int16_t* samples, size_t num_samples,
                     size_t* num_samples_read, float* out) {
  if (!kws_mfcc_window_process(&state->window, samples, num_samples, num_samples_read)) {
    return 0;
  }
  kws_real_fft_compute(&state->fft, state->window.output);
  kws_mel_filterbank_apply(&state->mel, state->fft.spectrum);
  kws_log_mel_apply(&state->log_mel, state->mel.output);
  kws_dct_apply(&state->dct, state->mel.output, out);
  return 1;
}

size_t kws_mfcc_process_all(KwsMfccState* state, const int16_t* samples, size_t num_samples,
                            float* out, size_t max_frames) {
  const size_t num_mfcc = (size_t)state->dct.num_outputs;
  size_t frames = 0;
  while (num_samples > 0 && frames < max_frames) {
    size_t read = 0;
    if (kws_mfcc_process(state, samples, num_samples, &read, out + frames * num_mfcc)) {
      ++frames;
    }
    samples += read;
    num_samples -= read;
  }
  return frames;
}
