/* Build-time capacity limits of the C core.
 *
 * The core never allocates: every state struct holds fixed arrays sized by these macros.
 * The host build (Python extension) uses the generous defaults below; a firmware build
 * passes -D values sized exactly for its model and frontend so no RAM is wasted. */
#ifndef KWS_CONFIG_H_
#define KWS_CONFIG_H_

/* Longest analysis window in samples (64 ms at 16 kHz = 1024). */
#ifndef KWS_MAX_WINDOW_SIZE
#define KWS_MAX_WINDOW_SIZE 1024
#endif

/* Largest FFT (next power of two >= window size). */
#ifndef KWS_MAX_FFT_SIZE
#define KWS_MAX_FFT_SIZE 1024
#endif

/* Most filterbank / mel channels. */
#ifndef KWS_MAX_CHANNELS
#define KWS_MAX_CHANNELS 128
#endif

/* Most MFCC coefficients. */
#ifndef KWS_MAX_MFCC
#define KWS_MAX_MFCC 64
#endif

#endif /* KWS_CONFIG_H_ */
