#include "kws_app.h"

#include "kws_app_config.h"
#include "model.h"

#include "feature_quantize.h"
#include "feature_window.h"
#include "score_average.h"

#if KWS_APP_FRONTEND == KWS_FRONTEND_MICRO
#include "micro_frontend/micro_frontend.h"
#elif KWS_APP_FRONTEND == KWS_FRONTEND_MFCC
#include "mfcc/mfcc.h"
#endif

#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
static int8_t model_input[KWS_MODEL_INPUT_SIZE];
static int8_t model_output[KWS_MODEL_OUTPUT_SIZE];
/* The window must be exactly the model input, or the model would read garbage. */
typedef char kws_window_matches_model_input
    [(KWS_APP_FRAMES * KWS_APP_CHANNELS == KWS_MODEL_INPUT_SIZE) ? 1 : -1];

static int8_t window_rows[KWS_APP_FRAMES * KWS_APP_CHANNELS];
static KwsFeatureWindowState window;
static int8_t score_history[KWS_APP_AVERAGE_COUNT * KWS_MODEL_NUM_LABELS];
static int32_t score_sums[KWS_MODEL_NUM_LABELS];
static KwsScoreAverageState scores;
static uint32_t frames_since_inference;
static const KwsAppHooks no_hooks = {0, 0, 0, 0};
static KwsAppHooks app_hooks;

#if KWS_APP_FRONTEND == KWS_FRONTEND_MICRO
static KwsMicroFrontendState frontend;
static uint16_t frame[KWS_APP_CHANNELS];
#define FRONTEND_INIT() kws_micro_frontend_init(&frontend, &kws_app_frontend)
#define FRONTEND_RESET() kws_micro_frontend_reset(&frontend)
#define FRONTEND_PROCESS(s, n, r) kws_micro_frontend_process(&frontend, (s), (n), (r), frame)
/* Integer-only: the thresholds kws deploy derived from the float rule (no FPU needed). */
#define QUANTIZE_FRAME(out) \
  kws_quantize_micro_frame_table(kws_app_quantize_thresholds, frame, KWS_APP_CHANNELS, out)
#define RAW_FORMAT KWS_FEATURES_UINT16
#else
static const KwsFeatureQuantizeConfig quantize_config = {
    KWS_APP_FEATURE_SCALE, KWS_APP_INPUT_SCALE, KWS_APP_INPUT_ZERO_POINT};
static KwsMfccState frontend;
static float frame[KWS_APP_CHANNELS];
#define FRONTEND_INIT() kws_mfcc_init(&frontend, &kws_app_frontend)
#define FRONTEND_RESET() kws_mfcc_reset(&frontend)
#define FRONTEND_PROCESS(s, n, r) kws_mfcc_process(&frontend, (s), (n), (r), frame)
#define QUANTIZE_FRAME(out) kws_quantize_float_frame(&quantize_config, frame, KWS_APP_CHANNELS, out)
#define RAW_FORMAT KWS_FEATURES_FLOAT32
#endif
#endif /* KWS_APP_FRONTEND != KWS_FRONTEND_NONE */

int kws_app_init(const KwsAppHooks* hooks) {
#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
  KwsFeatureWindowConfig window_config;
  KwsScoreAverageConfig score_config;
  app_hooks = hooks != 0 ? *hooks : no_hooks;
  window_config.frames = KWS_APP_FRAMES;
  window_config.channels = KWS_APP_CHANNELS;
  window_config.rows = window_rows;
  kws_feature_window_init(&window, &window_config);
  score_config.num_labels = KWS_MODEL_NUM_LABELS;
  score_config.count = KWS_APP_AVERAGE_COUNT;
  score_config.threshold = KWS_APP_THRESHOLD_Q;
  score_config.suppress = KWS_APP_SUPPRESS_INFERENCES;
  score_config.keyword_mask = kws_app_keyword_mask;
  score_config.history = score_history;
  score_config.sums = score_sums;
  kws_score_average_init(&scores, &score_config);
  frames_since_inference = 0;
  return FRONTEND_INIT();
#else
  (void)hooks;
  return 1;
#endif
}

void kws_app_reset(void) {
#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
  FRONTEND_RESET();
  kws_feature_window_reset(&window);
  kws_score_average_reset(&scores);
  frames_since_inference = 0;
#endif
}

void kws_app_invoke(const int8_t* input, int8_t* output) { kws_model_invoke(input, output); }

#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
/* One new feature frame: into the window, and an inference every stride frames once full. */
static void on_frame(void) {
  int8_t* row = kws_feature_window_next_row(&window);
  uint32_t frame_index;
  int32_t average = 0;
  int label;
  QUANTIZE_FRAME(row);
  kws_feature_window_commit(&window);
  frame_index = window.filled;
  if (app_hooks.on_features) {
    app_hooks.on_features(app_hooks.context, frame_index, RAW_FORMAT, frame, row,
                          KWS_APP_CHANNELS);
  }
  if (!kws_feature_window_full(&window)) return;
  /* The first inference runs as soon as the window is full, then every stride frames. */
  if (frame_index > (uint32_t)KWS_APP_FRAMES && ++frames_since_inference < KWS_APP_STRIDE_FRAMES) {
    return;
  }
  frames_since_inference = 0;
  kws_feature_window_copy(&window, model_input);
  kws_model_invoke(model_input, model_output);
  if (app_hooks.on_scores) {
    app_hooks.on_scores(app_hooks.context, frame_index, model_output, KWS_MODEL_NUM_LABELS);
  }
  label = kws_score_average_update(&scores, model_output, &average);
  if (label >= 0 && app_hooks.on_detection) {
    app_hooks.on_detection(app_hooks.context, frame_index, label, average);
  }
}
#endif

int kws_app_process_audio(const int16_t* samples, size_t n) {
#if KWS_APP_FRONTEND != KWS_FRONTEND_NONE
  int frames = 0;
  while (n > 0) {
    size_t read = 0;
    const int done = FRONTEND_PROCESS(samples, n, &read);
    samples += read;
    n -= read;
    if (done) {
      on_frame();
      ++frames;
    } else if (read == 0) {
      break; /* the frontend took nothing: never spin */
    }
  }
  return frames;
#else
  (void)samples;
  (void)n;
  return -1;
#endif
}
