#include "mfcc/dct.h"

#include <stddef.h>

#include "kws_config.h"

int kws_dct_validate(const KwsDctConfig* config) {
  if (config->num_inputs <= 0 || config->num_inputs > KWS_MAX_CHANNELS ||
      config->num_outputs <= 0 || config->num_outputs > KWS_MAX_MFCC ||
      config->num_outputs > config->num_inputs || config->matrix == NULL) {
    return 0;
  }
  return 1;
}

void kws_dct_apply(const KwsDctConfig* config, const float* input, float* out) {
  const int num_inputs = config->num_inputs;
  const int num_outputs = config->num_outputs;
  int n, k;
  for (k = 0; k < num_outputs; ++k) {
    float sum = 0.0f;
    for (n = 0; n < num_inputs; ++n) sum += input[n] * config->matrix[n * num_outputs + k];
    out[k] = sum;
  }
}
