/* Stage 2 of the micro frontend: 16-bit fixed-point real FFT.
 *
 * Reproduces KissFFT v1.3.0 built with FIXED_POINT=16 (kiss_fftr), which is what
 * TensorFlow's audio_microfrontend uses: every radix stage divides by its radix with
 * rounding, products round with sround().  Only power-of-two sizes occur (radix 4 first,
 * then one radix 2), so only those butterflies are implemented.  Twiddles are baked on the
 * host (double precision cos/sin, as KissFFT computes them). */
#ifndef KWS_MICRO_FRONTEND_FFT_H_
#define KWS_MICRO_FRONTEND_FFT_H_

#include <stdint.h>

#include "kws_config.h"

typedef struct {
  int16_t real;
  int16_t imag;
} KwsComplexInt16;

#define KWS_FFT_MAX_FACTORS 32

typedef struct {
  int input_size;                       /* samples fed in (window size) */
  int fft_size;                         /* power of two >= input_size */
  const KwsComplexInt16* twiddles;      /* [fft_size / 2] complex sub-FFT twiddles */
  const KwsComplexInt16* super_twiddles; /* [fft_size / 4] real-FFT split twiddles */
} KwsFftConfig;

typedef struct {
  KwsFftConfig config;
  int factors[KWS_FFT_MAX_FACTORS];
  /* Real input packed as complex pairs (even sample, odd sample). */
  KwsComplexInt16 input[KWS_MAX_FFT_SIZE / 2];
  KwsComplexInt16 work[KWS_MAX_FFT_SIZE / 2];
  /* fft_size / 2 + 1 bins.  The filterbank turns each bin into its int32 energy in place,
   * which the union makes legal without extra RAM. */
  union {
    KwsComplexInt16 bins[KWS_MAX_FFT_SIZE / 2 + 1];
    int32_t energy[KWS_MAX_FFT_SIZE / 2 + 1];
  } output;
} KwsFftState;

int kws_fft_init(KwsFftState* state, const KwsFftConfig* config);
/* Scales input up by input_scale_shift, zero pads and transforms into state->output. */
void kws_fft_compute(KwsFftState* state, const int16_t* input, int input_scale_shift);

#endif
