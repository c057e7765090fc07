/* Board constants of the STM32F407G-DISC1 discovery board (STM32F407VG, Cortex-M4F at
 * 168 MHz); the API is firmware/core/board_api.h.
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

#include "board_api.h"

/* Nominal clocks (HSE 8 MHz -> PLL).  When the crystal or the PLL does not start the board
 * runs on the 16 MHz HSI instead: board_clock_hz() says which. */
#define BOARD_SYSCLK_HZ 168000000u
#define BOARD_HSI_HZ 16000000u
#define BOARD_APB1_HZ 42000000u
#define BOARD_UART_BAUD 115200u
/* board_ticks() counts core cycles, so its rate is the clock actually running. */
#define BOARD_TICK_HZ (board_clock_hz())

/* board_init: clocks (HSE 8 MHz -> PLL -> 168 MHz, or the HSI fallback), USART2 and its
 * receive interrupt, cycle counter and the user LEDs.  board_log writes to USART2 (a real
 * board has no semihosting host).  board_exit reports the code over USART2 as
 * "kws: exit <code>", lights the green (0) or red (non-zero) LED and stops; the emulator
 * build (BOARD_EMULATOR) then also ends QEMU through semihosting.  board_ticks is the DWT
 * cycle counter (wraps after 25.6 s at 168 MHz). */

#endif /* KWS_BOARD_H_ */
