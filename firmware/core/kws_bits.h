/* Small integer helpers shared by the frontend stages. */
#ifndef KWS_BITS_H_
#define KWS_BITS_H_

#include <stdint.h>

/* Index (1-based) of the most significant set bit; 0 for x == 0. */
static inline int kws_msb32(uint32_t x) {
  int bits = 0;
  while (x) {
    ++bits;
    x >>= 1;
  }
  return bits;
}

static inline int kws_msb64(uint64_t x) {
  int bits = 0;
  while (x) {
    ++bits;
    x >>= 1;
  }
  return bits;
}

#endif /* KWS_BITS_H_ */
