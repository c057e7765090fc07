/* Reset and exception entry for the STM32F407VG (Cortex-M4F).
 *
 * Reset_Handler enables the FPU (hard-float builds), copies .data from flash, zeroes .bss
 * and the CCM section, points VTOR at the vector table, brings up clocks and the console (board_init) and runs main(); its
 * return value goes to board_exit().  Faults print their name and the fault status
 * registers over USART2 and stop with exit code BOARD_FAULT_EXIT_CODE. */
#include <stdint.h>

#include "board.h"
#include "stm32f4_regs.h"

#define BOARD_FAULT_EXIT_CODE 101
#define CPACR_CP10_CP11_FULL (0xFu << 20)
/* RM0090 table 61: 82 maskable interrupt lines on the STM32F405/407. */
#define STM32F407_IRQ_COUNT 82

/* Symbols from stm32f407vg.ld. */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sccm, _eccm, _estack;

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void) __attribute__((noreturn));
void NMI_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void) __attribute__((noreturn));
void MemManage_Handler(void) __attribute__((noreturn));
void BusFault_Handler(void) __attribute__((noreturn));
void UsageFault_Handler(void) __attribute__((noreturn));
void USART2_IRQHandler(void); /* board.c: console receive */

typedef void (*VectorEntry)(void);

#define VECTORS_1 Default_Handler
#define VECTORS_2 Default_Handler, Default_Handler
#define VECTORS_4 VECTORS_2, VECTORS_2
#define VECTORS_8 VECTORS_4, VECTORS_4
#define VECTORS_32 VECTORS_8, VECTORS_8, VECTORS_8, VECTORS_8

/* The full table (16 core + 82 IRQ entries) so a stray interrupt lands in Default_Handler
 * and is reported, instead of jumping through whatever follows a short table. */
__attribute__((section(".isr_vector"), used)) const VectorEntry
    board_vector_table[16 + STM32F407_IRQ_COUNT] = {
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
        Default_Handler, /* SysTick (unused: board_ticks reads DWT CYCCNT) */
        VECTORS_32,        /* IRQ 0..31 */
        VECTORS_4,         /* IRQ 32..35 */
        VECTORS_2,         /* IRQ 36..37 */
        USART2_IRQHandler, /* IRQ 38: USART2 */
        VECTORS_32,        /* IRQ 39..70 */
        VECTORS_8,         /* IRQ 71..78 */
        VECTORS_2,         /* IRQ 79..80 */
        VECTORS_1,         /* IRQ 81 (FPU) */
};

void Reset_Handler(void) {
  uint32_t* src;
  uint32_t* dst;
  /* Exceptions must use this table even when the core did not boot from flash (the ROM
   * bootloader's GO with BOOT0 high leaves VTOR on the ROM's own vectors). */
  SCB_VTOR = (uint32_t)(uintptr_t)board_vector_table;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#if defined(__ARM_FP)
  /* Grant full access to CP10/CP11 before the first floating-point instruction. */
  SCB_CPACR |= CPACR_CP10_CP11_FULL;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  src = &_sidata;
  for (dst = &_sdata; dst < &_edata; ++dst) *dst = *src++;
  for (dst = &_sbss; dst < &_ebss; ++dst) *dst = 0;
  for (dst = &_sccm; dst < &_eccm; ++dst) *dst = 0;
  board_init();
  board_exit(main());
}

static int append_hex(char* out, uint32_t value) {
  int i;
  for (i = 0; i < 8; ++i) {
    uint32_t nibble = (value >> (28 - 4 * i)) & 0xFu;
    out[i] = (char)(nibble < 10u ? '0' + nibble : 'a' + nibble - 10u);
  }
  return 8;
}

static void report_fault(const char* name) __attribute__((noreturn));
static void report_fault(const char* name) {
  char line[80];
  const char* cfsr = " CFSR=";
  const char* hfsr = " HFSR=";
  int n = 0;
  const char* p;
  for (p = name; *p != '\0' && n < 40; ++p) line[n++] = *p;
  for (p = cfsr; *p != '\0'; ++p) line[n++] = *p;
  n += append_hex(line + n, SCB_CFSR);
  for (p = hfsr; *p != '\0'; ++p) line[n++] = *p;
  n += append_hex(line + n, SCB_HFSR);
  line[n++] = '\n';
  line[n] = '\0';
  board_log(line);
  board_exit(BOARD_FAULT_EXIT_CODE);
}

void Default_Handler(void) { report_fault("unexpected exception"); }
void NMI_Handler(void) { report_fault("NMI"); }
void HardFault_Handler(void) { report_fault("HardFault"); }
void MemManage_Handler(void) { report_fault("MemManage fault"); }
void BusFault_Handler(void) { report_fault("BusFault"); }
void UsageFault_Handler(void) { report_fault("UsageFault"); }
