#include "systick.h"

#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t*)0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SYST_CSR_ENABLE 0x1u
#define SYST_CSR_TICKINT 0x2u
#define SYST_CSR_CLKSOURCE_CPU 0x4u
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t systick_wraps;

void systick_start(void) {
  SYST_CSR = 0;
  systick_wraps = 0;
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE_CPU;
}

void SysTick_Handler(void) { systick_wraps = systick_wraps + 1u; }

uint32_t systick_ticks(void) {
  uint32_t wraps, current, pending;
  /* Re-read when the wrap interrupt runs between the loads. */
  do {
    wraps = systick_wraps;
    current = SYST_CVR;
    pending = SCB_ICSR & SCB_ICSR_PENDSTSET;
  } while (wraps != systick_wraps);
  /* The counter may already have reloaded while its interrupt is still pending: a pending
   * wrap with a count in the upper half means the reload came before our read. */
  if (pending && current > (SYST_RELOAD >> 1)) ++wraps;
  return (wraps << 24) + (SYST_RELOAD - current);
}
