"""Augmentation of synthetic speech towards real recordings.

TTS voices are clean, dry, full-band and perfectly steady; real takes are none of those.
Each transform here moves a clip one step towards a real microphone: tempo and pitch
perturbation, vocal-tract-length warping, a room (synthetic impulse response), the band of
a cheap microphone, background noise at a low SNR, and gain.  :func:`realistic` composes
them with probabilities and places the result in a fixed window (1 s by default).

Float transforms take and return float audio in [-1, 1]; every random choice comes from the
``np.random.Generator`` passed in, so a seed gives the same clip.  Noise mixing and gain
reuse the int16 arithmetic of :mod:`kws.data.augment`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from kws.audio import DEFAULT_SAMPLE_RATE, float_to_int16
from kws.data.augment import apply_gain, mix_at_snr, random_noise_slice
from kws.data.dataset import loudest_start
from kws.errors import KwsError

# STFT for the frequency warp: 32 ms frames, 75 % overlap.
_WARP_FFT, _WARP_HOP = 512, 128
# Jaitly & Hinton (2013): the warp is linear up to this frequency (scaled to the sample
# rate: 4.8 kHz at 16 kHz), then bends so that Nyquist maps to Nyquist.
_WARP_KNEE = 0.6
# Amplitude of a 60 dB decay: exp(-ln(1000) * t / rt60).
_LN_1000 = float(np.log(1000.0))


def change_tempo(audio: np.ndarray, factor: float) -> np.ndarray:
    """Speed speech up (``factor`` > 1) or slow it down without changing its pitch.

    The output has ``round(len(audio) / factor)`` samples (librosa's phase vocoder).
    """
    import librosa

    if factor <= 0:
        raise KwsError(f"tempo factor must be positive, got {factor}")
    y = np.asarray(audio, dtype=np.float32)
    return librosa.effects.time_stretch(y, rate=float(factor)).astype(np.float32)


def shift_pitch(audio: np.ndarray, semitones: float,
                sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Raise (or lower, negative) every frequency by ``semitones``, keeping the duration."""
    import librosa

    y = np.asarray(audio, dtype=np.float32)
    return librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=float(semitones)).astype(
        np.float32)


def vtlp_warp(frequencies: np.ndarray, alpha: float, sample_rate: int) -> np.ndarray:
    """The piecewise-linear vocal-tract-length warp of ``frequencies`` (Hz).

    ``f * alpha`` up to a knee, then a straight line to ``nyquist -> nyquist``, so the
    warp is monotonic and keeps the band.
    """
    nyquist = sample_rate / 2.0
    knee = _WARP_KNEE * nyquist * min(alpha, 1.0) / alpha
    f = np.asarray(frequencies, dtype=np.float64)
    upper = nyquist - (nyquist - alpha * knee) * (nyquist - f) / (nyquist - knee)
    return np.where(f <= knee, f * alpha, upper)


def warp_vocal_tract(audio: np.ndarray, alpha: float,
                     sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Vocal-tract-length perturbation: stretch the spectrum's frequency axis by ``alpha``.

    A longer vocal tract (``alpha`` < 1) moves formants down, a shorter one up.  Each STFT
    bin takes the magnitude and instantaneous frequency found at its warped-back frequency;
    phases are re-accumulated from the warped instantaneous frequencies (a phase vocoder),
    so a tone at ``f`` comes out as a clean tone at ``vtlp_warp(f)``.  Same length out.
    """
    import librosa

    if not 0.5 <= alpha <= 2.0:
        raise KwsError(f"vocal tract warp factor must be in [0.5, 2], got {alpha}")
    y = np.asarray(audio, dtype=np.float32)
    if len(y) < _WARP_FFT:
        return y.copy()
    spec = librosa.stft(y, n_fft=_WARP_FFT, hop_length=_WARP_HOP)
    bins = spec.shape[0]
    bin_freqs = np.arange(bins) * sample_rate / _WARP_FFT
    omega = 2.0 * np.pi * np.arange(bins) / _WARP_FFT  # rad/sample at each bin centre
    phase = np.angle(spec)
    advance = np.diff(phase, axis=1, prepend=phase[:, :1]) - omega[:, None] * _WARP_HOP
    advance = np.mod(advance + np.pi, 2.0 * np.pi) - np.pi
    inst = omega[:, None] + advance / _WARP_HOP  # instantaneous frequency, rad/sample
    # Output bin k reads the input at the frequency that warps onto it.
    grid = np.linspace(0.0, sample_rate / 2.0, 4 * bins)
    source = np.interp(bin_freqs, vtlp_warp(grid, alpha, sample_rate), grid)
    pos = source * _WARP_FFT / sample_rate
    lo = np.clip(np.floor(pos).astype(int), 0, bins - 1)
    hi = np.clip(lo + 1, 0, bins - 1)
    w = (pos - lo)[:, None]
    magnitude = (1.0 - w) * np.abs(spec[lo]) + w * np.abs(spec[hi])
    inst_src = (1.0 - w) * inst[lo] + w * inst[hi]
    hz = inst_src * sample_rate / (2.0 * np.pi)
    inst_out = vtlp_warp(np.clip(hz, 0.0, sample_rate / 2.0), alpha, sample_rate)
    inst_out = inst_out * 2.0 * np.pi / sample_rate
    out_phase = np.cumsum(inst_out * _WARP_HOP, axis=1) + phase[lo][:, :1] - inst_out[:, :1] * \
        _WARP_HOP
    warped = magnitude * np.exp(1j * out_phase)
    return librosa.istft(warped, hop_length=_WARP_HOP, length=len(y)).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, rt60: float,
                          sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """A synthetic room: direct sound, early reflections and an exponential noise tail.

    The tail is Gaussian noise under ``exp(-ln(1000) t / rt60)`` (60 dB down after
    ``rt60`` seconds), low-passed a little (air and walls absorb highs); 3-8 early
    reflections arrive 2-40 ms after the direct sound with random signs and amplitudes
    0.2-0.7.  The direct-to-reverberant ratio is random too.  Length: ``1.2 * rt60``.
    Peak (the direct sound) is 1.
    """
    if not 0.01 <= rt60 <= 3.0:
        raise KwsError(f"RT60 must be in [0.01, 3] s, got {rt60}")
    n = max(2, int(round(1.2 * rt60 * sample_rate)))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-_LN_1000 * t / rt60)
    b, a = signal.butter(1, min(0.95, float(rng.uniform(3000.0, 7000.0)) / (sample_rate / 2)))
    tail = signal.lfilter(b, a, tail)
    onset = int(0.002 * sample_rate)
    tail[:onset] = 0.0
    # Reverberant energy relative to the direct sound: -12 dB (dry) to +3 dB (far talker).
    drr_db = float(rng.uniform(-3.0, 12.0))
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / max(float(np.sum(tail * tail)), 1e-12))
    rir = tail
    rir[0] = 1.0
    for _ in range(int(rng.integers(3, 9))):
        delay = int(rng.uniform(0.002, 0.040) * sample_rate)
        if delay < n:
            rir[delay] += float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.7))
    return (rir / np.max(np.abs(rir))).astype(np.float64)


def reverberate(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve ``audio`` with ``rir``, keeping the tail (``len(audio) + len(rir) - 1``
    samples) and the input's RMS level."""
    y = np.asarray(audio, dtype=np.float64)
    wet = signal.fftconvolve(y, rir)
    dry_power, wet_power = float(np.mean(y * y)), float(np.mean(wet * wet))
    if wet_power > 0.0:
        wet *= np.sqrt(dry_power * len(y) / (wet_power * len(wet)))
    return wet.astype(np.float32)


def band_limit(audio: np.ndarray, low_hz: float | None, high_hz: float | None,
               sample_rate: int = DEFAULT_SAMPLE_RATE, order: int = 6) -> np.ndarray:
    """A microphone's band: Butterworth high-pass at ``low_hz`` and low-pass at ``high_hz``
    (either None: no filter on that side).  Causal, like a real analogue front end."""
    nyquist = sample_rate / 2.0
    y = np.asarray(audio, dtype=np.float64)
    if low_hz is not None:
        if not 0.0 < low_hz < nyquist:
            raise KwsError(f"high-pass corner {low_hz} Hz is outside (0, {nyquist:g})")
        y = signal.sosfilt(signal.butter(order, low_hz, "highpass", fs=sample_rate,
                                         output="sos"), y)
    if high_hz is not None:
        if not 0.0 < high_hz < nyquist:
            raise KwsError(f"low-pass corner {high_hz} Hz is outside (0, {nyquist:g})")
        y = signal.sosfilt(signal.butter(order, high_hz, "lowpass", fs=sample_rate,
                                         output="sos"), y)
    return y.astype(np.float32)


def place_in_window(audio: np.ndarray, length: int, shift: int,
                    keep: int | None = None) -> np.ndarray:
    """``audio`` centred in a zero window of ``length`` samples, moved by ``shift`` samples.

    The first ``keep`` samples (default: all) are kept whole inside the window when they fit
    (the shift is clamped); what follows them (a reverb tail) may run past the window's end
    and is cut there.  A longer clip is cut to its loudest ``length`` samples.
    """
    y = np.asarray(audio)
    whole = len(y) if keep is None else min(keep, len(y))
    if whole >= length:
        start = loudest_start(y, length)
        return y[start:start + length].copy()
    offset = int(np.clip((length - whole) // 2 + shift, 0, length - whole))
    out = np.zeros(length, dtype=y.dtype)
    part = y[: length - offset]
    out[offset:offset + len(part)] = part
    return out


@dataclass(frozen=True)
class RealisticConfig:
    """Probabilities and ranges of :func:`realistic` (each step is drawn independently).

    Ranges are uniform ``(low, high)``: tempo factor, pitch in semitones, warp factor,
    RT60 in seconds, high-pass and low-pass corners in Hz, SNR and gain in dB.
    ``shift_ms``: the placement in the window moves by up to this much either way.
    """

    tempo_probability: float = 0.7
    tempo: tuple[float, float] = (0.8, 1.25)
    pitch_probability: float = 0.5
    pitch_semitones: tuple[float, float] = (-2.0, 2.0)
    warp_probability: float = 0.5
    warp: tuple[float, float] = (0.88, 1.12)
    reverb_probability: float = 0.5
    rt60: tuple[float, float] = (0.1, 0.8)
    band_probability: float = 0.5
    highpass_hz: tuple[float, float] = (60.0, 400.0)
    lowpass_hz: tuple[float, float] = (3000.0, 7500.0)
    noise_probability: float = 0.6
    snr_db: tuple[float, float] = (-5.0, 20.0)
    gain_probability: float = 0.8
    gain_db: tuple[float, float] = (-12.0, 6.0)
    shift_ms: float = 150.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name.endswith("_probability") and not 0.0 <= value <= 1.0:
                raise KwsError(f"RealisticConfig.{name} must be in [0, 1], got {value}")
            if isinstance(value, tuple) and not (np.all(np.isfinite(value))
                                                 and value[0] <= value[1]):
                raise KwsError(f"RealisticConfig.{name} must be a finite (low, high) range")
        if self.shift_ms < 0:
            raise KwsError(f"RealisticConfig.shift_ms must be >= 0, got {self.shift_ms}")


def _peak_normalized(y: np.ndarray, peak: float = 0.25) -> np.ndarray:
    """Scale to a fixed peak, so gain (not the engine's level) sets the loudness; -12 dBFS
    leaves room for noise at -5 dB SNR and +6 dB gain without clipping."""
    top = float(np.max(np.abs(y))) if y.size else 0.0
    return (y * (peak / top)).astype(np.float32) if top > 0 else y.astype(np.float32)


def realistic(audio: np.ndarray, rng: np.random.Generator, noise_bank: list[np.ndarray],
              config: RealisticConfig = RealisticConfig(), *,
              sample_rate: int = DEFAULT_SAMPLE_RATE, length: int | None = None) -> np.ndarray:
    """One random trip of a clean clip towards a real recording, as int16 ``[length]``.

    Parameters
    ----------
    audio
        Float audio in [-1, 1] (or int16, scaled by 1/32768), e.g. a TTS clip.
    rng
        Source of every random choice.
    noise_bank
        int16 background clips to mix in (none: no noise step).
    config
        Which steps, how likely, how strong.
    sample_rate
        Rate of ``audio``.
    length
        Window length in samples (default: 1 s).

    Returns
    -------
    np.ndarray
        int16: tempo, pitch, warp, band limit and room applied (each with its probability),
        the clip placed in the window with a random shift, then noise at a random SNR and a
        random gain.
    """
    c = config
    n = sample_rate if length is None else length
    y = np.asarray(audio)
    y = y.astype(np.float32) / 32768.0 if y.dtype == np.int16 else y.astype(np.float32)
    # Draw every decision up front, in a fixed order, so the stream of random numbers does
    # not depend on the audio.
    tempo = rng.uniform(*c.tempo) if rng.random() < c.tempo_probability else None
    pitch = rng.uniform(*c.pitch_semitones) if rng.random() < c.pitch_probability else None
    warp = rng.uniform(*c.warp) if rng.random() < c.warp_probability else None
    band = ((rng.uniform(*c.highpass_hz), rng.uniform(*c.lowpass_hz))
            if rng.random() < c.band_probability else None)
    rir = (room_impulse_response(rng, float(rng.uniform(*c.rt60)), sample_rate)
           if rng.random() < c.reverb_probability else None)
    max_shift = int(c.shift_ms * sample_rate / 1000.0)
    shift = int(rng.integers(-max_shift, max_shift + 1))
    snr = rng.uniform(*c.snr_db) if noise_bank and rng.random() < c.noise_probability else None
    gain = rng.uniform(*c.gain_db) if rng.random() < c.gain_probability else None
    if tempo is not None:
        y = change_tempo(y, tempo)
    if pitch is not None:
        y = shift_pitch(y, pitch, sample_rate)
    if warp is not None:
        y = warp_vocal_tract(y, warp, sample_rate)
    if band is not None:
        y = band_limit(y, band[0], min(band[1], 0.95 * sample_rate / 2), sample_rate)
    dry = len(y)
    if rir is not None:
        y = reverberate(y, rir)
    # The dry clip is placed whole; its reverb tail runs on as far as the window goes.
    x = float_to_int16(place_in_window(_peak_normalized(y), n, shift, keep=dry))
    if snr is not None:
        x = mix_at_snr(x, random_noise_slice(noise_bank, n, rng), snr)
    if gain is not None:
        x = apply_gain(x, gain)
    return x
