/* Stage 1 of the MFCC front end: buffer int16 samples and apply a float32 window.
 *
 * Samples become floats as x / 32768 (exact), then are multiplied by the window, exactly
 * like tf.signal.stft on audio scaled to [-1, 1). */
#ifndef KWS_MFCC_MFCC_WINDOW_H_
#define KWS_MFCC_MFCC_WINDOW_H_

#include <stddef.h>
#include <stdint.h>

#include "kws_config.h"
#include "kws_frame_buffer.h"

typedef struct {
  int size;                  /* window length in samples */
  int step;                  /* hop in samples, 1..size */
  const float* coefficients; /* [size] periodic Hann window, baked on the host */
} KwsMfccWindowConfig;

typedef struct {
  KwsMfccWindowConfig config;
  KwsFrameBuffer frames;
  float output[KWS_MAX_WINDOW_SIZE];
} KwsMfccWindowState;

/* Returns 1 on success, 0 when the config is invalid or exceeds KWS_MAX_WINDOW_SIZE. */
int kws_mfcc_window_init(KwsMfccWindowState* state, const KwsMfccWindowConfig* config);
void kws_mfcc_window_reset(KwsMfccWindowState* state);
/* Consumes up to num_samples; returns 1 when a full window was written to state->output. */
int kws_mfcc_window_process(KwsMfccWindowState* state, const int16_t* samples,
                            size_t num_samples, size_t* num_samples_read);

#endif /* KWS_MFCC_MFCC_WINDOW_H_ */
