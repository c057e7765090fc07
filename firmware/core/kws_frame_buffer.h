/* Framing shared by both front ends: collect int16 samples until a whole analysis window is
 * buffered, let the caller use it, then slide by one hop.
 *
 * Header-only so every project that copies the core's top-level headers gets it. */
#ifndef KWS_FRAME_BUFFER_H_
#define KWS_FRAME_BUFFER_H_

#include <stddef.h>
#include <stdint.h>

#include "kws_config.h"

typedef struct {
  int size; /* window length in samples */
  int step; /* hop in samples, 1..size */
  int used; /* samples currently buffered */
  int16_t samples[KWS_MAX_WINDOW_SIZE];
} KwsFrameBuffer;

/* Returns 1 on success, 0 when size/step are invalid or exceed KWS_MAX_WINDOW_SIZE. */
static inline int kws_frame_buffer_init(KwsFrameBuffer* buffer, int size, int step) {
  int i;
  if (size <= 0 || size > KWS_MAX_WINDOW_SIZE || step <= 0 || step > size) return 0;
  buffer->size = size;
  buffer->step = step;
  buffer->used = 0;
  for (i = 0; i < size; ++i) buffer->samples[i] = 0;
  return 1;
}

static inline void kws_frame_buffer_reset(KwsFrameBuffer* buffer) { buffer->used = 0; }

/* Consumes up to num_samples (reported in *num_samples_read); returns 1 when a whole window
 * is in buffer->samples. */
static inline int kws_frame_buffer_fill(KwsFrameBuffer* buffer, const int16_t* samples,
                                        size_t num_samples, size_t* num_samples_read) {
  size_t to_copy = (size_t)(buffer->size - buffer->used);
  size_t i;
  if (to_copy > num_samples) to_copy = num_samples;
  for (i = 0; i < to_copy; ++i) buffer->samples[buffer->used + (int)i] = samples[i];
  *num_samples_read = to_copy;
  buffer->used += (int)to_copy;
  return buffer->used == buffer->size;
}

/* Drops the oldest hop once the window has been used: the overlap starts the next one. */
static inline void kws_frame_buffer_advance(KwsFrameBuffer* buffer) {
  int i;
  for (i = 0; i < buffer->size - buffer->step; ++i) {
    buffer->samples[i] = buffer->samples[i + buffer->step];
  }
  buffer->used -= buffer->step;
}

#endif /* KWS_FRAME_BUFFER_H_ */
