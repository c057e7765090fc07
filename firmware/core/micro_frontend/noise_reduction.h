/* Stage 5 of the micro frontend: per-channel noise floor tracking and subtraction (Q14). */
#ifndef KWS_MICRO_FRONTEND_NOISE_REDUCTION_H_
#define KWS_MICRO_FRONTEND_NOISE_REDUCTION_H_

#include <stdint.h>

#include "kws_config.h"

#define KWS_NOISE_REDUCTION_BITS 14

typedef struct {
  int num_channels;
  int smoothing_bits;            /* 10 */
  uint16_t even_smoothing;       /* Q14, 0.025 -> 409 */
  uint16_t odd_smoothing;        /* Q14, 0.06 -> 983 */
  uint16_t min_signal_remaining; /* Q14, 0.05 -> 819 */
} KwsNoiseReductionConfig;

typedef struct {
  KwsNoiseReductionConfig config;
  uint32_t estimate[KWS_MAX_CHANNELS];
} KwsNoiseReductionState;

int kws_noise_reduction_init(KwsNoiseReductionState* state, const KwsNoiseReductionConfig* config);
void kws_noise_reduction_reset(KwsNoiseReductionState* state);
void kws_noise_reduction_apply(KwsNoiseReductionState* state, uint32_t* signal);

#endif
