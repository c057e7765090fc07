/* RESHAPE: the bytes do not change. The memory planner runs it in place (input and
 * output share storage) so it is usually free; otherwise it is a copy. */
#ifndef KWS_KERNELS_RESHAPE_H_
#define KWS_KERNELS_RESHAPE_H_

#include <stdint.h>

void kws_reshape(const int8_t* input, int8_t* output, int size);

#endif /* KWS_KERNELS_RESHAPE_H_ */
