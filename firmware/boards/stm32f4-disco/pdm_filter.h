/* PDM -> PCM decimation filter: 1-bit PDM at 1.024 MHz in, 16 kHz int16 out.
 *
 * Design (fixed point, no FPU needed; see pdm_filter_design.py):
 *   1. CIC decimator, order 5, decimation 32 (1.024 MHz -> 32 kHz).  Bits map to +-1, so
 *      the stages grow to 1 + 5 * log2(32) = 26 bits; they run in uint32 modular
 *      arithmetic, which is exact for a CIC as long as the output fits.  Its nulls at
 *      multiples of 32 kHz remove the modulator's shaped noise that would alias into the
 *      band; its sinc^5 droop (-4.5 dB at 8 kHz) is corrected by stage 2.
 *   2. FIR, 79 taps in Q20, decimation 2 (32 kHz -> 16 kHz): weighted least-squares
 *      low-pass with inverse-sinc^5 passband.  Cascade: flat within 0.1 dB to 7 kHz,
 *      -20 dB at 8 kHz, below -73 dB from 8.5 kHz.  Only every second output is computed.
 *   3. Optional DC blocker y = x - x1 + (1 - 2^-k) y1 (k = dc_block_shift; k = 10 puts the
 *      corner near 2.5 Hz), removing the microphone's offset.
 * Full scale: a PDM stream of all ones maps to +32768 before gain_shift (a left shift,
 * saturating), so a quiet microphone can be brought up in steps of 6 dB.
 *
 * Input words hold 16 PDM bits each, the first bit in time in bit 15: what SPI/I2S in 16-bit
 * mode shifts into its data register.  64 bits (4 words) make one output sample. */
#ifndef KWS_PDM_FILTER_H_
#define KWS_PDM_FILTER_H_

#include <stddef.h>
#include <stdint.h>

#define KWS_PDM_CIC_ORDER 5
#define KWS_PDM_CIC_DECIMATION 32
#define KWS_PDM_FIR_DECIMATION 2
#define KWS_PDM_FIR_TAPS 79
#define KWS_PDM_FIR_FRAC_BITS 20
/* PDM bits per output sample (64: 1.024 MHz -> 16 kHz). */
#define KWS_PDM_DECIMATION (KWS_PDM_CIC_DECIMATION * KWS_PDM_FIR_DECIMATION)
#define KWS_PDM_WORDS_PER_SAMPLE (KWS_PDM_DECIMATION / 16)
#define KWS_PDM_MAX_GAIN_SHIFT 12
#define KWS_PDM_MAX_DC_BLOCK_SHIFT 16

typedef struct {
  int gain_shift;     /* 0..KWS_PDM_MAX_GAIN_SHIFT: output gain 2^gain_shift */
  int dc_block_shift; /* 0: off, else 1..KWS_PDM_MAX_DC_BLOCK_SHIFT */
} KwsPdmFilterConfig;

typedef struct {
  KwsPdmFilterConfig config;
  uint32_t integrator[KWS_PDM_CIC_ORDER];
  uint32_t comb_delay[KWS_PDM_CIC_ORDER];
  int bit_phase; /* PDM bits since the last CIC output */
  /* FIR history written twice (at i and i + TAPS) so the taps read one contiguous run. */
  int32_t history[2 * KWS_PDM_FIR_TAPS];
  int history_pos;
  int fir_phase; /* CIC outputs since the last FIR output */
  int32_t dc_previous_input;
  int32_t dc_previous_output;
} KwsPdmFilterState;

/* The FIR taps (Q20), exported for tests. */
extern const int32_t kws_pdm_fir_taps[KWS_PDM_FIR_TAPS];

/* Returns 1 on success, 0 for an out-of-range config. */
int kws_pdm_filter_init(KwsPdmFilterState* state, const KwsPdmFilterConfig* config);
/* Clears all filter memory (start of a new stream). */
void kws_pdm_filter_reset(KwsPdmFilterState* state);
/* Filters up to num_words PDM words into at most max_samples PCM samples.  Stops early when
 * out is full; *num_words_read tells how many words were consumed.  Returns the number of
 * samples written. */
size_t kws_pdm_filter_process(KwsPdmFilterState* state, const uint16_t* pdm, size_t num_words,
                              size_t* num_words_read, int16_t* out, size_t max_samples);

#endif /* KWS_PDM_FILTER_H_ */
