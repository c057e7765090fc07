/* The STM32F407G-DISC1's MP45DT02 PDM microphone as a 16 kHz int16 stream.
 *
 * I2S2 (SPI2) in master receive mode clocks the microphone at 1.024 MHz (PB10 = I2S2_CK ->
 * mic CLK, PC3 = I2S2_SD <- mic DOUT); DMA1 stream 3 channel 0 copies the PDM words into a
 * circular buffer of two halves, and board_mic_read() filters each completed half with
 * pdm_filter.c.  No interrupts: the DMA flags are polled, so the application must call
 * board_mic_read() at least once per half buffer (BOARD_MIC_HALF_WORDS words = 64 ms by
 * default); if it falls a whole half behind, the stale audio is dropped and counted in
 * board_mic_overruns(). */
#ifndef KWS_BOARD_MIC_H_
#define KWS_BOARD_MIC_H_

#include <stddef.h>
#include <stdint.h>

#define BOARD_MIC_SAMPLE_RATE 16000u
#define BOARD_MIC_PDM_HZ 1024000u

/* PDM words (16 bits, 1/64000 s each) per DMA half buffer: 4096 = 64 ms. */
#ifndef BOARD_MIC_HALF_WORDS
#define BOARD_MIC_HALF_WORDS 4096u
#endif
/* Output gain 2^BOARD_MIC_GAIN_SHIFT: the MP45DT02 (-26 dBFS at 94 dB SPL) is quiet. */
#ifndef BOARD_MIC_GAIN_SHIFT
#define BOARD_MIC_GAIN_SHIFT 4
#endif

/* Starts PLLI2S, I2S2 and the DMA.  Returns 0 on success, -1 when PLLI2S does not lock.
 * Calling it again restarts the stream (the audio that piled up meanwhile is dropped
 * without counting as an overrun). */
int board_mic_start(void);

/* Waits until n samples (16 kHz, int16) have been produced: 0, or -1 when the DMA
 * delivers nothing for four half buffers (a stopped microphone clock), instead of hanging.
 * On the 16 MHz HSI fallback the filter cannot keep up: expect overruns. */
int board_mic_read(int16_t* samples, size_t n);

/* Half buffers dropped since boot because board_mic_read() was called too late. */
uint32_t board_mic_overruns(void);

#endif /* KWS_BOARD_MIC_H_ */
