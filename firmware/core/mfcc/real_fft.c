#include "mfcc/real_fft.h"

#include <stddef.h>

int kws_real_fft_init(KwsRealFftState* state, const KwsRealFftConfig* config) {
  const int n = config->fft_size;
  int i;
  if (n < 4 || n > KWS_MAX_FFT_SIZE || (n & (n - 1)) != 0) return 0;
  if (config->input_size <= 0 || config->input_size > n || config->twiddles == NULL) return 0;
  state->config = *config;
  for (i = 0; i < n + 2; ++i) state->spectrum[i] = 0.0f;
  return 1;
}

/* In-place iterative radix-2 DIT FFT of `count` complex values; twiddle k of the N-point
 * table is exp(-2 pi i k / N), and a stage of span `len` uses every (N / len)-th one. */
static void kws_complex_fft(float* data, int count, const float* twiddles, int fft_size) {
  int i, j, bit, len, start, k;
  /* Bit-reversal permutation. */
  for (i = 1, j = 0; i < count; ++i) {
    for (bit = count >> 1; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      float re = data[2 * i], im = data[2 * i + 1];
      data[2 * i] = data[2 * j];
      data[2 * i + 1] = data[2 * j + 1];
      data[2 * j] = re;
      data[2 * j + 1] = im;
    }
  }
  for (len = 2; len <= count; len <<= 1) {
    const int half = len >> 1;
    const int stride = fft_size / len;
    for (start = 0; start < count; start += len) {
      for (k = 0; k < half; ++k) {
        const float c = twiddles[2 * k * stride];
        const float s = twiddles[2 * k * stride + 1];
        float* a = data + 2 * (start + k);
        float* b = data + 2 * (start + k + half);
        /* b * exp(-i theta) = b * (c - i s) */
        const float vr = b[0] * c + b[1] * s;
        const float vi = b[1] * c - b[0] * s;
        const float ur = a[0], ui = a[1];
        a[0] = ur + vr;
        a[1] = ui + vi;
        b[0] = ur - vr;
        b[1] = ui - vi;
      }
    }
  }
}

void kws_real_fft_compute(KwsRealFftState* state, const float* input) {
  const int n = state->config.fft_size;
  const int m = n / 2; /* complex points */
  const int input_size = state->config.input_size;
  const float* twiddles = state->config.twiddles;
  float* x = state->spectrum;
  int i, k;

  for (i = 0; i < input_size; ++i) x[i] = input[i];
  for (; i < n; ++i) x[i] = 0.0f;

  kws_complex_fft(x, m, twiddles, n);

  /* Split Z = FFT(even + i odd) into the real spectrum:
   *   E[k] = (Z[k] + conj Z[m-k]) / 2,  O[k] = (Z[k] - conj Z[m-k]) / 2i,
   *   X[k] = E[k] + W^k O[k],  X[m-k] = conj(E[k] - W^k O[k]),  W = exp(-2 pi i / N).
   * Each pair (k, m-k) is read before it is overwritten, so this works in place. */
  {
    const float z0r = x[0], z0i = x[1];
    x[0] = z0r + z0i;
    x[1] = 0.0f;
    x[2 * m] = z0r - z0i;
    x[2 * m + 1] = 0.0f;
  }
  for (k = 1; k < m - k; ++k) {
    const float ar = x[2 * k], ai = x[2 * k + 1];
    const float cr = x[2 * (m - k)], ci = x[2 * (m - k) + 1];
    const float er = 0.5f * (ar + cr), ei = 0.5f * (ai - ci);
    const float or_ = 0.5f * (ai + ci), oi = -0.5f * (ar - cr);
    const float c = twiddles[2 * k], s = twiddles[2 * k + 1];
    const float tr = or_ * c + oi * s;
    const float ti = oi * c - or_ * s;
    x[2 * k] = er + tr;
    x[2 * k + 1] = ei + ti;
    x[2 * (m - k)] = er - tr;
    x[2 * (m - k) + 1] = ti - ei;
  }
  /* k = m/2 = N/4: W^k = -i exactly, so X = conj Z without rounding. */
  x[2 * (m / 2) + 1] = -x[2 * (m / 2) + 1];
}
