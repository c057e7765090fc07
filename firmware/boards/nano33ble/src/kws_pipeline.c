/* See kws_pipeline.h. */
#include "kws_pipeline.h"

#include "micro_frontend/micro_frontend.h"
#include "kws_settings.h"
#include "model.h"

#if KWS_FEATURE_FRAMES * KWS_FEATURE_CHANNELS != KWS_MODEL_INPUT_SIZE
#error "feature window and model input size disagree"
#endif

static KwsMicroFrontendState pipeline_frontend;
/* KWS_FEATURE_FRAMES rows of KWS_FEATURE_CHANNELS, oldest row first (the model's layout). */
static int8_t pipeline_window[KWS_MODEL_INPUT_SIZE];
static uint16_t pipeline_frame[KWS_FEATURE_CHANNELS];
static int8_t pipeline_scores[KWS_MODEL_OUTPUT_SIZE];
static uint32_t pipeline_frames;
static uint32_t pipeline_frames_since_inference;

int kws_pipeline_init(void) {
  int i;
  for (i = 0; i < KWS_MODEL_INPUT_SIZE; ++i) pipeline_window[i] = 0;
  pipeline_frames = 0;
  pipeline_frames_since_inference = 0;
  return kws_micro_frontend_init(&pipeline_frontend, &kws_frontend_config);
}

static int8_t quantize(uint16_t value) {
  return kws_feature_to_input[value < KWS_FEATURE_TABLE_SIZE ? value
                                                             : KWS_FEATURE_TABLE_SIZE - 1];
}

static void push_frame(void) {
  int i;
  /* Shift the window one row towards the past, then append the new row. */
  for (i = 0; i < KWS_MODEL_INPUT_SIZE - KWS_FEATURE_CHANNELS; ++i) {
    pipeline_window[i] = pipeline_window[i + KWS_FEATURE_CHANNELS];
  }
  for (i = 0; i < KWS_FEATURE_CHANNELS; ++i) {
    pipeline_window[KWS_MODEL_INPUT_SIZE - KWS_FEATURE_CHANNELS + i] =
        quantize(pipeline_frame[i]);
  }
  ++pipeline_frames;
  ++pipeline_frames_since_inference;
}

int kws_pipeline_process(const int16_t* samples, size_t n, KwsResult* result) {
  int inferred = 0;
  while (n > 0) {
    size_t used = 0;
    int i;
    int best = 0;
    int ready = kws_micro_frontend_process(&pipeline_frontend, samples, n, &used,
                                           pipeline_frame);
    samples += used;
    n -= used;
    if (!ready) continue;
    push_frame();
    if (pipeline_frames < KWS_FEATURE_FRAMES ||
        pipeline_frames_since_inference < KWS_STRIDE_FRAMES) {
      continue;
    }
    pipeline_frames_since_inference = 0;
    kws_model_invoke(pipeline_window, pipeline_scores);
    for (i = 1; i < KWS_MODEL_OUTPUT_SIZE; ++i) {
      if (pipeline_scores[i] > pipeline_scores[best]) best = i;
    }
    result->frame_index = pipeline_frames;
    result->label = best;
    result->score = pipeline_scores[best];
    result->scores = pipeline_scores;
    inferred = 1;
  }
  return inferred;
}
