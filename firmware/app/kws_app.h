/* The keyword-spotting pipeline of the firmware application:
 *   int16 audio -> streaming frontend (micro or MFCC, tables baked at deploy time)
 *   -> int8 quantization (feature_quantize.h) -> feature window ring (feature_window.h)
 *   -> kws_model_invoke every KWS_APP_STRIDE_FRAMES frames -> scores + averaged detection.
 *
 * A deployed project generates kws_app_config.h (frontend kind, window, stride, thresholds,
 * the frontend config and the keyword mask).  All memory is static.  Results go to the
 * KwsAppHooks the caller passes to kws_app_init: main.c sends them as protocol frames, an
 * Arduino sketch (boards/nano33ble) prints them. */
#ifndef KWS_APP_KWS_APP_H_
#define KWS_APP_KWS_APP_H_

#include <stddef.h>
#include <stdint.h>

#define KWS_FRONTEND_NONE 0 /* model-only build: TENSOR messages only */
#define KWS_FRONTEND_MICRO 1
#define KWS_FRONTEND_MFCC 2

/* FEATURES raw formats. */
#define KWS_FEATURES_UINT16 1
#define KWS_FEATURES_FLOAT32 2

/* Where results go: the caller's functions, called from inside kws_app_process_audio().
 * Any of them may be NULL; `context` is passed back to each unchanged. */
typedef struct {
  /* Every feature frame: raw frontend output (raw_format says uint16 or float32) and its
   * int8 quantization, n values each. */
  void (*on_features)(void* context, uint32_t frame_index, int raw_format, const void* raw,
                      const int8_t* quantized, int n);
  /* Every inference: the model's n int8 outputs. */
  void (*on_scores)(void* context, uint32_t frame_index, const int8_t* scores, int n);
  /* A keyword whose averaged score reached the threshold. */
  void (*on_detection)(void* context, uint32_t frame_index, int label, int32_t average);
  void* context;
} KwsAppHooks;

/* Keeps a copy of *hooks (NULL: no hooks).  Returns 1 when the frontend config was
 * accepted (always 1 for a model-only build). */
int kws_app_init(const KwsAppHooks* hooks);

/* Starts a new audio stream: clears the frontend, the window and the score history. */
void kws_app_reset(void);

/* Streams samples through the pipeline; results come out through the hooks.
 * Returns the number of feature frames produced, or -1 when the build has no frontend. */
int kws_app_process_audio(const int16_t* samples, size_t n);

/* Runs the model alone on one int8 input (KWS_MODEL_INPUT_SIZE values). */
void kws_app_invoke(const int8_t* input, int8_t* output);

#endif /* KWS_APP_KWS_APP_H_ */
