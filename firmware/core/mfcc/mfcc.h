/* The MFCC front end (MLPerf Tiny / Hello Edge recipe): int16 audio in, one float32 frame of
 * num_mfcc coefficients out per hop.
 *
 * Matches tf.signal: stft(x / 32768, hann_window periodic, pad_end=False) -> abs ->
 * linear_to_mel_weight_matrix -> log(mel + 1e-6) -> mfccs_from_log_mel_spectrograms[:n].
 * Stages, in order:
 *   mfcc_window.c -> real_fft.c -> mel_filterbank.c -> log_mel.c -> dct.c
 * Every table (window, twiddles, mel weights, DCT) is computed on the host in double and
 * passed in as float32 by pointer (kws/features/mfcc_tables.py), and the only non-trivial
 * math (log, sqrt) is our own (float_math.c), so host and board produce identical bits. */
#ifndef KWS_MFCC_MFCC_H_
#define KWS_MFCC_MFCC_H_

#include <stddef.h>

#include "mfcc/dct.h"
#include "mfcc/float_math.h"
#include "mfcc/log_mel.h"
#include "mfcc/mel_filterbank.h"
#include "mfcc/mfcc_window.h"
#include "mfcc/real_fft.h"

typedef struct {
  KwsMfccWindowConfig window;
  KwsRealFftConfig fft;
  KwsMelFilterbankConfig mel;
  KwsLogMelConfig log_mel;
  KwsDctConfig dct;
} KwsMfccConfig;

typedef struct {
  KwsMfccWindowState window;
  KwsRealFftState fft;
  KwsMelFilterbankState mel;
  KwsLogMelConfig log_mel;
  KwsDctConfig dct;
} KwsMfccState;

/* Returns 1 on success, 0 when the config is inconsistent or exceeds the build-time
 * capacity (KWS_MAX_WINDOW_SIZE, KWS_MAX_FFT_SIZE, KWS_MAX_CHANNELS, KWS_MAX_MFCC). */
int kws_mfcc_init(KwsMfccState* state, const KwsMfccConfig* config);
/* Forgets buffered audio (start of a new stream). */
void kws_mfcc_reset(KwsMfccState* state);
/* Streams samples in.  Consumes up to num_samples (reported in *num_samples_read); returns 1
 * and fills out[num_mfcc] when a frame is complete, 0 when more audio is needed. */
int kws_mfcc_process(KwsMfccState* state, const int16_t* samples, size_t num_samples,
                     size_t* num_samples_read, float* out);
/* Convenience for whole buffers: writes up to max_frames frames, returns the count. */
size_t kws_mfcc_process_all(KwsMfccState* state, const int16_t* samples, size_t num_samples,
                            float* out, size_t max_frames);

#endif /* KWS_MFCC_MFCC_H_ */
