/* Exercises the board API under QEMU for tests/test_firmware_runner.py.
 *
 * The host sends a one-byte command over UART0 (and its operands), then reads the result
 * from the UART, semihosting or the exit status:
 *   'e' n_lo n_hi bytes...  UART echo: sends back "n:" and the n bytes reversed; exit 0
 *   'x' code                exits with status `code`
 *   'f'                     logs formatted numbers (text_format.h), one per line; exit 0
 *   'p'                     logs float32 results as hex bit patterns (proves the FPU is
 *                           usable in hard-float builds); exit 0
 *   't' n0 n1 n2 n3         busy-loops n (little endian) iterations, logs
 *                           "ticks <before> <after>"; exit 0
 *   'u'                     executes an undefined instruction (fault handler test)
 *   'h'                     hangs forever (runner timeout test) */
#include <stdint.h>

#include "board.h"
#include "float_bits.h"
#include "text_format.h"

static char line[96];

static void log_line(int n) {
  line[n++] = '\n';
  line[n] = '\0';
  board_log(line);
}

static uint8_t read_byte(void) {
  uint8_t b;
  board_uart_read(&b, 1);
  return b;
}

static int command_echo(void) {
  uint8_t buffer[256];
  char prefix[12];
  int n, i, p;
  n = read_byte();
  n |= read_byte() << 8;
  if (n > (int)sizeof(buffer)) return 3;
  board_uart_read(buffer, (size_t)n);
  p = format_i32(prefix, n);
  prefix[p++] = ':';
  board_uart_write(prefix, (size_t)p);
  for (i = n - 1; i >= 0; --i) board_uart_write(&buffer[i], 1);
  return 0;
}

static int command_format(void) {
  static const int32_t signed_values[] = {0, 7, -7, 2147483647, (-2147483647 - 1), 1000000};
  static const uint32_t unsigned_values[] = {0u, 9u, 10u, 4294967295u, 305419896u};
  unsigned i;
  for (i = 0; i < sizeof(signed_values) / sizeof(signed_values[0]); ++i) {
    log_line(format_i32(line, signed_values[i]));
  }
  for (i = 0; i < sizeof(unsigned_values) / sizeof(unsigned_values[0]); ++i) {
    log_line(format_u32(line, unsigned_values[i]));
    log_line(format_hex(line, unsigned_values[i], 8));
  }
  log_line(format_hex(line, 0xBEEFu, 4));
  return 0;
}

static int command_float(void) {
  /* volatile keeps the arithmetic at run time (on the FPU or in libgcc). */
  volatile float a = 1.1f;
  volatile float b = 3.3f;
  volatile int32_t k = -12345;
  const float results[5] = {a * b, a / b, a + b, a - b, (float)k * a};
  int i;
  for (i = 0; i < 5; ++i) log_line(format_hex(line, float_bits(results[i]), 8));
  return 0;
}

static int command_ticks(void) {
  uint8_t raw[4];
  volatile uint32_t counter = 0;
  uint32_t n, before, after;
  int len;
  board_uart_read(raw, 4);
  n = (uint32_t)raw[0] | ((uint32_t)raw[1] << 8) | ((uint32_t)raw[2] << 16) |
      ((uint32_t)raw[3] << 24);
  before = board_ticks();
  while (counter < n) counter = counter + 1u;
  after = board_ticks();
  len = 0;
  line[len++] = 't';
  line[len++] = ' ';
  len += format_u32(line + len, before);
  line[len++] = ' ';
  len += format_u32(line + len, after);
  log_line(len);
  return 0;
}

int main(void) {
  board_init();
  board_init(); /* must be harmless twice */
  switch (read_byte()) {
    case 'e':
      return command_echo();
    case 'x':
      return read_byte();
    case 'f':
      return command_format();
    case 'p':
      return command_float();
    case 't':
      return command_ticks();
    case 'u':
      __asm__ volatile("udf #0");
      return 4;
    case 'h':
      for (;;) {
      }
    default:
      return 5;
  }
}
