#include "semihosting.h"

static int semihosting_call(int operation, const void* argument) {
  register int r0 __asm__("r0") = operation;
  register const void* r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihosting_write0(const char* text) { semihosting_call(SEMIHOSTING_SYS_WRITE0, text); }

void semihosting_exit(int code) {
  const uint32_t block[2] = {SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
  semihosting_call(SEMIHOSTING_SYS_EXIT_EXTENDED, block);
  /* 32-bit SYS_EXIT takes the reason itself, not a pointer: anything but
   * ApplicationExit makes QEMU exit with status 1. */
  semihosting_call(SEMIHOSTING_SYS_EXIT,
                   (const void*)(code == 0 ? SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT : 0x20023u));
  for (;;) {
  }
}
