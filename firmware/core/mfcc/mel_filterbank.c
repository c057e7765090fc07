#include "mfcc/mel_filterbank.h"

#include <stddef.h>

#include "mfcc/float_math.h"

int kws_mel_filterbank_init(KwsMelFilterbankState* state, const KwsMelFilterbankConfig* config) {
  int c, i;
  int first_bin = config->num_spectrum_bins, end_bin = 0;
  if (config->num_channels <= 0 || config->num_channels > KWS_MAX_CHANNELS ||
      config->num_spectrum_bins <= 0 || config->num_spectrum_bins > KWS_MAX_FFT_SIZE / 2 + 1 ||
      config->bin_starts == NULL || config->bin_counts == NULL || config->weights == NULL) {
    return 0;
  }
  for (c = 0; c < config->num_channels; ++c) {
    const int start = config->bin_starts[c];
    const int count = config->bin_counts[c];
    if (start < 0 || count < 0 || start + count > config->num_spectrum_bins) return 0;
    if (count == 0) continue;
    if (start < first_bin) first_bin = start;
    if (start + count > end_bin) end_bin = start + count;
  }
  state->config = *config;
  state->first_bin = first_bin < end_bin ? first_bin : 0;
  state->end_bin = end_bin;
  for (i = 0; i < config->num_spectrum_bins; ++i) state->magnitude[i] = 0.0f;
  for (c = 0; c < config->num_channels; ++c) state->output[c] = 0.0f;
  return 1;
}

void kws_mel_filterbank_apply(KwsMelFilterbankState* state, const float* spectrum) {
  const KwsMelFilterbankConfig* config = &state->config;
  const float* weight = config->weights;
  int c, i;
  for (i = state->first_bin; i < state->end_bin; ++i) {
    const float re = spectrum[2 * i], im = spectrum[2 * i + 1];
    state->magnitude[i] = kws_sqrt_f32(re * re + im * im);
  }
  for (c = 0; c < config->num_channels; ++c) {
    const int start = config->bin_starts[c];
    const int count = config->bin_counts[c];
    float sum = 0.0f;
    for (i = 0; i < count; ++i) sum += weight[i] * state->magnitude[start + i];
    weight += count;
    state->output[c] = sum;
  }
}
