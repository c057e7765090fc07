#include "feature_window.h"

void kws_feature_window_init(KwsFeatureWindowState* state, const KwsFeatureWindowConfig* config) {
  state->config = *config;
  kws_feature_window_reset(state);
}

void kws_feature_window_reset(KwsFeatureWindowState* state) {
  state->next_row = 0;
  state->filled = 0;
}

int8_t* kws_feature_window_next_row(KwsFeatureWindowState* state) {
  return state->config.rows + state->next_row * state->config.channels;
}

void kws_feature_window_commit(KwsFeatureWindowState* state) {
  state->next_row = (state->next_row + 1) % state->config.frames;
  ++state->filled;
}

int kws_feature_window_full(const KwsFeatureWindowState* state) {
  return state->filled >= (uint32_t)state->config.frames;
}

void kws_feature_window_copy(const KwsFeatureWindowState* state, int8_t* out) {
  const int channels = state->config.channels;
  const int total = state->config.frames * channels;
  /* Once full, next_row is the oldest frame; wrap around the end of the ring once. */
  int from = state->next_row * channels;
  int i;
  for (i = 0; i < total; ++i) {
    out[i] = state->config.rows[from];
    if (++from == total) from = 0;
  }
}
