/* ARM CMSDK APB UART, polled (UART0 of the MPS2 FPGA images). */
#ifndef KWS_CMSDK_UART_H_
#define KWS_CMSDK_UART_H_

#include <stdint.h>

#define CMSDK_UART0_BASE 0x40004000u

void cmsdk_uart_init(uint32_t base, uint32_t bauddiv);
void cmsdk_uart_putc(uint32_t base, uint8_t byte);
uint8_t cmsdk_uart_getc(uint32_t base);
/* Reads one byte when one is waiting (returns 1), else returns 0 at once. */
int cmsdk_uart_try_getc(uint32_t base, uint8_t* byte);
/* Receive overruns counted so far (the hardware only flags them). */
uint32_t cmsdk_uart_rx_overruns(uint32_t base);

#endif /* KWS_CMSDK_UART_H_ */
