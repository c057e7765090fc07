#include "mfcc/mfcc_window.h"

/* int16 full scale: dividing by a power of two is exact, so multiplying is too. */
#define KWS_INT16_TO_FLOAT (1.0f / 32768.0f)

int kws_mfcc_window_init(KwsMfccWindowState* state, const KwsMfccWindowConfig* config) {
  if (config->size <= 0 || config->size > KWS_MAX_WINDOW_SIZE || config->step <= 0 ||
      config->step > config->size || config->coefficients == NULL) {
    return 0;
  }
  state->config = *config;
  kws_mfcc_window_reset(state);
  return 1;
}

void kws_mfcc_window_reset(KwsMfccWindowState* state) {
  int i;
  for (i = 0; i < state->config.size; ++i) {
    state->input[i] = 0;
    state->output[i] = 0.0f;
  }
  state->input_used = 0;
}

int kws_mfcc_window_process(KwsMfccWindowState* state, const int16_t* samples,
                            size_t num_samples, size_t* num_samples_read) {
  const int size = state->config.size;
  const int step = state->config.step;
  const float* coefficients = state->config.coefficients;
  size_t to_copy = (size_t)(size - state->input_used);
  size_t i;
  int j;

  if (to_copy > num_samples) to_copy = num_samples;
  for (i = 0; i < to_copy; ++i) state->input[state->input_used + (int)i] = samples[i];
  *num_samples_read = to_copy;
  state->input_used += (int)to_copy;
  if (state->input_used < size) return 0;

  for (j = 0; j < size; ++j) {
    state->output[j] = ((float)state->input[j] * KWS_INT16_TO_FLOAT) * coefficients[j];
  }
  /* Slide by one hop: the overlap is reused by the next window. */
  for (j = 0; j < size - step; ++j) state->input[j] = state->input[j + step];
  state->input_used -= step;
  return 1;
}
