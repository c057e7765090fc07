/* ARM CMSDK APB UART, polled (UART0 of the MPS2 FPGA images). */
#ifndef KWS_CMSDK_UART_H_
#define KWS_CMSDK_UART_H_

#include <stdint.h>

#define CMSDK_UART0_BASE 0x40004000u

void cmsdk_uart_init(uint32_t base, uint32_t bauddiv);
void cmsdk_uart_putc(uint32_t base, uint8_t byte);
uint8_t cmsdk_uart_getc(uint32_t base);

#endif /* KWS_CMSDK_UART_H_ */
