#include "mfcc/mfcc_window.h"

/* int16 full scale: dividing by a power of two is exact, so multiplying is too. */
#define KWS_INT16_TO_FLOAT (1.0f / 32768.0f)

int kws_mfcc_window_init(KwsMfccWindowState* state, const KwsMfccWindowConfig* config) {
  if (config->coefficients == NULL ||
      !kws_frame_buffer_init(&state->frames, config->size, config->step)) {
    return 0;
  }
  state->config = *config;
  kws_mfcc_window_reset(state);
  return 1;
}

void kws_mfcc_window_reset(KwsMfccWindowState* state) { kws_frame_buffer_reset(&state->frames); }

int kws_mfcc_window_process(KwsMfccWindowState* state, const int16_t* samples,
                            size_t num_samples, size_t* num_samples_read) {
  const int size = state->config.size;
  const float* coefficients = state->config.coefficients;
  const int16_t* input = state->frames.samples;
  int j;

  if (!kws_frame_buffer_fill(&state->frames, samples, num_samples, num_samples_read)) return 0;
  for (j = 0; j < size; ++j) {
    state->output[j] = ((float)input[j] * KWS_INT16_TO_FLOAT) * coefficients[j];
  }
  kws_frame_buffer_advance(&state->frames);
  return 1;
}
