#include "kernels/reshape.h"

void kws_reshape(const int8_t* input, int8_t* output, int size) {
  int i;
  if (input == output) return;
  for (i = 0; i < size; ++i) output[i] = input[i];
}
