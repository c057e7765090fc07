/* Stage 2 of the MFCC front end: float32 real FFT.
 *
 * A real input of N samples is packed into N/2 complex values (even sample + i * odd
 * sample), transformed by an iterative radix-2 decimation-in-time FFT, then split into the
 * N/2 + 1 bins of the real spectrum.  The order of every operation is fixed, so the result
 * is bit-identical on any IEEE float32 target compiled with -ffp-contract=off. */
#ifndef KWS_MFCC_REAL_FFT_H_
#define KWS_MFCC_REAL_FFT_H_

#include "kws_config.h"

typedef struct {
  int input_size;        /* samples fed in (the window size), <= fft_size */
  int fft_size;          /* N: a power of two, 4..KWS_MAX_FFT_SIZE */
  const float* twiddles; /* [fft_size / 2][2]: cos(2 pi k / N), sin(2 pi k / N) */
} KwsRealFftConfig;

typedef struct {
  KwsRealFftConfig config;
  /* Interleaved (re, im).  After kws_real_fft_compute it holds bins 0..N/2 of the spectrum,
   * which is why it has room for one complex value more than the packed input. */
  float spectrum[KWS_MAX_FFT_SIZE + 2];
} KwsRealFftState;

/* Returns 1 on success, 0 when the size is not a supported power of two. */
int kws_real_fft_init(KwsRealFftState* state, const KwsRealFftConfig* config);
/* Transforms input[input_size] (zero padded to N) into state->spectrum. */
void kws_real_fft_compute(KwsRealFftState* state, const float* input);

#endif /* KWS_MFCC_REAL_FFT_H_ */
