/* Reset entry and vector table for the STM32F407VG (Cortex-M4F).
 *
 * Reset_Handler points VTOR at the vector table (cortex_m_use_vector_table), sets up RAM
 * (cortex_m_init_ram: FPU, .data, .bss), zeroes the CCM section, brings up clocks and the
 * console (board_init) and runs main(); its return value goes to board_exit().  Faults are
 * reported by firmware/boards/common/cortex_m over USART2 (board_log) with exit code
 * BOARD_FAULT_EXIT_CODE. */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

/* RM0090 table 61: 82 maskable interrupt lines on the STM32F405/407. */
#define STM32F407_IRQ_COUNT 82

/* From stm32f407vg.ld. */
extern uint32_t _sccm, _eccm, _estack;

int main(void);
void USART2_IRQHandler(void); /* board.c: console receive */

#define VECTORS_1 Default_Handler
#define VECTORS_2 Default_Handler, Default_Handler
#define VECTORS_4 VECTORS_2, VECTORS_2
#define VECTORS_8 VECTORS_4, VECTORS_4
#define VECTORS_32 VECTORS_8, VECTORS_8, VECTORS_8, VECTORS_8

/* The full table (16 core + 82 IRQ entries) so a stray interrupt lands in Default_Handler
 * and is reported, instead of jumping through whatever follows a short table. */
__attribute__((section(".isr_vector"), used)) const VectorEntry
    board_vector_table[16 + STM32F407_IRQ_COUNT] = {
        CORTEX_M_CORE_VECTORS(&_estack, Default_Handler), /* SysTick unused: DWT CYCCNT */
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
  uint32_t* dst;
  /* Exceptions must use this table even when the core did not boot from flash (the ROM
   * bootloader's GO with BOOT0 high leaves VTOR on the ROM's own vectors). */
  cortex_m_use_vector_table(board_vector_table);
  cortex_m_init_ram();
  for (dst = &_sccm; dst < &_eccm; ++dst) *dst = 0;
  board_init();
  board_exit(main());
}
