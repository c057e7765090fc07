/* Stage 5 of the MFCC front end: DCT-II of the log-mel channels, first num_outputs terms.
 *
 * The matrix is baked on the host with TF's scaling (tf.signal.mfccs_from_log_mel_
 * spectrograms: unnormalised DCT-II times 1/sqrt(2 * num_inputs)). */
#ifndef KWS_MFCC_DCT_H_
#define KWS_MFCC_DCT_H_

typedef struct {
  int num_inputs;      /* mel channels, 1..KWS_MAX_CHANNELS */
  int num_outputs;     /* MFCCs kept, 1..min(num_inputs, KWS_MAX_MFCC) */
  const float* matrix; /* [num_inputs][num_outputs], row-major */
} KwsDctConfig;

/* Returns 1 on success, 0 when the sizes are out of range. */
int kws_dct_validate(const KwsDctConfig* config);
/* out[k] = sum_n input[n] * matrix[n][k], summed in order of n. */
void kws_dct_apply(const KwsDctConfig* config, const float* input, float* out);

#endif /* KWS_MFCC_DCT_H_ */
