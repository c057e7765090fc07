#include "mfcc/log_mel.h"

#include "kws_config.h"
#include "mfcc/float_math.h"

int kws_log_mel_validate(const KwsLogMelConfig* config) {
  /* "!(offset > 0)" also rejects NaN. */
  if (config->num_channels <= 0 || config->num_channels > KWS_MAX_CHANNELS ||
      !(config->offset > 0.0f)) {
    return 0;
  }
  return 1;
}

void kws_log_mel_apply(const KwsLogMelConfig* config, float* channels) {
  int c;
  for (c = 0; c < config->num_channels; ++c) {
    channels[c] = kws_log_f32(channels[c] + config->offset);
  }
}
