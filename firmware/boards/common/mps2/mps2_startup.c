/* Reset entry and vector table of QEMU's MPS2 boards (mps2-an385 M3, mps2-an386 M4F).
 *
 * Reset_Handler sets up RAM (cortex_m_init_ram: FPU on hard-float builds, .data, .bss), runs main() and reports
 * its return value as the exit status.  Faults are reported by firmware/boards/common/
 * cortex_m over semihosting (board_log) with exit code BOARD_FAULT_EXIT_CODE. */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"
#include "systick.h"

/* From mps2_sections.ld. */
extern uint32_t _estack;

int main(void);

/* Core exceptions only: the application uses no peripheral interrupts. */
__attribute__((section(".isr_vector"), used)) const VectorEntry board_vector_table[16] = {
    CORTEX_M_CORE_VECTORS(&_estack, SysTick_Handler)};

void Reset_Handler(void) {
  cortex_m_init_ram();
  board_exit(main());
}
