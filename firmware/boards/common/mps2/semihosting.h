/* ARM semihosting calls used by the QEMU board (debug console and exit status).
 * Only valid under a debugger or QEMU with -semihosting: on bare silicon BKPT faults. */
#ifndef KWS_SEMIHOSTING_H_
#define KWS_SEMIHOSTING_H_

#include <stdint.h>

#define SEMIHOSTING_SYS_WRITE0 0x04
#define SEMIHOSTING_SYS_EXIT 0x18
#define SEMIHOSTING_SYS_EXIT_EXTENDED 0x20
#define SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* Prints a NUL-terminated string on the host. */
void semihosting_write0(const char* text);
/* Stops the emulator with exit status `code` (SYS_EXIT_EXTENDED); falls back to SYS_EXIT,
 * which can only tell 0 from 1, if the host ignores the extended call. */
void semihosting_exit(int code) __attribute__((noreturn));

#endif /* KWS_SEMIHOSTING_H_ */
