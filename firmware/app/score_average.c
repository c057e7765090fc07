#include "score_average.h"

void kws_score_average_init(KwsScoreAverageState* state, const KwsScoreAverageConfig* config) {
  state->config = *config;
  kws_score_average_reset(state);
}

void kws_score_average_reset(KwsScoreAverageState* state) {
  int i;
  for (i = 0; i < state->config.num_labels; ++i) state->config.sums[i] = 0;
  state->next = 0;
  state->filled = 0;
  state->since_detect = state->config.suppress;
}

int kws_score_average_update(KwsScoreAverageState* state, const int8_t* scores, int32_t* average) {
  const KwsScoreAverageConfig* c = &state->config;
  int8_t* slot = c->history + state->next * c->num_labels;
  int best = -1;
  int32_t best_average = 0;
  int i;
  for (i = 0; i < c->num_labels; ++i) {
    if (state->filled == c->count) c->sums[i] -= slot[i];
    slot[i] = scores[i];
    c->sums[i] += scores[i];
  }
  if (state->filled < c->count) ++state->filled;
  state->next = (state->next + 1) % c->count;
  if (state->since_detect < c->suppress) ++state->since_detect;
  /* Only a full history decides, so a single loud inference cannot trigger. */
  if (state->filled < c->count || state->since_detect < c->suppress) return -1;
  for (i = 0; i < c->num_labels; ++i) {
    const int32_t avg = c->sums[i] / state->filled;
    if (!c->keyword_mask[i] || avg < c->threshold) continue;
    if (best < 0 || avg > best_average) {
      best = i;
      best_average = avg;
    }
  }
  if (best >= 0) {
    state->since_detect = 0;
    *average = best_average;
  }
  return best;
}
