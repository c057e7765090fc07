/* The micro frontend: 16 kHz int16 audio in, one uint16 feature frame out per hop.
 *
 * Bit-exact with TensorFlow's audio_microfrontend op.  Stages, in order:
 *   window.c -> fft.c -> filterbank.c -> noise_reduction.c -> pcan_gain_control.c -> log_scale.c
 * All tables are precomputed on the host (kws/features/micro_tables.py) and passed in by
 * pointer, so host and device run identical integer code over identical constants. */
#ifndef KWS_MICRO_FRONTEND_MICRO_FRONTEND_H_
#define KWS_MICRO_FRONTEND_MICRO_FRONTEND_H_

#include <stddef.h>
#include <stdint.h>

#include "micro_frontend/fft.h"
#include "micro_frontend/filterbank.h"
#include "micro_frontend/log_scale.h"
#include "micro_frontend/noise_reduction.h"
#include "micro_frontend/pcan_gain_control.h"
#include "micro_frontend/window.h"

typedef struct {
  KwsWindowConfig window;
  KwsFftConfig fft;
  KwsFilterbankConfig filterbank;
  KwsNoiseReductionConfig noise_reduction;
  KwsPcanConfig pcan;
  KwsLogScaleConfig log_scale;
} KwsMicroFrontendConfig;

typedef struct {
  KwsWindowState window;
  KwsFftState fft;
  KwsFilterbankState filterbank;
  KwsNoiseReductionState noise_reduction;
  KwsPcanState pcan;
  KwsLogScaleConfig log_scale;
  int correction_bits;
} KwsMicroFrontendState;

/* Returns 1 on success, 0 when the config exceeds the build-time capacity. */
int kws_micro_frontend_init(KwsMicroFrontendState* state, const KwsMicroFrontendConfig* config);
/* Forgets buffered audio and the noise estimate (start of a new stream). */
void kws_micro_frontend_reset(KwsMicroFrontendState* state);
/* Streams samples in.  Consumes up to num_samples (reported in *num_samples_read); returns 1
 * and fills out[num_channels] when a frame is complete, 0 when more audio is needed. */
int kws_micro_frontend_process(KwsMicroFrontendState* state, const int16_t* samples,
                               size_t num_samples, size_t* num_samples_read, uint16_t* out);
/* Convenience for whole buffers: writes up to max_frames frames, returns the count. */
size_t kws_micro_frontend_process_all(KwsMicroFrontendState* state, const int16_t* samples,
                                      size_t num_samples, uint16_t* out, size_t max_frames);

#endif
