/* memcpy/memmove/memset/memcmp for -nostdlib links: GCC may emit calls to them for struct
 * copies and zeroing loops even in freestanding code.  Loop-pattern recognition is off here,
 * or GCC would turn these loops back into calls to themselves. */
#include <stddef.h>

#define KWS_NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))

void* memcpy(void* dest, const void* src, size_t n);
void* memmove(void* dest, const void* src, size_t n);
void* memset(void* dest, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);

KWS_NO_LOOP_PATTERNS void* memcpy(void* dest, const void* src, size_t n) {
  unsigned char* out = (unsigned char*)dest;
  const unsigned char* in = (const unsigned char*)src;
  size_t i;
  for (i = 0; i < n; ++i) out[i] = in[i];
  return dest;
}

KWS_NO_LOOP_PATTERNS void* memmove(void* dest, const void* src, size_t n) {
  unsigned char* out = (unsigned char*)dest;
  const unsigned char* in = (const unsigned char*)src;
  size_t i;
  if (out < in) {
    for (i = 0; i < n; ++i) out[i] = in[i];
  } else {
    for (i = n; i > 0; --i) out[i - 1] = in[i - 1];
  }
  return dest;
}

KWS_NO_LOOP_PATTERNS void* memset(void* dest, int value, size_t n) {
  unsigned char* out = (unsigned char*)dest;
  size_t i;
  for (i = 0; i < n; ++i) out[i] = (unsigned char)value;
  return dest;
}

KWS_NO_LOOP_PATTERNS int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = (const unsigned char*)a;
  const unsigned char* y = (const unsigned char*)b;
  size_t i;
  for (i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
