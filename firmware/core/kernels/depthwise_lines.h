/* The inner loop both depthwise kernels share: three plane lines, 3x3 taps. */
#ifndef KWS_KERNELS_DEPTHWISE_LINES_H_
#define KWS_KERNELS_DEPTHWISE_LINES_H_

#include <stdint.h>

#include "kernels/simd.h"

/* acc[0..count) for three plane lines l0, l1, l2 (rows, or columns of the transposed
 * plane) and the six tap-pair words w[0..6) (two per line): acc[i] = bias + sum over
 * lines k of w[2k] . l_k[i..i+1] + w[2k+1] . l_k[i+2..i+3]. */
static KWS_NOINLINE void kws_depthwise_accumulate_3_lines(const int16_t* l0,
                                                          const int16_t* l1, const int16_t* l2,
                                                          const int32_t* w, int32_t bias,
                                                          int count, int32_t* acc) {
  int32_t* const end = acc + count;
#if defined(__ARM_FEATURE_DSP)
  if (count >= 2) {
    /* Two neighbouring outputs per iteration share each tap-pair load (LDRD) and their
     * plane words: 15 instructions per output instead of GCC's ~40 (it runs out of
     * registers and spills). */
    int32_t* const pair_end = acc + (count & ~1);
    int32_t a, b, x, wa, wb;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[wa], %[wb], [%[wp]]\n\t"
        "ldr %[x], [%[l0]], #4\n\t"
        "smlad %[a], %[x], %[wa], %[bias]\n\t"
        "ldr %[x], [%[l0], #-2]\n\t"
        "smlad %[b], %[x], %[wa], %[bias]\n\t"
        "ldr %[x], [%[l0]]\n\t"
        "smlad %[a], %[x], %[wb], %[a]\n\t"
        "ldr %[x], [%[l0], #2]\n\t"
        "smlad %[b], %[x], %[wb], %[b]\n\t"
        "ldrd %[wa], %[wb], [%[wp], #8]\n\t"
        "ldr %[x], [%[l1]], #4\n\t"
        "smlad %[a], %[x], %[wa], %[a]\n\t"
        "ldr %[x], [%[l1], #-2]\n\t"
        "smlad %[b], %[x], %[wa], %[b]\n\t"
        "ldr %[x], [%[l1]]\n\t"
        "smlad %[a], %[x], %[wb], %[a]\n\t"
        "ldr %[x], [%[l1], #2]\n\t"
        "smlad %[b], %[x], %[wb], %[b]\n\t"
        "ldrd %[wa], %[wb], [%[wp], #16]\n\t"
        "ldr %[x], [%[l2]], #4\n\t"
        "smlad %[a], %[x], %[wa], %[a]\n\t"
        "ldr %[x], [%[l2], #-2]\n\t"
        "smlad %[b], %[x], %[wa], %[b]\n\t"
        "ldr %[x], [%[l2]]\n\t"
        "smlad %[a], %[x], %[wb], %[a]\n\t"
        "ldr %[x], [%[l2], #2]\n\t"
        "smlad %[b], %[x], %[wb], %[b]\n\t"
        "strd %[a], %[b], [%[acc]], #8\n\t"
        "cmp %[acc], %[end]\n\t"
        "bne 1b\n\t"
        : [l0] "+r"(l0), [l1] "+r"(l1), [l2] "+r"(l2), [acc] "+r"(acc), [a] "=&r"(a),
          [b] "=&r"(b), [x] "=&r"(x), [wa] "=&r"(wa), [wb] "=&r"(wb)
        : [wp] "r"(w), [bias] "r"(bias), [end] "r"(pair_end)
        : "cc", "memory");
  }
#endif
  for (; acc != end; ++acc, ++l0, ++l1, ++l2) {
    int32_t a = kws_smlad(kws_load_int16x2(l0), w[0], bias);
    a = kws_smlad(kws_load_int16x2(l0 + 2), w[1], a);
    a = kws_smlad(kws_load_int16x2(l1), w[2], a);
    a = kws_smlad(kws_load_int16x2(l1 + 2), w[3], a);
    a = kws_smlad(kws_load_int16x2(l2), w[4], a);
    *acc = kws_smlad(kws_load_int16x2(l2 + 2), w[5], a);
  }
}

#endif /* KWS_KERNELS_DEPTHWISE_LINES_H_ */
