#include "text_format.h"

int format_hex(char* out, uint32_t value, int digits) {
  static const char kHexDigits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                      '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  int i;
  for (i = digits - 1; i >= 0; --i) {
    out[i] = kHexDigits[value & 0xFu];
    value >>= 4;
  }
  return digits;
}

int format_u32(char* out, uint32_t value) {
  char reversed[10];
  int count = 0;
  int i;
  do {
    reversed[count++] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  for (i = 0; i < count; ++i) out[i] = reversed[count - 1 - i];
  return count;
}

int format_i32(char* out, int32_t value) {
  if (value < 0) {
    out[0] = '-';
    /* Negate in unsigned arithmetic so INT32_MIN does not overflow. */
    return 1 + format_u32(out + 1, 0u - (uint32_t)value);
  }
  return format_u32(out, (uint32_t)value);
}
