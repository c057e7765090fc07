#include "micro_frontend/fft.h"

/* KissFFT fixed-point arithmetic (FRACBITS 15). */
#define KWS_FRACBITS 15
#define KWS_SAMP_MAX 32767

static inline int16_t sround(int32_t x) {
  return (int16_t)((x + (1 << (KWS_FRACBITS - 1))) >> KWS_FRACBITS);
}

static inline int16_t fixdiv(int16_t x, int k) {
  return sround((int32_t)x * (KWS_SAMP_MAX / k));
}

static inline KwsComplexInt16 cfixdiv(KwsComplexInt16 c, int k) {
  KwsComplexInt16 r;
  r.real = fixdiv(c.real, k);
  r.imag = fixdiv(c.imag, k);
  return r;
}

static inline KwsComplexInt16 cmul(KwsComplexInt16 a, KwsComplexInt16 b) {
  KwsComplexInt16 r;
  r.real = sround((int32_t)a.real * b.real - (int32_t)a.imag * b.imag);
  r.imag = sround((int32_t)a.real * b.imag + (int32_t)a.imag * b.real);
  return r;
}

/* Sums wrap to int16 exactly as KissFFT's C_ADD/C_SUB do on assignment. */
static inline KwsComplexInt16 cadd(KwsComplexInt16 a, KwsComplexInt16 b) {
  KwsComplexInt16 r;
  r.real = (int16_t)(a.real + b.real);
  r.imag = (int16_t)(a.imag + b.imag);
  return r;
}

static inline KwsComplexInt16 csub(KwsComplexInt16 a, KwsComplexInt16 b) {
  KwsComplexInt16 r;
  r.real = (int16_t)(a.real - b.real);
  r.imag = (int16_t)(a.imag - b.imag);
  return r;
}

/* KissFFT's kf_factor: powers of 4 first, then 2 (sizes here are powers of two). */
static int factorize(int n, int* factors) {
  int count = 0;
  int p = 4;
  while (n > 1) {
    while (n % p) p = 2;
    if (count + 2 > KWS_FFT_MAX_FACTORS) return 0;
    n /= p;
    factors[count++] = p;
    factors[count++] = n;
  }
  return 1;
}

static void butterfly2(KwsComplexInt16* out, int fstride, const KwsComplexInt16* twiddles,
                       int m) {
  KwsComplexInt16* out2 = out + m;
  const KwsComplexInt16* tw = twiddles;
  int k;
  for (k = 0; k < m; ++k) {
    KwsComplexInt16 t;
    out[k] = cfixdiv(out[k], 2);
    out2[k] = cfixdiv(out2[k], 2);
    t = cmul(out2[k], *tw);
    tw += fstride;
    out2[k] = csub(out[k], t);
    out[k] = cadd(out[k], t);
  }
}

static void butterfly4(KwsComplexInt16* out, int fstride, const KwsComplexInt16* twiddles,
                       int m) {
  const KwsComplexInt16* tw1 = twiddles;
  const KwsComplexInt16* tw2 = twiddles;
  const KwsComplexInt16* tw3 = twiddles;
  int k;
  for (k = 0; k < m; ++k) {
    KwsComplexInt16 s0, s1, s2, s3, s4, s5;
    KwsComplexInt16* f = out + k;
    f[0] = cfixdiv(f[0], 4);
    f[m] = cfixdiv(f[m], 4);
    f[2 * m] = cfixdiv(f[2 * m], 4);
    f[3 * m] = cfixdiv(f[3 * m], 4);
    s0 = cmul(f[m], *tw1);
    s1 = cmul(f[2 * m], *tw2);
    s2 = cmul(f[3 * m], *tw3);
    s5 = csub(f[0], s1);
    f[0] = cadd(f[0], s1);
    s3 = cadd(s0, s2);
    s4 = csub(s0, s2);
    f[2 * m] = csub(f[0], s3);
    tw1 += fstride;
    tw2 += fstride * 2;
    tw3 += fstride * 3;
    f[0] = cadd(f[0], s3);
    f[m].real = (int16_t)(s5.real + s4.imag);
    f[m].imag = (int16_t)(s5.imag - s4.real);
    f[3 * m].real = (int16_t)(s5.real - s4.imag);
    f[3 * m].imag = (int16_t)(s5.imag + s4.real);
  }
}

/* Decimation in time, recursive over the factor list like KissFFT's kf_work. */
static void fft_work(KwsComplexInt16* out, const KwsComplexInt16* in, int fstride,
                     const int* factors, const KwsComplexInt16* twiddles) {
  const int p = factors[0];
  const int m = factors[1];
  int q;
  if (m == 1) {
    for (q = 0; q < p; ++q) out[q] = in[q * fstride];
  } else {
    for (q = 0; q < p; ++q) fft_work(out + q * m, in + q * fstride, fstride * p, factors + 2, twiddles);
  }
  if (p == 4) {
    butterfly4(out, fstride, twiddles, m);
  } else {
    butterfly2(out, fstride, twiddles, m);
  }
}

int kws_fft_init(KwsFftState* state, const KwsFftConfig* config) {
  int i;
  if (config->fft_size < 4 || config->fft_size > KWS_MAX_FFT_SIZE ||
      (config->fft_size & (config->fft_size - 1)) != 0 || config->input_size > config->fft_size) {
    return 0;
  }
  state->config = *config;
  if (!factorize(config->fft_size / 2, state->factors)) return 0;
  for (i = 0; i < config->fft_size / 2; ++i) {
    state->input[i].real = 0;
    state->input[i].imag = 0;
  }
  return 1;
}

void kws_fft_compute(KwsFftState* state, const int16_t* input, int input_scale_shift) {
  const int fft_size = state->config.fft_size;
  const int ncfft = fft_size / 2;
  const KwsComplexInt16* super_twiddles = state->config.super_twiddles;
  KwsComplexInt16* out = state->output.bins;
  KwsComplexInt16* work = state->work;
  KwsComplexInt16 dc;
  int i, k;

  for (i = 0; i < fft_size; ++i) {
    int16_t value = 0;
    if (i < state->config.input_size) value = (int16_t)((uint16_t)input[i] << input_scale_shift);
    if (i & 1) {
      state->input[i >> 1].imag = value;
    } else {
      state->input[i >> 1].real = value;
    }
  }

  /* A real signal of length N is a complex signal of length N/2 (even, odd samples). */
  fft_work(work, state->input, 1, state->factors, state->config.twiddles);

  dc = cfixdiv(work[0], 2);
  out[0].real = (int16_t)(dc.real + dc.imag);
  out[ncfft].real = (int16_t)(dc.real - dc.imag);
  out[0].imag = 0;
  out[ncfft].imag = 0;
  for (k = 1; k <= ncfft / 2; ++k) {
    KwsComplexInt16 fpk = work[k];
    KwsComplexInt16 fpnk, f1k, f2k, tw;
    fpnk.real = work[ncfft - k].real;
    fpnk.imag = (int16_t)-work[ncfft - k].imag;
    fpk = cfixdiv(fpk, 2);
    fpnk = cfixdiv(fpnk, 2);
    f1k = cadd(fpk, fpnk);
    f2k = csub(fpk, fpnk);
    tw = cmul(f2k, super_twiddles[k - 1]);
    out[k].real = (int16_t)((f1k.real + tw.real) >> 1);
    out[k].imag = (int16_t)((f1k.imag + tw.imag) >> 1);
    out[ncfft - k].real = (int16_t)((f1k.real - tw.real) >> 1);
    out[ncfft - k].imag = (int16_t)((tw.imag - f1k.imag) >> 1);
  }
}
