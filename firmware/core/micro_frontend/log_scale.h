/* Stage 7 of the micro frontend: integer natural log, scaled into uint16. */
#ifndef KWS_MICRO_FRONTEND_LOG_SCALE_H_
#define KWS_MICRO_FRONTEND_LOG_SCALE_H_

#include <stdint.h>

typedef struct {
  int enable_log;
  int scale_shift; /* 6 */
} KwsLogScaleConfig;

/* Writes the scaled log of signal[0..size) (saturated to uint16) into output. */
void kws_log_scale_apply(const KwsLogScaleConfig* config, const uint32_t* signal, int size,
                         int correction_bits, uint16_t* output);

#endif
