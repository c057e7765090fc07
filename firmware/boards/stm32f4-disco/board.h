/* Board API (same contract as firmware/boards/qemu-mps2-an386/board.h) for the
 * STM32F407G-DISC1 discovery board: STM32F407VG, Cortex-M4F at 168 MHz.
 *
 * Console: USART2 at 115200 8N1 on PA2 (TX) / PA3 (RX).  The ST-LINK/V2-A of the DISC1
 * (MB997D) has a USB virtual COM port, but UM1472 leaves its TX/RX unconnected to the
 * STM32F407: wire a 3.3 V USB-serial adapter to PA2 (-> adapter RX), PA3 (<- adapter TX)
 * and GND, or solder the ST-LINK's VCP lines to PA2/PA3 (board README).  Older
 * STM32F4DISCOVERY boards (MB997B/C, ST-LINK/V2) have no VCP at all.
 *
 * Received bytes are taken by the USART2 interrupt into a ring buffer, so the application
 * can run the microphone and the model without losing host bytes; everything else is
 * polled. */
#ifndef KWS_BOARD_H_
#define KWS_BOARD_H_

#include <stddef.h>
#include <stdint.h>

/* Nominal clocks (HSE 8 MHz -> PLL).  When the crystal or the PLL does not start the board
 * runs on the 16 MHz HSI instead: board_clock_hz() says which. */
#define BOARD_SYSCLK_HZ 168000000u
#define BOARD_HSI_HZ 16000000u
#define BOARD_APB1_HZ 42000000u
#define BOARD_UART_BAUD 115200u
/* board_ticks() counts core cycles, so its rate is the clock actually running. */
#define BOARD_TICK_HZ (board_clock_hz())

/* Clocks (HSE 8 MHz -> PLL -> 168 MHz, or the HSI fallback), vector table, USART2 and its
 * receive interrupt, cycle counter and the user LEDs.  Safe to call more than once. */
void board_init(void);

/* Sends n bytes over USART2, waiting while its transmitter is busy. */
void board_uart_write(const void* data, size_t n);

/* Receives exactly n bytes from USART2, blocking until they have arrived. */
void board_uart_read(void* data, size_t n);

/* Copies up to max received bytes out of the receive buffer; returns how many (0 when none
 * are waiting).  Never waits. */
size_t board_uart_read_nonblocking(void* data, size_t max);

/* Receive overruns since board_init(): bytes lost because the receive buffer was full. */
uint32_t board_uart_rx_overruns(void);

/* The core clock now: BOARD_SYSCLK_HZ, or BOARD_HSI_HZ on the fallback. */
uint32_t board_clock_hz(void);

/* Debug text (NUL-terminated) over USART2: a real board has no semihosting host. */
void board_log(const char* text);

/* Reports the exit code over USART2, lights the green (0) or red (non-zero) LED and stops.
 * The emulator build (BOARD_EMULATOR) then also ends QEMU through semihosting. */
void board_exit(int code) __attribute__((noreturn));

/* DWT cycle counter since board_init(); wraps after 2^32 cycles (25.6 s at 168 MHz). */
uint32_t board_ticks(void);

#endif /* KWS_BOARD_H_ */
