/* Clocks, console UART, cycle counter and LEDs of the STM32F407G-DISC1 (RM0090). */
#include "board.h"

#include "stm32f4_regs.h"

/* Main PLL: HSE 8 MHz / M 4 = 2 MHz input (RM0090 recommends 2 MHz to limit PLL jitter);
 * x N 168 = 336 MHz VCO; / P 2 = 168 MHz SYSCLK; / Q 7 = 48 MHz for USB.  PLLI2S shares
 * the 2 MHz input (see board_mic.c). */
#define PLL_M 4u
#define PLL_N 168u
#define PLL_P_DIV2 0u
#define PLL_Q 7u
/* RM0090 table 10: 5 wait states for 150 < HCLK <= 168 MHz at 2.7-3.6 V. */
#define FLASH_WAIT_STATES 5u
/* Every clock wait is bounded, so a board without a working crystal (or an emulator
 * without a clock controller) still reaches main() on the 16 MHz HSI instead of hanging
 * before it can say anything. */
#define CLOCK_READY_TIMEOUT 1000000u
#define BUS_PRESCALER_MASK \
  ((0xFu << RCC_CFGR_HPRE_POS) | (0x7u << RCC_CFGR_PPRE1_POS) | (0x7u << RCC_CFGR_PPRE2_POS))

/* LEDs: PD12 green, PD13 orange, PD14 red, PD15 blue. */
#define LED_GREEN 12u
#define LED_RED 14u

/* Received bytes, filled by USART2_IRQHandler (power of two: the indices wrap freely). */
#define UART_RX_RING_BYTES 2048u
#define USART2_NVIC_BIT (1u << (USART2_IRQN - 32u))

static int board_ready = 0;
static uint32_t board_core_hz = BOARD_HSI_HZ;
static uint32_t board_apb1_hz = BOARD_HSI_HZ;
static volatile uint8_t rx_ring[UART_RX_RING_BYTES];
static volatile uint32_t rx_head = 0; /* written by the interrupt only */
static volatile uint32_t rx_tail = 0; /* written by the reader only */
static volatile uint32_t rx_overruns = 0;

void USART2_IRQHandler(void);

/* 1 when (*reg & mask) == want before the timeout. */
static int wait_for(volatile uint32_t* reg, uint32_t mask, uint32_t want) {
  uint32_t n;
  for (n = 0; n < CLOCK_READY_TIMEOUT; ++n) {
    if ((*reg & mask) == want) return 1;
  }
  return 0;
}

/* SYSCLK = HSI 16 MHz with every bus at /1 (16 MHz is within all bus limits). */
static void run_on_hsi(void) {
  RCC_CR |= RCC_CR_HSION;
  (void)wait_for(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
  RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_SW_MASK | BUS_PRESCALER_MASK)) | RCC_CFGR_SW_HSI;
  (void)wait_for(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_HSI);
  board_core_hz = BOARD_HSI_HZ;
  board_apb1_hz = BOARD_HSI_HZ;
}

static void clocks_init(void) {
  /* The PLL may already run and clock the core (after the ROM bootloader's GO, or a
   * debugger attached without reset), and PLLCFGR (whose M also feeds PLLI2S) must not
   * change while either PLL runs: move the core to the HSI, stop both PLLs, wait until
   * they have stopped, then configure. */
  run_on_hsi();
  RCC_CR &= ~(RCC_CR_PLLON | RCC_CR_PLLI2SON);
  if (!wait_for(&RCC_CR, RCC_CR_PLLRDY | RCC_CR_PLLI2SRDY, 0u)) return;
  /* Regulator scale 1 (needed above 144 MHz), set while the PLL is off. */
  RCC_APB1ENR |= RCC_APB1ENR_PWREN;
  PWR_CR |= PWR_CR_VOS;
  RCC_CR |= RCC_CR_HSEON;
  if (!wait_for(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) return; /* stay on the HSI */
  RCC_PLLCFGR = (PLL_M << RCC_PLLCFGR_PLLM_POS) | (PLL_N << RCC_PLLCFGR_PLLN_POS) |
                (PLL_P_DIV2 << RCC_PLLCFGR_PLLP_POS) | RCC_PLLCFGR_PLLSRC_HSE |
                (PLL_Q << RCC_PLLCFGR_PLLQ_POS);
  RCC_CR |= RCC_CR_PLLON;
  if (!wait_for(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) return;
  /* Wait states first: the core must never run faster than the flash allows. */
  FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_WAIT_STATES;
  if (!wait_for(&FLASH_ACR, FLASH_ACR_LATENCY_MASK, FLASH_WAIT_STATES)) return;
  /* AHB /1, APB1 /4 (42 MHz, max 42), APB2 /2 (84 MHz, max 84). */
  RCC_CFGR = (RCC_CFGR & ~BUS_PRESCALER_MASK) | (RCC_CFGR_PPRE_DIV4 << RCC_CFGR_PPRE1_POS) |
             (RCC_CFGR_PPRE_DIV2 << RCC_CFGR_PPRE2_POS);
  RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
  if (!wait_for(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL)) {
    run_on_hsi();
    return;
  }
  board_core_hz = BOARD_SYSCLK_HZ;
  board_apb1_hz = BOARD_APB1_HZ;
}

static void set_pin_mode(uint32_t port, uint32_t pin, uint32_t mode) {
  GPIO_MODER(port) = (GPIO_MODER(port) & ~(0x3u << (2u * pin))) | (mode << (2u * pin));
}

static void set_pin_af(uint32_t port, uint32_t pin, uint32_t af) {
  if (pin < 8u) {
    GPIO_AFRL(port) = (GPIO_AFRL(port) & ~(0xFu << (4u * pin))) | (af << (4u * pin));
  } else {
    GPIO_AFRH(port) =
        (GPIO_AFRH(port) & ~(0xFu << (4u * (pin - 8u)))) | (af << (4u * (pin - 8u)));
  }
  GPIO_OSPEEDR(port) = (GPIO_OSPEEDR(port) & ~(0x3u << (2u * pin))) |
                       (GPIO_SPEED_HIGH << (2u * pin));
  set_pin_mode(port, pin, GPIO_MODE_AF);
}

/* Used by board_mic.c too. */
void board_pin_alternate(uint32_t port, uint32_t pin, uint32_t af);
void board_pin_alternate(uint32_t port, uint32_t pin, uint32_t af) { set_pin_af(port, pin, af); }

static void uart_init(void) {
  RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
  RCC_APB1ENR |= RCC_APB1ENR_USART2EN;
  set_pin_af(GPIOA_BASE, 2u, 7u); /* PA2 = USART2_TX (AF7) */
  set_pin_af(GPIOA_BASE, 3u, 7u); /* PA3 = USART2_RX (AF7) */
  /* Pull-up on RX so an unconnected line reads idle instead of noise. */
  GPIO_PUPDR(GPIOA_BASE) = (GPIO_PUPDR(GPIOA_BASE) & ~(0x3u << 6)) | (0x1u << 6);
  USART_CR1(USART2_BASE) = 0;
  USART_CR2(USART2_BASE) = 0; /* 1 stop bit */
  USART_CR3(USART2_BASE) = 0; /* no flow control */
  /* Oversampling by 16: BRR = f_APB1 / baud (mantissa.fraction in 12.4), rounded. */
  USART_BRR(USART2_BASE) = (board_apb1_hz + BOARD_UART_BAUD / 2u) / BOARD_UART_BAUD;
  /* 8N1; every received byte raises USART2_IRQHandler. */
  USART_CR1(USART2_BASE) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
  NVIC_ISER(1) = USART2_NVIC_BIT;
}

/* Moves received bytes into rx_ring.  When the ring is full the byte stays in DR and the
 * interrupt line is masked until the reader makes room (board_uart_read_nonblocking):
 * further bytes then overrun and are counted, and a receiver that applies back-pressure
 * (QEMU's) simply waits.  RXNEIE stays set: QEMU 7.2 does not lower the line when it is
 * cleared. */
void USART2_IRQHandler(void) {
  for (;;) {
    uint32_t status = USART_SR(USART2_BASE);
    if (!(status & (USART_SR_RXNE | USART_SR_ORE))) return;
    if (rx_head - rx_tail == UART_RX_RING_BYTES) {
      NVIC_ICER(1) = USART2_NVIC_BIT;
      return;
    }
    /* RXNE is also set on overrun (ORE); reading SR then DR clears both. */
    if (status & USART_SR_ORE) ++rx_overruns;
    rx_ring[rx_head % UART_RX_RING_BYTES] = (uint8_t)USART_DR(USART2_BASE);
    ++rx_head;
  }
}

static void leds_init(void) {
  RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
  set_pin_mode(GPIOD_BASE, LED_GREEN, GPIO_MODE_OUTPUT);
  set_pin_mode(GPIOD_BASE, LED_RED, GPIO_MODE_OUTPUT);
  GPIO_BSRR(GPIOD_BASE) = (1u << (LED_GREEN + 16u)) | (1u << (LED_RED + 16u));
}

static void cycle_counter_init(void) {
  CORE_DEMCR |= CORE_DEMCR_TRCENA;
  DWT_CYCCNT = 0;
  DWT_CTRL |= DWT_CTRL_CYCCNTENA;
}

void board_init(void) {
  if (board_ready) return;
  clocks_init();
  uart_init();
  leds_init();
  cycle_counter_init();
  board_ready = 1;
}

void board_uart_write(const void* data, size_t n) {
  const uint8_t* bytes = (const uint8_t*)data;
  size_t i;
  for (i = 0; i < n; ++i) {
    while (!(USART_SR(USART2_BASE) & USART_SR_TXE)) {
    }
    USART_DR(USART2_BASE) = bytes[i];
  }
}

size_t board_uart_read_nonblocking(void* data, size_t max) {
  uint8_t* bytes = (uint8_t*)data;
  size_t n = 0;
  while (n < max && rx_tail != rx_head) {
    bytes[n++] = rx_ring[rx_tail % UART_RX_RING_BYTES];
    ++rx_tail;
  }
  if (n != 0u) NVIC_ISER(1) = USART2_NVIC_BIT; /* room again, if the ring was full */
  return n;
}

void board_uart_read(void* data, size_t n) {
  uint8_t* bytes = (uint8_t*)data;
  size_t got = 0;
  while (got < n) got += board_uart_read_nonblocking(bytes + got, n - got);
}

uint32_t board_uart_rx_overruns(void) { return rx_overruns; }

uint32_t board_clock_hz(void) { return board_core_hz; }

void board_log(const char* text) {
  /* Character by character: a length loop would be turned into a strlen() call. */
  for (; *text != '\0'; ++text) board_uart_write(text, 1);
}

uint32_t board_ticks(void) { return DWT_CYCCNT; }

#ifdef BOARD_EMULATOR
/* QEMU only (a real board has no debugger host to answer): semihosting SYS_EXIT_EXTENDED
 * with ADP_Stopped_ApplicationExit ends the emulator with `code` as its exit status. */
static void emulator_exit(int code) {
  const uint32_t block[2] = {0x20026u, (uint32_t)code};
  register uint32_t operation __asm__("r0") = 0x20u;
  register const uint32_t* argument __asm__("r1") = block;
  __asm__ volatile("bkpt 0xAB" : "+r"(operation) : "r"(argument) : "memory");
}
#endif

void board_exit(int code) {
  char line[24];
  const char prefix[] = "kws: exit ";
  char digits[11];
  uint32_t magnitude = code < 0 ? 0u - (uint32_t)code : (uint32_t)code;
  int n = 0, d = 0;
  size_t i;
  board_init();
  for (i = 0; prefix[i] != '\0'; ++i) line[n++] = prefix[i];
  if (code < 0) line[n++] = '-';
  do {
    digits[d++] = (char)('0' + magnitude % 10u);
    magnitude /= 10u;
  } while (magnitude != 0u);
  while (d > 0) line[n++] = digits[--d];
  line[n++] = '\n';
  board_uart_write(line, (size_t)n);
  (void)wait_for(&USART_SR(USART2_BASE), USART_SR_TC, USART_SR_TC);
  GPIO_BSRR(GPIOD_BASE) = 1u << (code == 0 ? LED_GREEN : LED_RED);
#ifdef BOARD_EMULATOR
  emulator_exit(code);
#endif
  for (;;) {
    __asm__ volatile("wfi");
  }
}
