/* Constants shared by QEMU's MPS2 boards (mps2-an385 Cortex-M3, mps2-an386 Cortex-M4F),
 * included by each board's board.h.  The board API (firmware/core/board_api.h) is
 * mps2_board.c: board_log is semihosting SYS_WRITE0, board_exit semihosting
 * SYS_EXIT_EXTENDED (QEMU's exit status), the console UART is CMSDK UART0, polled (QEMU
 * applies back-pressure, so nothing is lost while the firmware computes). */
#ifndef KWS_BOARDS_MPS2_H_
#define KWS_BOARDS_MPS2_H_

/* SysTick counts the 25 MHz system clock.  Under `qemu -icount shift=0` virtual time
 * advances 1 ns per instruction, so one tick is BOARD_INSTRUCTIONS_PER_TICK instructions. */
#define BOARD_SYSCLK_HZ 25000000u
#define BOARD_TICK_HZ BOARD_SYSCLK_HZ
#define BOARD_INSTRUCTIONS_PER_TICK 40u

#endif /* KWS_BOARDS_MPS2_H_ */
