#include "micro_frontend/filterbank.h"

#include "kws_bits.h"

int kws_filterbank_init(KwsFilterbankState* state, const KwsFilterbankConfig* config) {
  if (config->num_channels <= 0 || config->num_channels > KWS_MAX_CHANNELS ||
      config->start_index < 1 || config->end_index > KWS_MAX_FFT_SIZE / 2 + 1) {
    return 0;
  }
  state->config = *config;
  kws_filterbank_reset(state);
  return 1;
}

void kws_filterbank_reset(KwsFilterbankState* state) {
  int i;
  for (i = 0; i <= state->config.num_channels; ++i) state->work.accumulators[i] = 0;
}

void kws_filterbank_energy(const KwsFilterbankState* state, KwsFftState* fft) {
  int i;
  for (i = state->config.start_index; i < state->config.end_index; ++i) {
    const int32_t real = fft->output.bins[i].real;
    const int32_t imag = fft->output.bins[i].imag;
    fft->output.energy[i] = (int32_t)((uint32_t)(real * real) + (uint32_t)(imag * imag));
  }
}

void kws_filterbank_accumulate(KwsFilterbankState* state, const int32_t* energy) {
  const KwsFilterbankConfig* c = &state->config;
  uint64_t weight_acc = 0;
  uint64_t unweight_acc = 0;
  int chan, j;
  for (chan = 0; chan <= c->num_channels; ++chan) {
    const int32_t* magnitudes = energy + c->channel_frequency_starts[chan];
    const int16_t* weights = c->weights + c->channel_weight_starts[chan];
    const int16_t* unweights = c->unweights + c->channel_weight_starts[chan];
    const int width = c->channel_widths[chan];
    for (j = 0; j < width; ++j) {
      /* Signed-to-unsigned conversions mirror the reference (energy is stored as int32). */
      weight_acc += (uint64_t)weights[j] * (uint64_t)magnitudes[j];
      unweight_acc += (uint64_t)unweights[j] * (uint64_t)magnitudes[j];
    }
    state->work.accumulators[chan] = weight_acc;
    weight_acc = unweight_acc;
    unweight_acc = 0;
  }
}

static uint16_t sqrt32(uint32_t num) {
  uint32_t res = 0;
  int max_bit_number, iterations;
  uint32_t bit;
  if (num == 0) return 0;
  max_bit_number = (32 - kws_msb32(num)) | 1;
  bit = 1U << (31 - max_bit_number);
  iterations = (31 - max_bit_number) / 2 + 1;
  while (iterations--) {
    if (num >= res + bit) {
      num -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  /* Round to nearest when there is headroom. */
  if (num > res && res != 0xFFFF) ++res;
  return (uint16_t)res;
}

static uint32_t sqrt64(uint64_t num) {
  uint64_t res = 0;
  uint64_t bit;
  int max_bit_number;
  if ((num >> 32) == 0) return sqrt32((uint32_t)num);
  max_bit_number = (64 - kws_msb64(num)) | 1;
  bit = 1ULL << (63 - max_bit_number);
  while (bit != 0) {
    if (num >= res + bit) {
      num -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  if (num > res && res != 0xFFFFFFFFULL) ++res;
  return (uint32_t)res;
}

uint32_t* kws_filterbank_sqrt(KwsFilterbankState* state, int scale_down_shift) {
  const int num_channels = state->config.num_channels;
  int i;
  /* Channel 0 is the lower edge band and is dropped; outputs trail inputs in the union. */
  for (i = 0; i < num_channels; ++i) {
    const uint64_t acc = state->work.accumulators[i + 1];
    state->work.output[i] = sqrt64(acc) >> scale_down_shift;
  }
  return state->work.output;
}
