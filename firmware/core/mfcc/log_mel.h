/* Stage 4 of the MFCC front end: log(mel + offset), in place, with the deterministic log. */
#ifndef KWS_MFCC_LOG_MEL_H_
#define KWS_MFCC_LOG_MEL_H_

typedef struct {
  int num_channels;
  float offset; /* keeps log finite on silence; TF's MFCC recipe uses 1e-6 */
} KwsLogMelConfig;

/* Returns 1 on success, 0 for a non-positive channel count or offset. */
int kws_log_mel_validate(const KwsLogMelConfig* config);
void kws_log_mel_apply(const KwsLogMelConfig* config, float* channels);

#endif /* KWS_MFCC_LOG_MEL_H_ */
