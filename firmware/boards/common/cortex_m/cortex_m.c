/* See cortex_m.h. */
#include "cortex_m.h"

#include <stdint.h>

#include "board.h"

#define SCB_VTOR (*(volatile uint32_t*)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t*)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t*)0xE000ED2Cu)
#define CPACR_CP10_CP11_FULL (0xFu << 20)

/* Symbols from the board's linker script. */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;

void cortex_m_use_vector_table(const VectorEntry* table) {
  SCB_VTOR = (uint32_t)(uintptr_t)table;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void cortex_m_init_ram(void) {
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
}

static int append_hex(char* out, uint32_t value) {
  int i;
  for (i = 0; i < 8; ++i) {
    uint32_t nibble = (value >> (28 - 4 * i)) & 0xFu;
    out[i] = (char)(nibble < 10u ? '0' + nibble : 'a' + nibble - 10u);
  }
  return 8;
}

/* "<name> CFSR=xxxxxxxx HFSR=xxxxxxxx" through board_log, then the fault exit code. */
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
