/* Clocks, console UART, cycle counter and LEDs of the STM32F407G-DISC1 (RM0090). */
#include "board.h"

#include "stm32f4_regs.h"

/* Main PLL: HSE 8 MHz / M 8 = 1 MHz; x N 336 = 336 MHz VCO; / P 2 = 168 MHz SYSCLK;
 * / Q 7 = 48 MHz for USB.  PLLI2S shares M (see board_mic.c). */
#define PLL_M 8u
#define PLL_N 336u
#define PLL_P_DIV2 0u
#define PLL_Q 7u
/* RM0090 table 10: 5 wait states for 150 < HCLK <= 168 MHz at 2.7-3.6 V. */
#define FLASH_WAIT_STATES 5u
/* Bounded waits so a board without a working crystal still reaches main() (on the 16 MHz
 * HSI) instead of hanging before it can say anything. */
#define CLOCK_READY_TIMEOUT 1000000u

/* LEDs: PD12 green, PD13 orange, PD14 red, PD15 blue. */
#define LED_GREEN 12u
#define LED_RED 14u

static int board_ready = 0;
static uint32_t board_apb1_hz = 16000000u;

static void clocks_init(void) {
  uint32_t wait;
  RCC_APB1ENR |= RCC_APB1ENR_PWREN;
  PWR_CR |= PWR_CR_VOS;
  RCC_CR |= RCC_CR_HSEON;
  for (wait = 0; wait < CLOCK_READY_TIMEOUT && !(RCC_CR & RCC_CR_HSERDY); ++wait) {
  }
  if (!(RCC_CR & RCC_CR_HSERDY)) return; /* stay on HSI 16 MHz */
  RCC_PLLCFGR = (PLL_M << RCC_PLLCFGR_PLLM_POS) | (PLL_N << RCC_PLLCFGR_PLLN_POS) |
                (PLL_P_DIV2 << RCC_PLLCFGR_PLLP_POS) | RCC_PLLCFGR_PLLSRC_HSE |
                (PLL_Q << RCC_PLLCFGR_PLLQ_POS);
  RCC_CR |= RCC_CR_PLLON;
  for (wait = 0; wait < CLOCK_READY_TIMEOUT && !(RCC_CR & RCC_CR_PLLRDY); ++wait) {
  }
  if (!(RCC_CR & RCC_CR_PLLRDY)) return;
  /* Wait states first: the core must never run faster than the flash allows. */
  FLASH_ACR = FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN | FLASH_WAIT_STATES;
  while ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_WAIT_STATES) {
  }
  /* AHB /1, APB1 /4 (42 MHz, max 42), APB2 /2 (84 MHz, max 84). */
  RCC_CFGR = (RCC_CFGR & ~((0xFu << RCC_CFGR_HPRE_POS) | (0x7u << RCC_CFGR_PPRE1_POS) |
                           (0x7u << RCC_CFGR_PPRE2_POS))) |
             (RCC_CFGR_PPRE_DIV4 << RCC_CFGR_PPRE1_POS) |
             (RCC_CFGR_PPRE_DIV2 << RCC_CFGR_PPRE2_POS);
  RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
  while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
  }
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
  USART_CR1(USART2_BASE) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE; /* 8N1 */
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

void board_uart_read(void* data, size_t n) {
  uint8_t* bytes = (uint8_t*)data;
  size_t i;
  for (i = 0; i < n; ++i) {
    /* RXNE is also set on overrun (ORE); reading SR then DR clears both. */
    while (!(USART_SR(USART2_BASE) & (USART_SR_RXNE | USART_SR_ORE))) {
    }
    bytes[i] = (uint8_t)USART_DR(USART2_BASE);
  }
}

void board_log(const char* text) {
  /* Character by character: a length loop would be turned into a strlen() call. */
  for (; *text != '\0'; ++text) board_uart_write(text, 1);
}

uint32_t board_ticks(void) { return DWT_CYCCNT; }

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
  while (!(USART_SR(USART2_BASE) & USART_SR_TC)) {
  }
  GPIO_BSRR(GPIOD_BASE) = 1u << (code == 0 ? LED_GREEN : LED_RED);
  for (;;) {
    __asm__ volatile("wfi");
  }
}
