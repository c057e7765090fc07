"""Tables of the micro frontend, computed once on the host.

TensorFlow's ``audio_microfrontend`` op builds its tables at start-up in C, mixing float and
double arithmetic.  We reproduce that arithmetic exactly here (numpy float32 where the C
code stores a ``float``, float64 where it calls ``cos``/``log1p``/``floor``) and hand the
integer tables to the C core, on the host through cffi and on the board as baked ``const``
arrays.  The device therefore never needs libm to build a frontend, and glibc/newlib
differences cannot change a single bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kws.features.micro import MicroFrontendConfig

F32 = np.float32

WINDOW_BITS = 12
FILTERBANK_BITS = 12
NOISE_REDUCTION_BITS = 14
PCAN_SNR_BITS = 12
PCAN_LUT_SIZE = 125
_INDEX_ALIGNMENT = 2  # 4-byte alignment of int16 indices
_CHANNEL_BLOCK = 4


@dataclass(frozen=True)
class MicroFrontendTables:
    """Everything the C micro frontend needs besides its config integers."""

    window_size: int
    window_step: int
    fft_size: int
    window: np.ndarray  # int16 [window_size]
    twiddles: np.ndarray  # int16 [fft_size // 2, 2]
    super_twiddles: np.ndarray  # int16 [fft_size // 4, 2]
    num_channels: int
    start_index: int
    end_index: int
    channel_frequency_starts: np.ndarray  # int16 [num_channels + 1]
    channel_weight_starts: np.ndarray  # int16 [num_channels + 1]
    channel_widths: np.ndarray  # int16 [num_channels + 1]
    weights: np.ndarray  # int16
    unweights: np.ndarray  # int16
    smoothing_bits: int
    even_smoothing: int
    odd_smoothing: int
    min_signal_remaining: int
    enable_pcan: bool
    snr_shift: int
    gain_lut: np.ndarray  # int16 [125]
    enable_log: bool
    scale_shift: int


def window_coefficients(size: int) -> np.ndarray:
    """Q12 Hann window as ``WindowPopulateState`` computes it."""
    arg = F32(math.pi * 2.0 / float(F32(size)))  # stored in a float
    out = np.empty(size, dtype=np.int16)
    for i in range(size):
        value = F32(0.5 - 0.5 * math.cos(float(arg) * (i + 0.5)))
        out[i] = math.floor(float(value * F32(1 << WINDOW_BITS)) + 0.5)
    return out


def _kiss_cexp(phase: float) -> tuple[int, int]:
    return (math.floor(0.5 + 32767 * math.cos(phase)), math.floor(0.5 + 32767 * math.sin(phase)))


def fft_twiddles(fft_size: int) -> tuple[np.ndarray, np.ndarray]:
    """KissFFT fixed-point twiddles for a real FFT of ``fft_size`` (forward)."""
    ncfft = fft_size // 2
    pi = 3.14159265358979323846264338327
    tw = np.array([_kiss_cexp(-2 * pi * i / ncfft) for i in range(ncfft)], dtype=np.int16)
    super_tw = np.array(
        [_kiss_cexp(-pi * ((i + 1) / ncfft + 0.5)) for i in range(ncfft // 2)], dtype=np.int16
    )
    return tw, super_tw.reshape(-1, 2)


def _freq_to_mel(freq: np.float32) -> np.float32:
    return F32(1127.0 * math.log1p(float(freq) / 700.0))


def filterbank_tables(
    num_channels: int, lower_hz: float, upper_hz: float, sample_rate: int, spectrum_size: int
) -> dict:
    """Mel filterbank index and Q12 weight tables as ``FilterbankPopulateState`` lays them out."""
    lower, upper = F32(lower_hz), F32(upper_hz)
    n1 = num_channels + 1
    mel_low, mel_hi = _freq_to_mel(lower), _freq_to_mel(upper)
    # TensorFlow spaces num_channels + 1 centres evenly; the last one sits on upper_hz.
    mel_spacing = F32((mel_hi - mel_low) / F32(n1))
    centers = [F32(mel_low + F32(mel_spacing * F32(i + 1))) for i in range(n1)]
    hz_per_sbin = F32(0.5 * sample_rate / float(F32(spectrum_size) - F32(1)))
    start_index = int(1.5 + float(F32(lower / hz_per_sbin)))

    freq_starts = np.zeros(n1, np.int16)
    weight_starts = np.zeros(n1, np.int16)
    widths = np.zeros(n1, np.int16)
    actual_starts, actual_widths = [], []
    chan_freq_start = start_index
    weight_index = 0
    needs_zeros = False
    for chan in range(n1):
        freq = chan_freq_start
        while _freq_to_mel(F32(F32(freq) * hz_per_sbin)) <= centers[chan]:
            freq += 1
        width = freq - chan_freq_start
        actual_starts.append(chan_freq_start)
        actual_widths.append(width)
        if width == 0:
            # An empty channel reads a block of zero weights placed at the front.
            freq_starts[chan] = 0
            weight_starts[chan] = 0
            widths[chan] = _CHANNEL_BLOCK
            if not needs_zeros:
                needs_zeros = True
                weight_starts[:chan] += _CHANNEL_BLOCK
                weight_index += _CHANNEL_BLOCK
        else:
            aligned_start = (chan_freq_start // _INDEX_ALIGNMENT) * _INDEX_ALIGNMENT
            aligned_width = chan_freq_start - aligned_start + width
            padded = ((aligned_width - 1) // _CHANNEL_BLOCK + 1) * _CHANNEL_BLOCK
            freq_starts[chan] = aligned_start
            weight_starts[chan] = weight_index
            widths[chan] = padded
            weight_index += padded
        chan_freq_start = freq

    weights = np.zeros(weight_index, np.int16)
    unweights = np.zeros(weight_index, np.int16)
    end_index = 0
    for chan in range(n1):
        freq = actual_starts[chan]
        offset = freq - int(freq_starts[chan])
        denom = mel_low if chan == 0 else centers[chan - 1]
        for j in range(actual_widths[chan]):
            mel = _freq_to_mel(F32(F32(freq) * hz_per_sbin))
            w = F32(F32(centers[chan] - mel) / F32(centers[chan] - denom))
            k = int(weight_starts[chan]) + offset + j
            weights[k] = math.floor(float(w * F32(1 << FILTERBANK_BITS)) + 0.5)
            unweights[k] = math.floor((1.0 - float(w)) * (1 << FILTERBANK_BITS) + 0.5)
            freq += 1
        end_index = max(end_index, freq)
    if end_index >= spectrum_size:
        raise ValueError("filterbank upper band limit is above the spectrum (raise the FFT size)")
    return dict(
        start_index=start_index,
        end_index=end_index,
        channel_frequency_starts=freq_starts,
        channel_weight_starts=weight_starts,
        channel_widths=widths,
        weights=weights,
        unweights=unweights,
    )


def pcan_gain_lut(strength: float, offset: float, gain_bits: int, input_bits: int) -> np.ndarray:
    """125-entry piecewise-quadratic gain LUT (``PcanGainControlPopulateState``)."""

    def gain(x: int) -> int:
        x_f = F32(F32(x) / F32(2**input_bits))
        base = float(F32(x_f + F32(offset)))
        g = F32(float(1 << gain_bits) * math.pow(base, -float(F32(strength))))
        if g > 32767:
            return 32767
        return int(F32(g + F32(0.5)))

    lut = np.zeros(PCAN_LUT_SIZE + 6, np.int32)  # index i here is C's (lut - 6)[i] + 6
    lut[6 + 0] = gain(0)
    lut[6 + 1] = gain(1)
    for interval in range(2, 33):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == 32 else 2 * x0
        y0, y1, y2 = gain(x0), gain(x1), gain(x2)
        diff1, diff2 = y1 - y0, y2 - y0
        a1 = 4 * diff1 - diff2
        a2 = diff2 - a1
        lut[4 * interval] = y0
        lut[4 * interval + 1] = a1
        lut[4 * interval + 2] = a2
    out = lut[6 : 6 + PCAN_LUT_SIZE]
    return out.astype(np.int16)


def _q14(fraction: float) -> int:
    """A noise reduction fraction in Q14, truncated from float32 as TensorFlow does."""
    return int(float(F32(fraction)) * (1 << NOISE_REDUCTION_BITS))


def micro_frontend_tables(config: MicroFrontendConfig) -> MicroFrontendTables:
    """Compute every micro frontend table for one (validated) configuration."""
    c = config
    tw, super_tw = fft_twiddles(c.fft_length)
    fb = filterbank_tables(
        c.num_channels, c.lower_hz, c.upper_hz, c.sample_rate, c.fft_length // 2 + 1
    )
    input_bits = c.smoothing_bits - c.correction_bits
    return MicroFrontendTables(
        window_size=c.window_size,
        window_step=c.window_step,
        fft_size=c.fft_length,
        window=window_coefficients(c.window_size),
        twiddles=tw,
        super_twiddles=super_tw,
        num_channels=c.num_channels,
        smoothing_bits=c.smoothing_bits,
        even_smoothing=_q14(c.even_smoothing),
        odd_smoothing=_q14(c.odd_smoothing),
        min_signal_remaining=_q14(c.min_signal_remaining),
        enable_pcan=c.enable_pcan,
        snr_shift=c.gain_bits - c.correction_bits - PCAN_SNR_BITS,
        gain_lut=pcan_gain_lut(c.pcan_strength, c.pcan_offset, c.gain_bits, input_bits),
        enable_log=c.enable_log,
        scale_shift=c.scale_shift,
        **fb,
    )
