/* The bit pattern of a float, for printing it exactly (shared by the check programs). */
#ifndef KWS_TESTS_FLOAT_BITS_H_
#define KWS_TESTS_FLOAT_BITS_H_

#include <stdint.h>

/* Through a union: defined behaviour in C99 (TC3), no type-punned pointer. */
static inline uint32_t float_bits(float value) {
  union {
    float f;
    uint32_t u;
  } pun;
  pun.f = value;
  return pun.u;
}

#endif /* KWS_TESTS_FLOAT_BITS_H_ */
