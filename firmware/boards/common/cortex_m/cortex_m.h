/* What every bare-metal Cortex-M4 board here shares (firmware/boards/common/cortex_m):
 * the exception entry points, RAM set-up at reset, and fault reports through the board
 * API (board_log, then board_exit(BOARD_FAULT_EXIT_CODE)), so a crash is an error the host
 * sees instead of a hang.  Each board keeps its own vector table and Reset_Handler. */
#ifndef KWS_BOARDS_CORTEX_M_H_
#define KWS_BOARDS_CORTEX_M_H_

#include <stdint.h>

#define BOARD_FAULT_EXIT_CODE 101

typedef void (*VectorEntry)(void);

/* The 16 core entries that start every vector table: initial stack pointer, reset, the
 * fault handlers below, and the SysTick handler (a board without one passes
 * Default_Handler).  Peripheral interrupt entries follow them in the board's table. */
#define CORTEX_M_CORE_VECTORS(stack_top, systick_handler)                          \
  (VectorEntry)(uintptr_t)(stack_top), Reset_Handler, NMI_Handler, HardFault_Handler, \
      MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0,           \
      Default_Handler /* SVCall */, Default_Handler /* DebugMonitor */, 0,           \
      Default_Handler /* PendSV */, (systick_handler)

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void) __attribute__((noreturn));
void NMI_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void) __attribute__((noreturn));
void MemManage_Handler(void) __attribute__((noreturn));
void BusFault_Handler(void) __attribute__((noreturn));
void UsageFault_Handler(void) __attribute__((noreturn));

/* Points VTOR at ``table``, so exceptions use it even when the core did not start from
 * the board's own vectors (e.g. after a ROM bootloader's jump). */
void cortex_m_use_vector_table(const VectorEntry* table);

/* First thing at reset (after cortex_m_use_vector_table where a board needs it): enables the FPU (hard-float builds), copies .data from flash and
 * zeroes .bss (linker symbols _sidata, _sdata, _edata, _sbss, _ebss). */
void cortex_m_init_ram(void);

#endif /* KWS_BOARDS_CORTEX_M_H_ */
