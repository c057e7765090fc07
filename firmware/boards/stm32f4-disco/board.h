/* Board API (same contract as firmware/boards/qemu-mps2-an386/board.h) for the
 * STM32F407G-DISC1 discovery board: STM32F407VG, Cortex-M4F at 168 MHz.
 *
 * Console: USART2 at 115200 8N1 on PA2 (TX) / PA3 (RX).  On the DISC1 (MB997D, ST-LINK/V2-A)
 * these pins reach the ST-LINK's USB virtual COM port; older STM32F4DISCOVERY boards
 * (MB997B/C, ST-LINK/V2) have no VCP, so wire a 3.3 V USB-serial adapter to PA2/PA3/GND.
 * Everything is polled; no interrupts are enabled. */
#ifndef KWS_BOARD_H_
#define KWS_BOARD_H_

#include <stddef.h>
#include <stdint.h>

/* board_ticks() counts CPU cycles (DWT CYCCNT) at the 168 MHz core clock. */
#define BOARD_TICK_HZ 168000000u
#define BOARD_SYSCLK_HZ 168000000u
#define BOARD_APB1_HZ 42000000u
#define BOARD_UART_BAUD 115200u

/* Clocks (HSE 8 MHz -> PLL -> 168 MHz), FPU already on from reset, USART2, cycle counter and
 * the user LEDs.  Safe to call more than once. */
void board_init(void);

/* Sends n bytes over USART2, waiting while its transmitter is busy. */
void board_uart_write(const void* data, size_t n);

/* Receives exactly n bytes from USART2, blocking until they have arrived. */
void board_uart_read(void* data, size_t n);

/* Debug text (NUL-terminated) over USART2: a real board has no semihosting host. */
void board_log(const char* text);

/* Reports the exit code over USART2, lights the green (0) or red (non-zero) LED and stops. */
void board_exit(int code) __attribute__((noreturn));

/* DWT cycle counter since board_init(); wraps after 2^32 cycles (about 25.6 s). */
uint32_t board_ticks(void);

#endif /* KWS_BOARD_H_ */
