/* Board API: the only thing a firmware application needs from the board it runs on.
 *
 * One implementation per board directory (this one: QEMU's mps2-an386, a Cortex-M4F).
 * Everything is polled and allocation-free; the application calls board_init() first. */
#ifndef KWS_BOARD_H_
#define KWS_BOARD_H_

#include <stddef.h>
#include <stdint.h>

/* SysTick counts the 25 MHz system clock.  Under `qemu -icount shift=0` virtual time
 * advances 1 ns per instruction, so one tick is BOARD_INSTRUCTIONS_PER_TICK instructions. */
#define BOARD_SYSCLK_HZ 25000000u
#define BOARD_TICK_HZ BOARD_SYSCLK_HZ
#define BOARD_INSTRUCTIONS_PER_TICK 40u

/* Console UART (and SysTick).  Safe to call more than once. */
void board_init(void);

/* Sends n bytes over the console UART, waiting while its transmitter is busy. */
void board_uart_write(const void* data, size_t n);

/* Receives exactly n bytes from the console UART, blocking until they have arrived. */
void board_uart_read(void* data, size_t n);

/* Copies up to max bytes that have already arrived on the console UART; returns how many
 * (0 when none are waiting).  Never waits. */
size_t board_uart_read_nonblocking(void* data, size_t max);

/* Receive overruns since board_init(): bytes lost because nobody read them in time. */
uint32_t board_uart_rx_overruns(void);

/* The core clock the board runs at now (25 MHz; boards with a clock fallback report it). */
uint32_t board_clock_hz(void);

/* Debug text (NUL-terminated) on the host: semihosting SYS_WRITE0 under QEMU. */
void board_log(const char* text);

/* Ends the program with an exit status the host sees (QEMU's exit code). */
void board_exit(int code) __attribute__((noreturn));

/* Monotonic SysTick count since board_init(); wraps after 2^32 ticks. */
uint32_t board_ticks(void);

#endif /* KWS_BOARD_H_ */
