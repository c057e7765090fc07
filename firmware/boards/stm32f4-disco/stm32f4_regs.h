/* The few STM32F407 registers this board uses, from the reference manual RM0090 (rev 19).
 *
 * Written by hand instead of pulling in a vendor header: each macro is an address or a bit
 * field named as in RM0090, so the board code reads like the manual's register chapters. */
#ifndef KWS_STM32F4_REGS_H_
#define KWS_STM32F4_REGS_H_

#include <stdint.h>

#define STM32_REG(addr) (*(volatile uint32_t*)(addr))

/* ---- RCC (RM0090 section 7.3), base 0x40023800 ---- */
#define RCC_BASE 0x40023800u
#define RCC_CR STM32_REG(RCC_BASE + 0x00u)
#define RCC_PLLCFGR STM32_REG(RCC_BASE + 0x04u)
#define RCC_CFGR STM32_REG(RCC_BASE + 0x08u)
#define RCC_AHB1ENR STM32_REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR STM32_REG(RCC_BASE + 0x40u)
#define RCC_APB2ENR STM32_REG(RCC_BASE + 0x44u)
#define RCC_PLLI2SCFGR STM32_REG(RCC_BASE + 0x84u)

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CR_PLLI2SON (1u << 26)
#define RCC_CR_PLLI2SRDY (1u << 27)

#define RCC_PLLCFGR_PLLM_POS 0u
#define RCC_PLLCFGR_PLLN_POS 6u
#define RCC_PLLCFGR_PLLP_POS 16u /* 00: /2, 01: /4, 10: /6, 11: /8 */
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_PLLCFGR_PLLQ_POS 24u

#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_HSI 0x0u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_HSI (0x0u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_HPRE_POS 4u  /* 0xxx: AHB = SYSCLK */
#define RCC_CFGR_PPRE1_POS 10u /* 101: /4 */
#define RCC_CFGR_PPRE2_POS 13u /* 100: /2 */
#define RCC_CFGR_PPRE_DIV2 0x4u
#define RCC_CFGR_PPRE_DIV4 0x5u
#define RCC_CFGR_I2SSRC (1u << 23) /* 0: I2S clocked by PLLI2S */

#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_AHB1ENR_GPIOBEN (1u << 1)
#define RCC_AHB1ENR_GPIOCEN (1u << 2)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_AHB1ENR_DMA1EN (1u << 21)
#define RCC_APB1ENR_SPI2EN (1u << 14)
#define RCC_APB1ENR_USART2EN (1u << 17)
#define RCC_APB1ENR_PWREN (1u << 28)

#define RCC_PLLI2SCFGR_PLLI2SN_POS 6u
#define RCC_PLLI2SCFGR_PLLI2SR_POS 28u

/* ---- PWR (RM0090 section 5.4), base 0x40007000 ---- */
#define PWR_CR STM32_REG(0x40007000u)
#define PWR_CR_VOS (1u << 14) /* regulator scale 1: needed above 144 MHz */

/* ---- Embedded flash interface (RM0090 section 3.9), base 0x40023C00 ---- */
#define FLASH_ACR STM32_REG(0x40023C00u)
#define FLASH_ACR_LATENCY_MASK 0x7u
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)

/* ---- GPIO (RM0090 section 8.4) ---- */
#define GPIOA_BASE 0x40020000u
#define GPIOB_BASE 0x40020400u
#define GPIOC_BASE 0x40020800u
#define GPIOD_BASE 0x40020C00u
#define GPIO_MODER(port) STM32_REG((port) + 0x00u)
#define GPIO_OSPEEDR(port) STM32_REG((port) + 0x08u)
#define GPIO_PUPDR(port) STM32_REG((port) + 0x0Cu)
#define GPIO_ODR(port) STM32_REG((port) + 0x14u)
#define GPIO_BSRR(port) STM32_REG((port) + 0x18u)
#define GPIO_AFRL(port) STM32_REG((port) + 0x20u)
#define GPIO_AFRH(port) STM32_REG((port) + 0x24u)
#define GPIO_MODE_OUTPUT 0x1u
#define GPIO_MODE_AF 0x2u
#define GPIO_SPEED_HIGH 0x2u

/* ---- USART2 (RM0090 section 30.6), base 0x40004400 ---- */
#define USART2_BASE 0x40004400u
#define USART_SR(base) STM32_REG((base) + 0x00u)
#define USART_DR(base) STM32_REG((base) + 0x04u)
#define USART_BRR(base) STM32_REG((base) + 0x08u)
#define USART_CR1(base) STM32_REG((base) + 0x0Cu)
#define USART_CR2(base) STM32_REG((base) + 0x10u)
#define USART_CR3(base) STM32_REG((base) + 0x14u)
#define USART_SR_ORE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* ---- SPI2 / I2S2 (RM0090 section 28.5), base 0x40003800 ---- */
#define SPI2_BASE 0x40003800u
#define SPI_CR1(base) STM32_REG((base) + 0x00u)
#define SPI_CR2(base) STM32_REG((base) + 0x04u)
#define SPI_SR(base) STM32_REG((base) + 0x08u)
#define SPI_DR(base) STM32_REG((base) + 0x0Cu)
#define SPI_I2SCFGR(base) STM32_REG((base) + 0x1Cu)
#define SPI_I2SPR(base) STM32_REG((base) + 0x20u)
#define SPI_CR2_RXDMAEN (1u << 0)
#define SPI_SR_RXNE (1u << 0)
#define SPI_SR_OVR (1u << 6)
#define SPI_I2SCFGR_CPOL (1u << 3)
#define SPI_I2SCFGR_I2SSTD_POS 4u  /* 01: MSB justified */
#define SPI_I2SCFGR_I2SCFG_POS 8u  /* 11: master receive */
#define SPI_I2SCFGR_I2SE (1u << 10)
#define SPI_I2SCFGR_I2SMOD (1u << 11)
#define SPI_I2SPR_ODD (1u << 8)

/* ---- DMA1 (RM0090 section 10.5), base 0x40026000; stream n registers at 0x10 + 0x18 n ---- */
#define DMA1_BASE 0x40026000u
#define DMA_LISR(base) STM32_REG((base) + 0x00u)
#define DMA_LIFCR(base) STM32_REG((base) + 0x08u)
#define DMA_SCR(base, n) STM32_REG((base) + 0x10u + 0x18u * (n))
#define DMA_SNDTR(base, n) STM32_REG((base) + 0x14u + 0x18u * (n))
#define DMA_SPAR(base, n) STM32_REG((base) + 0x18u + 0x18u * (n))
#define DMA_SM0AR(base, n) STM32_REG((base) + 0x1Cu + 0x18u * (n))
#define DMA_SFCR(base, n) STM32_REG((base) + 0x24u + 0x18u * (n))
#define DMA_SCR_EN (1u << 0)
#define DMA_SCR_CIRC (1u << 8)
#define DMA_SCR_MINC (1u << 10)
#define DMA_SCR_PSIZE_16 (1u << 11)
#define DMA_SCR_MSIZE_16 (1u << 13)
#define DMA_SCR_PL_HIGH (2u << 16)
#define DMA_SCR_CHSEL_POS 25u
/* Stream 3 flags in LISR/LIFCR: half transfer, transfer complete, all (bits 22..27). */
#define DMA_LISR_HTIF3 (1u << 26)
#define DMA_LISR_TCIF3 (1u << 27)
#define DMA_LIFCR_STREAM3_ALL (0x3Du << 22)

/* ---- Cortex-M4 core (ARMv7-M ARM, PM0214) ---- */
/* NVIC: set/clear-enable registers, 32 interrupt lines each. */
#define NVIC_ISER(n) STM32_REG(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) STM32_REG(0xE000E180u + 4u * (n))
#define USART2_IRQN 38u

#define SCB_CPACR STM32_REG(0xE000ED88u)
#define SCB_AIRCR STM32_REG(0xE000ED0Cu)
#define SCB_CFSR STM32_REG(0xE000ED28u)
#define SCB_HFSR STM32_REG(0xE000ED2Cu)
#define SCB_VTOR STM32_REG(0xE000ED08u)
#define SCB_AIRCR_SYSRESETREQ (0x05FAu << 16 | 1u << 2)
#define CORE_DEMCR STM32_REG(0xE000EDFCu)
#define CORE_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL STM32_REG(0xE0001000u)
#define DWT_CYCCNT STM32_REG(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

#endif /* KWS_STM32F4_REGS_H_ */
