#include "board.h"

#include "cmsdk_uart.h"
#include "semihosting.h"
#include "systick.h"

void board_init(void) {
  cmsdk_uart_init(CMSDK_UART0_BASE, 16u);
  systick_start();
}

void board_uart_write(const void* data, size_t n) {
  const uint8_t* bytes = (const uint8_t*)data;
  size_t i;
  for (i = 0; i < n; ++i) cmsdk_uart_putc(CMSDK_UART0_BASE, bytes[i]);
}

void board_uart_read(void* data, size_t n) {
  uint8_t* bytes = (uint8_t*)data;
  size_t i;
  for (i = 0; i < n; ++i) bytes[i] = cmsdk_uart_getc(CMSDK_UART0_BASE);
}

size_t board_uart_read_nonblocking(void* data, size_t max) {
  uint8_t* bytes = (uint8_t*)data;
  size_t n = 0;
  while (n < max && cmsdk_uart_try_getc(CMSDK_UART0_BASE, &bytes[n])) ++n;
  return n;
}

uint32_t board_uart_rx_overruns(void) { return cmsdk_uart_rx_overruns(CMSDK_UART0_BASE); }

uint32_t board_clock_hz(void) { return BOARD_SYSCLK_HZ; }

void board_log(const char* text) { semihosting_write0(text); }

void board_exit(int code) { semihosting_exit(code); }

uint32_t board_ticks(void) { return systick_ticks(); }
