#include "frontend/window.h"

int kws_window_init(KwsWindowState* state, const KwsWindowConfig* config) {
  if (config->size <= 0 || config->size > KWS_MAX_WINDOW_SIZE || config->step <= 0 ||
      config->step > config->size) {
    return 0;
  }
  state->config = *config;
  kws_window_reset(state);
  return 1;
}

void kws_window_reset(KwsWindowState* state) {
  int i;
  for (i = 0; i < state->config.size; ++i) {
    state->input[i] = 0;
    state->output[i] = 0;
  }
  state->input_used = 0;
  state->max_abs_output_value = 0;
}

int kws_window_process(KwsWindowState* state, const int16_t* samples, size_t num_samples,
                       size_t* num_samples_read) {
  const int size = state->config.size;
  const int step = state->config.step;
  const int16_t* coefficients = state->config.coefficients;
  size_t to_copy = (size_t)(size - state->input_used);
  size_t i;
  int16_t max_abs = 0;
  int j;

  if (to_copy > num_samples) to_copy = num_samples;
  for (i = 0; i < to_copy; ++i) state->input[state->input_used + (int)i] = samples[i];
  *num_samples_read = to_copy;
  state->input_used += (int)to_copy;
  if (state->input_used < size) return 0;

  for (j = 0; j < size; ++j) {
    int16_t value = (int16_t)(((int32_t)state->input[j] * coefficients[j]) >> KWS_WINDOW_BITS);
    state->output[j] = value;
    if (value < 0) value = (int16_t)-value;
    if (value > max_abs) max_abs = value;
  }
  /* Slide the buffer by one hop: the overlap is reused by the next window. */
  for (j = 0; j < size - step; ++j) state->input[j] = state->input[j + step];
  state->input_used -= step;
  state->max_abs_output_value = max_abs;
  return 1;
}
