/* Stages 3-4 of the micro frontend: FFT power, mel filterbank in Q12, integer sqrt.
 *
 * Each channel accumulates weight * energy; the complementary unweight * energy of the
 * same bins goes to the next channel (triangular filters with shared edges).  The index
 * tables are padded to blocks of 4 exactly as TensorFlow's filterbank_util lays them out,
 * and are baked on the host. */
#ifndef KWS_MICRO_FRONTEND_FILTERBANK_H_
#define KWS_MICRO_FRONTEND_FILTERBANK_H_

#include <stdint.h>

#include "micro_frontend/fft.h"
#include "kws_config.h"

#define KWS_FILTERBANK_BITS 12

typedef struct {
  int num_channels;
  int start_index;                         /* first FFT bin used (DC excluded) */
  int end_index;                           /* one past the last FFT bin used */
  const int16_t* channel_frequency_starts; /* [num_channels + 1] */
  const int16_t* channel_weight_starts;    /* [num_channels + 1] */
  const int16_t* channel_widths;           /* [num_channels + 1] */
  const int16_t* weights;                  /* Q12 */
  const int16_t* unweights;                /* Q12 */
} KwsFilterbankConfig;

typedef struct {
  KwsFilterbankConfig config;
  /* num_channels + 1 accumulators; reused for the uint32 sqrt output. */
  union {
    uint64_t accumulators[KWS_MAX_CHANNELS + 1];
    uint32_t output[KWS_MAX_CHANNELS + 1];
  } work;
} KwsFilterbankState;

int kws_filterbank_init(KwsFilterbankState* state, const KwsFilterbankConfig* config);
void kws_filterbank_reset(KwsFilterbankState* state);
/* Replaces bins start_index..end_index-1 of the FFT output with their int32 energy. */
void kws_filterbank_energy(const KwsFilterbankState* state, KwsFftState* fft);
void kws_filterbank_accumulate(KwsFilterbankState* state, const int32_t* energy);
/* Returns num_channels values: rounded sqrt of each channel >> scale_down_shift. */
uint32_t* kws_filterbank_sqrt(KwsFilterbankState* state, int scale_down_shift);

#endif
