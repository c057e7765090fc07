#include "cmsdk_uart.h"

/* Register offsets and bits (ARM DDI 0479, CMSDK APB UART). */
#define UART_DATA(base) (*(volatile uint32_t*)((base) + 0x00u))
#define UART_STATE(base) (*(volatile uint32_t*)((base) + 0x04u))
#define UART_CTRL(base) (*(volatile uint32_t*)((base) + 0x08u))
#define UART_BAUDDIV(base) (*(volatile uint32_t*)((base) + 0x10u))
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u
#define UART_STATE_RX_OVERRUN 0x8u /* write 1 to clear */
#define UART_CTRL_TX_ENABLE 0x1u
#define UART_CTRL_RX_ENABLE 0x2u

void cmsdk_uart_init(uint32_t base, uint32_t bauddiv) {
  /* The divider must be >= 16 or the UART (and QEMU's model of it) refuses to run. */
  UART_BAUDDIV(base) = bauddiv < 16u ? 16u : bauddiv;
  UART_CTRL(base) = UART_CTRL_TX_ENABLE | UART_CTRL_RX_ENABLE;
}

void cmsdk_uart_putc(uint32_t base, uint8_t byte) {
  while (UART_STATE(base) & UART_STATE_TX_FULL) {
  }
  UART_DATA(base) = byte;
}

/* Overruns seen on UART0 (the only UART this board uses). */
static uint32_t rx_overruns = 0;

static void count_overrun(uint32_t base) {
  if (UART_STATE(base) & UART_STATE_RX_OVERRUN) {
    UART_STATE(base) = UART_STATE_RX_OVERRUN;
    ++rx_overruns;
  }
}

int cmsdk_uart_try_getc(uint32_t base, uint8_t* byte) {
  count_overrun(base);
  if (!(UART_STATE(base) & UART_STATE_RX_FULL)) return 0;
  *byte = (uint8_t)UART_DATA(base);
  return 1;
}

uint32_t cmsdk_uart_rx_overruns(uint32_t base) {
  count_overrun(base);
  return rx_overruns;
}

uint8_t cmsdk_uart_getc(uint32_t base) {
  while (!(UART_STATE(base) & UART_STATE_RX_FULL)) {
  }
  return (uint8_t)UART_DATA(base);
}
