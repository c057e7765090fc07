/* SysTick as a free-running 32-bit tick counter (24-bit hardware counter + wrap count). */
#ifndef KWS_SYSTICK_H_
#define KWS_SYSTICK_H_

#include <stdint.h>

void systick_start(void);
uint32_t systick_ticks(void);
/* Exception handler; referenced from the vector table. */
void SysTick_Handler(void);

#endif /* KWS_SYSTICK_H_ */
