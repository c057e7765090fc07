/* The model's input window: the latest `frames` quantized feature frames in a ring buffer,
 * copied out oldest-first (the [frames][channels] layout the model was trained on). */
#ifndef KWS_APP_FEATURE_WINDOW_H_
#define KWS_APP_FEATURE_WINDOW_H_

#include <stdint.h>

typedef struct {
  int frames;   /* rows in the window */
  int channels; /* int8 values per row */
  int8_t* rows; /* frames * channels bytes of caller-owned storage */
} KwsFeatureWindowConfig;

typedef struct {
  KwsFeatureWindowConfig config;
  int next_row;    /* ring position the next frame is written to */
  uint32_t filled; /* frames pushed since the last reset */
} KwsFeatureWindowState;

void kws_feature_window_init(KwsFeatureWindowState* state, const KwsFeatureWindowConfig* config);
void kws_feature_window_reset(KwsFeatureWindowState* state);
/* The row the next frame goes into; kws_feature_window_commit() then makes it part of the window. */
int8_t* kws_feature_window_next_row(KwsFeatureWindowState* state);
void kws_feature_window_commit(KwsFeatureWindowState* state);
/* 1 when the window holds `frames` frames. */
int kws_feature_window_full(const KwsFeatureWindowState* state);
/* Writes frames * channels values, oldest frame first. */
void kws_feature_window_copy(const KwsFeatureWindowState* state, int8_t* out);

#endif /* KWS_APP_FEATURE_WINDOW_H_ */
