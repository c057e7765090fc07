/* Number formatting without libc (firmware may not use printf).  Each function writes
 * characters into `out` without a terminating NUL and returns how many it wrote. */
#ifndef KWS_TEXT_FORMAT_H_
#define KWS_TEXT_FORMAT_H_

#include <stdint.h>

/* Exactly `digits` lowercase hex digits of value (1..8), most significant first. */
int format_hex(char* out, uint32_t value, int digits);
/* Decimal, no leading zeros (at most 10 characters). */
int format_u32(char* out, uint32_t value);
/* Decimal with a leading '-' for negatives (at most 11 characters). */
int format_i32(char* out, int32_t value);

#endif /* KWS_TEXT_FORMAT_H_ */
