/* Board API: the only thing a firmware application needs from the board it runs on.
 *
 * Each board directory (firmware/boards/<name>/board.h) defines its constants
 * (BOARD_SYSCLK_HZ, BOARD_TICK_HZ, ...) and includes this header; its C files implement
 * the functions.  Everything is allocation-free; the application calls board_init() first. */
#ifndef KWS_BOARD_API_H_
#define KWS_BOARD_API_H_

#include <stddef.h>
#include <stdint.h>

/* Console UART, timer and whatever else the board needs.  Safe to call more than once. */
void board_init(void);

/* Sends n bytes over the console UART, waiting while its transmitter is busy. */
void board_uart_write(const void* data, size_t n);

/* Receives exactly n bytes from the console UART, blocking until they have arrived. */
void board_uart_read(void* data, size_t n);

/* Copies up to max bytes that have already arrived on the console UART; returns how many
 * (0 when none are waiting).  Never waits, so a microphone loop can poll it. */
size_t board_uart_read_nonblocking(void* data, size_t max);

/* Receive overruns since board_init(): bytes lost because nobody took them in time. */
uint32_t board_uart_rx_overruns(void);

/* The core clock the board runs at now: BOARD_SYSCLK_HZ, or less on a clock fallback. */
uint32_t board_clock_hz(void);

/* Debug text (NUL-terminated): semihosting under QEMU, the console UART on silicon. */
void board_log(const char* text);

/* Ends the program with an exit status (QEMU's exit code; an LED and a halt on silicon). */
void board_exit(int code) __attribute__((noreturn));

/* Monotonic tick count since board_init() (BOARD_TICK_HZ); wraps after 2^32 ticks. */
uint32_t board_ticks(void);

#endif /* KWS_BOARD_API_H_ */
