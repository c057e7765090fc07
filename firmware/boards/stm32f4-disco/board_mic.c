/* MP45DT02 PDM microphone over I2S2 + DMA1 stream 3 (RM0090 sections 28 and 10). */
#include "board_mic.h"

#include "board.h"
#include "pdm_filter.h"
#include "stm32f4_regs.h"

/* PLLI2S from the shared 2 MHz PLL input (HSE 8 MHz / M 4): VCO = 2 MHz x 128 = 256 MHz,
 * I2SCLK = 256 / 5 = 51.2 MHz.  With 16-bit frames and no master clock output,
 * CK = I2SCLK / (2 I2SDIV + ODD) = 51.2 MHz / 50 = 1.024 MHz exactly. */
#define PLLI2S_N 128u
#define PLLI2S_R 5u
#define I2S_DIV 25u
#define PLLI2S_READY_TIMEOUT 1000000u
/* A half buffer completes every 64 ms; four halves without one means the DMA or the
 * microphone clock has stopped. */
#define MIC_TIMEOUT_MS (4u * 1000u * BOARD_MIC_HALF_WORDS / (BOARD_MIC_PDM_HZ / 16u))
#define DMA_STREAM 3u
#define DMA_CHANNEL 0u /* SPI2_RX on stream 3 (RM0090 table 42) */
#define DC_BLOCK_SHIFT 10
#define PCM_PER_HALF (BOARD_MIC_HALF_WORDS / KWS_PDM_WORDS_PER_SAMPLE)

#if (BOARD_MIC_HALF_WORDS % KWS_PDM_WORDS_PER_SAMPLE) != 0
#error "BOARD_MIC_HALF_WORDS must be a multiple of KWS_PDM_WORDS_PER_SAMPLE"
#endif

void board_pin_alternate(uint32_t port, uint32_t pin, uint32_t af); /* board.c */

/* DMA target: must be in SRAM (the DMA cannot reach CCM), hence plain .bss. */
static volatile uint16_t mic_dma_buffer[2u * BOARD_MIC_HALF_WORDS];
static int16_t mic_pcm[PCM_PER_HALF];
static size_t mic_pcm_pos = 0;
static size_t mic_pcm_count = 0;
/* The half expected next: 0 (HTIF), 1 (TCIF), or -1 to resynchronise after an overrun. */
static int mic_next_half = 0;
static uint32_t mic_overrun_count = 0;
static KwsPdmFilterState mic_filter;

int board_mic_start(void) {
  uint32_t wait;
  KwsPdmFilterConfig filter_config;
  filter_config.gain_shift = BOARD_MIC_GAIN_SHIFT;
  filter_config.dc_block_shift = DC_BLOCK_SHIFT;
  if (!kws_pdm_filter_init(&mic_filter, &filter_config)) return -1;

  RCC_AHB1ENR |= RCC_AHB1ENR_GPIOBEN | RCC_AHB1ENR_GPIOCEN | RCC_AHB1ENR_DMA1EN;
  RCC_APB1ENR |= RCC_APB1ENR_SPI2EN;

  /* A restart: stop the stream before reconfiguring it. */
  SPI_I2SCFGR(SPI2_BASE) &= ~SPI_I2SCFGR_I2SE;
  DMA_SCR(DMA1_BASE, DMA_STREAM) = 0;
  for (wait = 0; wait < PLLI2S_READY_TIMEOUT && (DMA_SCR(DMA1_BASE, DMA_STREAM) & DMA_SCR_EN);
       ++wait) {
  }

  RCC_CFGR &= ~RCC_CFGR_I2SSRC; /* I2S clock from PLLI2S */
  /* PLLI2SCFGR may only change while PLLI2S is off: wait until it has really stopped. */
  RCC_CR &= ~RCC_CR_PLLI2SON;
  for (wait = 0; wait < PLLI2S_READY_TIMEOUT && (RCC_CR & RCC_CR_PLLI2SRDY); ++wait) {
  }
  if (RCC_CR & RCC_CR_PLLI2SRDY) return -1;
  RCC_PLLI2SCFGR = (PLLI2S_N << RCC_PLLI2SCFGR_PLLI2SN_POS) |
                   (PLLI2S_R << RCC_PLLI2SCFGR_PLLI2SR_POS);
  RCC_CR |= RCC_CR_PLLI2SON;
  for (wait = 0; wait < PLLI2S_READY_TIMEOUT && !(RCC_CR & RCC_CR_PLLI2SRDY); ++wait) {
  }
  if (!(RCC_CR & RCC_CR_PLLI2SRDY)) return -1;

  board_pin_alternate(GPIOB_BASE, 10u, 5u); /* PB10 = I2S2_CK (AF5) */
  board_pin_alternate(GPIOC_BASE, 3u, 5u);  /* PC3 = I2S2_SD (AF5) */

  /* I2S2: master receive, LSB-justified 16-bit frames, clock idle high (the configuration
   * ST's own DISC1 audio examples use for this microphone). */
  SPI_I2SCFGR(SPI2_BASE) = 0;
  SPI_I2SPR(SPI2_BASE) = I2S_DIV; /* ODD = 0, MCKOE = 0 */
  SPI_I2SCFGR(SPI2_BASE) = SPI_I2SCFGR_I2SMOD | (0x3u << SPI_I2SCFGR_I2SCFG_POS) |
                           (0x2u << SPI_I2SCFGR_I2SSTD_POS) | SPI_I2SCFGR_CPOL;
  SPI_CR2(SPI2_BASE) = SPI_CR2_RXDMAEN;

  /* DMA1 stream 3: peripheral -> memory, 16-bit both sides, circular over both halves. */
  if (DMA_SCR(DMA1_BASE, DMA_STREAM) & DMA_SCR_EN) return -1; /* never stopped above */
  DMA_LIFCR(DMA1_BASE) = DMA_LIFCR_STREAM3_ALL;
  DMA_SPAR(DMA1_BASE, DMA_STREAM) = (uint32_t)(uintptr_t)&SPI_DR(SPI2_BASE);
  DMA_SM0AR(DMA1_BASE, DMA_STREAM) = (uint32_t)(uintptr_t)mic_dma_buffer;
  DMA_SNDTR(DMA1_BASE, DMA_STREAM) = 2u * BOARD_MIC_HALF_WORDS;
  DMA_SFCR(DMA1_BASE, DMA_STREAM) = 0; /* direct mode */
  DMA_SCR(DMA1_BASE, DMA_STREAM) = (DMA_CHANNEL << DMA_SCR_CHSEL_POS) | DMA_SCR_PL_HIGH |
                                   DMA_SCR_MSIZE_16 | DMA_SCR_PSIZE_16 | DMA_SCR_MINC |
                                   DMA_SCR_CIRC;
  DMA_SCR(DMA1_BASE, DMA_STREAM) |= DMA_SCR_EN;

  mic_pcm_pos = 0;
  mic_pcm_count = 0;
  mic_next_half = 0;
  SPI_I2SCFGR(SPI2_BASE) |= SPI_I2SCFGR_I2SE;
  return 0;
}

/* Waits for the next completed half buffer and filters it into mic_pcm; -1 when none
 * completes within MIC_TIMEOUT_MS. */
static int filter_next_half(void) {
  uint32_t start = board_ticks();
  /* Cycles, at the clock actually running (the HSI fallback is 10x slower). */
  uint32_t timeout = board_clock_hz() / 1000u * MIC_TIMEOUT_MS;
  for (;;) {
    uint32_t flags = DMA_LISR(DMA1_BASE) & (DMA_LISR_HTIF3 | DMA_LISR_TCIF3);
    uint32_t want;
    uint32_t other;
    int half;
    if (flags == 0u) {
      if (board_ticks() - start > timeout) return -1;
      continue;
    }
    if (mic_next_half < 0) {
      /* Resynchronising: take whichever half completes first from a clean state. */
      DMA_LIFCR(DMA1_BASE) = flags;
      mic_next_half = (flags & DMA_LISR_HTIF3) ? 1 : 0;
      continue;
    }
    want = mic_next_half == 0 ? DMA_LISR_HTIF3 : DMA_LISR_TCIF3;
    other = mic_next_half == 0 ? DMA_LISR_TCIF3 : DMA_LISR_HTIF3;
    if (!(flags & want)) continue;
    half = mic_next_half;
    DMA_LIFCR(DMA1_BASE) = want;
    if (flags & other) {
      /* The DMA finished the other half too and is overwriting this one: drop both. */
      DMA_LIFCR(DMA1_BASE) = other;
      ++mic_overrun_count;
      mic_next_half = -1;
      continue;
    }
    {
      /* The DMA is filling the other half now; this one is stable until it wraps. */
      const uint16_t* words =
          (const uint16_t*)&mic_dma_buffer[(uint32_t)half * BOARD_MIC_HALF_WORDS];
      size_t used = 0;
      mic_pcm_count = kws_pdm_filter_process(&mic_filter, words, BOARD_MIC_HALF_WORDS, &used,
                                             mic_pcm, PCM_PER_HALF);
      mic_pcm_pos = 0;
    }
    mic_next_half = 1 - half;
    return 0;
  }
}

int board_mic_read(int16_t* samples, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (mic_pcm_pos == mic_pcm_count && filter_next_half() != 0) return -1;
    while (i < n && mic_pcm_pos < mic_pcm_count) samples[i++] = mic_pcm[mic_pcm_pos++];
  }
  return 0;
}

uint32_t board_mic_overruns(void) { return mic_overrun_count; }
