/* Stage 1 of the micro frontend: buffer samples and apply a Q12 Hann window. */
#ifndef KWS_MICRO_FRONTEND_WINDOW_H_
#define KWS_MICRO_FRONTEND_WINDOW_H_

#include <stddef.h>
#include <stdint.h>

#include "kws_config.h"
#include "kws_frame_buffer.h"

#define KWS_WINDOW_BITS 12

typedef struct {
  int size;                     /* window length in samples */
  int step;                     /* hop in samples */
  const int16_t* coefficients;  /* [size] Q12 window, baked on the host */
} KwsWindowConfig;

typedef struct {
  KwsWindowConfig config;
  KwsFrameBuffer frames;
  int16_t max_abs_output_value;
  int16_t output[KWS_MAX_WINDOW_SIZE];
} KwsWindowState;

int kws_window_init(KwsWindowState* state, const KwsWindowConfig* config);
void kws_window_reset(KwsWindowState* state);
/* Consumes up to num_samples; returns 1 when a full window was produced in state->output. */
int kws_window_process(KwsWindowState* state, const int16_t* samples, size_t num_samples,
                       size_t* num_samples_read);

#endif
