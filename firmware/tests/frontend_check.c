/* Runs every baked frontend config over every baked clip and prints each output frame, so
 * the host can compare the board's bits with its own.
 *
 * Output, one line each (semihosting, or UART0 when built with KWS_CHECK_OUTPUT_UART=1):
 *   "B micro <config> <clip>"  then one line per frame: channels as 4 hex digits (uint16)
 *   "B mfcc <config> <clip>"   then one line per frame: coefficients as 8 hex digits
 *                              (the float32 bit pattern)
 *   "E <frames> <ticks>"       after each clip; "DONE" at the end; exit status 0.
 * A config the core rejects prints "ERROR ..." and exits 2. */
#include "frontend_check.h"

#include "board.h"
#include "float_bits.h"
#include "text_format.h"

#ifndef KWS_CHECK_OUTPUT_UART
#define KWS_CHECK_OUTPUT_UART 0
#endif

/* Longest line: KWS_MAX_CHANNELS values of 4 hex digits or KWS_MAX_MFCC of 8, plus '\n'. */
#define CHECK_LINE_CAPACITY (KWS_MAX_CHANNELS * 4 + KWS_MAX_MFCC * 8 + 64)

static KwsMicroFrontendState micro_state;
static uint16_t micro_frame[KWS_MAX_CHANNELS];
#if KWS_CHECK_MFCC
static KwsMfccState mfcc_state;
static float mfcc_frame[KWS_MAX_MFCC];
#endif
static char line[CHECK_LINE_CAPACITY];

static void emit_line(int length) {
  line[length++] = '\n';
#if KWS_CHECK_OUTPUT_UART
  board_uart_write(line, (size_t)length);
#else
  line[length] = '\0';
  board_log(line);
#endif
}

static int append_text(int at, const char* text) {
  while (*text) line[at++] = *text++;
  return at;
}

static void emit_header(const char* kind, int config, int clip) {
  int n = append_text(0, "B ");
  n = append_text(n, kind);
  line[n++] = ' ';
  n += format_i32(line + n, config);
  line[n++] = ' ';
  n += format_i32(line + n, clip);
  emit_line(n);
}

static void emit_end(uint32_t frames, uint32_t ticks) {
  int n = append_text(0, "E ");
  n += format_u32(line + n, frames);
  line[n++] = ' ';
  n += format_u32(line + n, ticks);
  emit_line(n);
}

static void fail(const char* what, int config) {
  int n = append_text(0, "ERROR ");
  n = append_text(n, what);
  line[n++] = ' ';
  n += format_i32(line + n, config);
  emit_line(n);
  board_exit(2);
}

static uint32_t next_chunk(int* chunk_index) {
  const uint32_t size = check_chunk_sizes[*chunk_index];
  *chunk_index = (*chunk_index + 1) % check_num_chunk_sizes;
  return size;
}

/* Writes one frame's values into `line` and returns the length, or returns -1 when the
 * frontend needs more audio; consumes up to num_samples (*read). */
typedef int (*FrameToLine)(const int16_t* samples, size_t num_samples, size_t* read);

static int micro_frame_line(const int16_t* samples, size_t num_samples, size_t* read) {
  const int channels = micro_state.filterbank.config.num_channels;
  int c, n = 0;
  if (!kws_micro_frontend_process(&micro_state, samples, num_samples, read, micro_frame)) {
    return -1;
  }
  for (c = 0; c < channels; ++c) n += format_hex(line + n, micro_frame[c], 4);
  return n;
}

#if KWS_CHECK_MFCC
static int mfcc_frame_line(const int16_t* samples, size_t num_samples, size_t* read) {
  const int coefficients = mfcc_state.dct.num_outputs;
  int c, n = 0;
  if (!kws_mfcc_process(&mfcc_state, samples, num_samples, read, mfcc_frame)) return -1;
  for (c = 0; c < coefficients; ++c) n += format_hex(line + n, float_bits(mfcc_frame[c]), 8);
  return n;
}
#endif

/* Streams one clip through an initialised frontend in the cycling chunk sizes and prints
 * its frames between the "B" and "E" lines. */
static void run_clip(const char* kind, int config, int clip, FrameToLine frame_line) {
  const int16_t* samples = check_clips[clip];
  uint32_t remaining = check_clip_lengths[clip];
  uint32_t frames = 0;
  uint32_t start;
  int chunk_index = 0;
  emit_header(kind, config, clip);
  start = board_ticks();
  while (remaining > 0) {
    uint32_t chunk = next_chunk(&chunk_index);
    if (chunk > remaining) chunk = remaining;
    while (chunk > 0) {
      size_t read = 0;
      const int n = frame_line(samples, chunk, &read);
      samples += read;
      chunk -= (uint32_t)read;
      remaining -= (uint32_t)read;
      if (n < 0) continue;
      ++frames;
      emit_line(n);
    }
  }
  emit_end(frames, board_ticks() - start);
}

int main(void) {
  int config, clip;
  board_init();
  for (config = 0; config < check_num_micro_configs; ++config) {
    if (!kws_micro_frontend_init(&micro_state, check_micro_configs[config])) {
      fail("micro init", config);
    }
    for (clip = 0; clip < check_num_clips; ++clip) {
      kws_micro_frontend_reset(&micro_state);
      run_clip("micro", config, clip, micro_frame_line);
    }
  }
#if KWS_CHECK_MFCC
  for (config = 0; config < check_num_mfcc_configs; ++config) {
    if (!kws_mfcc_init(&mfcc_state, check_mfcc_configs[config])) fail("mfcc init", config);
    for (clip = 0; clip < check_num_clips; ++clip) {
      kws_mfcc_reset(&mfcc_state);
      run_clip("mfcc", config, clip, mfcc_frame_line);
    }
  }
#endif
  emit_line(append_text(0, "DONE"));
  return 0;
}
