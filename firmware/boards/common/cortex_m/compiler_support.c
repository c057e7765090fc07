/* Functions GCC may call even in freestanding code (struct copies, zeroing loops).
 *
 * Linking with -nostdlib leaves them undefined, so the board provides plain versions.
 * Loop-pattern recognition is disabled here, or GCC would turn these loops back into
 * calls to themselves. */
#include <stddef.h>

#define KWS_NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))

void* memcpy(void* dest, const void* src, size_t n);
void* memmove(void* dest, const void* src, size_t n);
void* memset(void* dest, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);

KWS_NO_LOOP_PATTERNS void* memcpy(void* dest, const void* src, size_t n) {
  unsigned char* d = (unsigned char*)dest;
  const unsigned char* s = (const unsigned char*)src;
  while (n--) *d++ = *s++;
  return dest;
}

KWS_NO_LOOP_PATTERNS void* memmove(void* dest, const void* src, size_t n) {
  unsigned char* d = (unsigned char*)dest;
  const unsigned char* s = (const unsigned char*)src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dest;
}

KWS_NO_LOOP_PATTERNS void* memset(void* dest, int value, size_t n) {
  unsigned char* d = (unsigned char*)dest;
  while (n--) *d++ = (unsigned char)value;
  return dest;
}

KWS_NO_LOOP_PATTERNS int memcmp(const void* a, const void* b, size_t n) {
  const unsigned char* x = (const unsigned char*)a;
  const unsigned char* y = (const unsigned char*)b;
  for (; n; --n, ++x, ++y) {
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}
