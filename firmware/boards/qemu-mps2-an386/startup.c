/* Reset and exception entry for the Cortex-M4 of QEMU's mps2-an386.
 *
 * Reset_Handler enables the FPU (hard-float builds), copies .data from flash, zeroes .bss,
 * runs main() and reports its return value as the exit status.  Faults print their name
 * and the fault status registers over semihosting and exit with BOARD_FAULT_EXIT_CODE, so
 * a crash is an error on the host instead of a hang. */
#include <stdint.h>

#include "board.h"
#include "semihosting.h"
#include "systick.h"
#include "text_format.h"

#define BOARD_FAULT_EXIT_CODE 101
#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t*)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t*)0xE000ED2Cu)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

/* Symbols from mps2_an386.ld. */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void) __attribute__((noreturn));
void NMI_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void) __attribute__((noreturn));
void MemManage_Handler(void) __attribute__((noreturn));
void BusFault_Handler(void) __attribute__((noreturn));
void UsageFault_Handler(void) __attribute__((noreturn));

typedef void (*VectorEntry)(void);

/* Core exceptions only: the application uses no peripheral interrupts. */
__attribute__((section(".isr_vector"), used)) const VectorEntry board_vector_table[16] = {
    (VectorEntry)(uintptr_t)&_estack,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
};

void Reset_Handler(void) {
  uint32_t* src;
  uint32_t* dst;
#if defined(__ARM_FP)
  /* Grant full access to CP10/CP11 before the first floating-point instruction. */
  SCB_CPACR |= CPACR_CP10_CP11_FULL;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  src = &_sidata;
  for (dst = &_sdata; dst < &_edata; ++dst) *dst = *src++;
  for (dst = &_sbss; dst < &_ebss; ++dst) *dst = 0;
  board_exit(main());
}

static void report_fault(const char* name) __attribute__((noreturn));
static void report_fault(const char* name) {
  char line[64];
  int n = 0;
  const char* p;
  for (p = name; *p; ++p) line[n++] = *p;
  line[n++] = ' ';
  line[n++] = 'C';
  line[n++] = 'F';
  line[n++] = 'S';
  line[n++] = 'R';
  line[n++] = '=';
  n += format_hex(line + n, SCB_CFSR, 8);
  line[n++] = ' ';
  line[n++] = 'H';
  line[n++] = 'F';
  line[n++] = 'S';
  line[n++] = 'R';
  line[n++] = '=';
  n += format_hex(line + n, SCB_HFSR, 8);
  line[n++] = '\n';
  line[n] = '\0';
  semihosting_write0(line);
  semihosting_exit(BOARD_FAULT_EXIT_CODE);
}

void Default_Handler(void) { report_fault("unexpected exception"); }
void NMI_Handler(void) { report_fault("NMI"); }
void HardFault_Handler(void) { report_fault("HardFault"); }
void MemManage_Handler(void) { report_fault("MemManage fault"); }
void BusFault_Handler(void) { report_fault("BusFault"); }
void UsageFault_Handler(void) { report_fault("UsageFault"); }
