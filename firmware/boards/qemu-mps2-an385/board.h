/* Board constants of QEMU's mps2-an385 (a Cortex-M3: no FPU, no DSP instructions): those of every MPS2 board
 * (firmware/boards/common/mps2); the API is firmware/core/board_api.h. */
#ifndef KWS_BOARD_H_
#define KWS_BOARD_H_

#include "board_api.h"
#include "mps2.h"

#endif /* KWS_BOARD_H_ */
