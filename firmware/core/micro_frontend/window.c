#include "micro_frontend/window.h"

int kws_window_init(KwsWindowState* state, const KwsWindowConfig* config) {
  if (!kws_frame_buffer_init(&state->frames, config->size, config->step)) return 0;
  state->config = *config;
  kws_window_reset(state);
  return 1;
}

void kws_window_reset(KwsWindowState* state) {
  kws_frame_buffer_reset(&state->frames);
  state->max_abs_output_value = 0;
}

int kws_window_process(KwsWindowState* state, const int16_t* samples, size_t num_samples,
                       size_t* num_samples_read) {
  const int size = state->config.size;
  const int16_t* coefficients = state->config.coefficients;
  const int16_t* input = state->frames.samples;
  int16_t max_abs = 0;
  int j;

  if (!kws_frame_buffer_fill(&state->frames, samples, num_samples, num_samples_read)) return 0;
  for (j = 0; j < size; ++j) {
    int16_t value = (int16_t)(((int32_t)input[j] * coefficients[j]) >> KWS_WINDOW_BITS);
    state->output[j] = value;
    if (value < 0) value = (int16_t)-value;
    if (value > max_abs) max_abs = value;
  }
  kws_frame_buffer_advance(&state->frames);
  state->max_abs_output_value = max_abs;
  return 1;
}
