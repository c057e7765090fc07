/* Stage 3 of the MFCC front end: magnitude spectrum and triangular mel filterbank.
 *
 * Equivalent to |STFT| @ tf.signal.linear_to_mel_weight_matrix(...), with the matrix
 * stored sparsely: each mel channel covers a contiguous run of FFT bins, so only that
 * run's weights are kept.  Weights of channel c start right after those of channel c-1. */
#ifndef KWS_MFCC_MEL_FILTERBANK_H_
#define KWS_MFCC_MEL_FILTERBANK_H_

#include <stdint.h>

#include "kws_config.h"

typedef struct {
  int num_channels;            /* mel bins, 1..KWS_MAX_CHANNELS */
  int num_spectrum_bins;       /* fft_size / 2 + 1 */
  const int16_t* bin_starts;   /* [num_channels] first FFT bin of each channel */
  const int16_t* bin_counts;   /* [num_channels] FFT bins in each channel (may be 0) */
  const float* weights;        /* [sum(bin_counts)] channel 0's weights, then channel 1's... */
} KwsMelFilterbankConfig;

typedef struct {
  KwsMelFilterbankConfig config;
  int first_bin; /* magnitudes are computed only for bins some channel uses */
  int end_bin;
  float magnitude[KWS_MAX_FFT_SIZE / 2 + 1];
  float output[KWS_MAX_CHANNELS];
} KwsMelFilterbankState;

/* Returns 1 on success, 0 when a channel leaves the spectrum or exceeds the capacity. */
int kws_mel_filterbank_init(KwsMelFilterbankState* state, const KwsMelFilterbankConfig* config);
/* spectrum: interleaved (re, im) bins 0..num_spectrum_bins-1; fills state->output. */
void kws_mel_filterbank_apply(KwsMelFilterbankState* state, const float* spectrum);

#endif /* KWS_MFCC_MEL_FILTERBANK_H_ */
