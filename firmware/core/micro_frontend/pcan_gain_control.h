/* Stage 6 of the micro frontend: per-channel amplitude normalization (PCAN).
 * The gain is a piecewise-quadratic function of the noise estimate read from a LUT baked
 * on the host. */
#ifndef KWS_MICRO_FRONTEND_PCAN_GAIN_CONTROL_H_
#define KWS_MICRO_FRONTEND_PCAN_GAIN_CONTROL_H_

#include <stdint.h>

#define KWS_PCAN_SNR_BITS 12
#define KWS_PCAN_OUTPUT_BITS 6
#define KWS_PCAN_LUT_SIZE 125

typedef struct {
  int enable_pcan;
  int num_channels;
  int snr_shift;           /* gain_bits - input_correction_bits - KWS_PCAN_SNR_BITS */
  const int16_t* gain_lut; /* [KWS_PCAN_LUT_SIZE] */
} KwsPcanConfig;

typedef struct {
  KwsPcanConfig config;
} KwsPcanState;

int kws_pcan_init(KwsPcanState* state, const KwsPcanConfig* config);
void kws_pcan_apply(const KwsPcanState* state, const uint32_t* noise_estimate, uint32_t* signal);

#endif
