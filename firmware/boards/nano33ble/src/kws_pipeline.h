/* Streaming keyword spotting for the exported Arduino library:
 *   16 kHz int16 audio -> micro frontend -> int8 features (host-computed lookup table, so
 *   the quantization is bit-exact with kws) -> sliding window -> kws_model_invoke.
 * All memory is static; sizes come from the generated kws_settings.h and model.h. */
#ifndef KWS_PIPELINE_H_
#define KWS_PIPELINE_H_

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t frame_index; /* feature frames since kws_pipeline_init() */
  int label;            /* index of the best class (kws_labels[label]) */
  int8_t score;         /* its int8 output; probability = (score - zero point) * scale */
  const int8_t* scores; /* all KWS_MODEL_OUTPUT_SIZE outputs (valid until the next call) */
} KwsResult;

/* Returns 1 on success, 0 when the frontend config does not fit the build capacity. */
int kws_pipeline_init(void);

/* Feeds n samples.  Returns 1 when an inference ran (result filled in for the latest one),
 * 0 otherwise.  Call it with at most one stride of audio for one result per inference. */
int kws_pipeline_process(const int16_t* samples, size_t n, KwsResult* result);

#endif /* KWS_PIPELINE_H_ */
