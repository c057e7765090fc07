"""Tables of the MFCC front end, computed once on the host.

Everything is computed in numpy float64 and stored as float32, then handed to the C core
(through cffi on the host, as baked ``const`` arrays on the board).  The C code therefore
never evaluates ``cos`` or ``log`` while building a front end, and glibc/newlib differences
cannot leak into the features.

The tables reproduce TensorFlow's MFCC recipe:

- window: ``tf.signal.hann_window(window_size, periodic=True)``;
- mel matrix: ``tf.signal.linear_to_mel_weight_matrix(num_mel_bins, fft_size // 2 + 1,
  sample_rate, lower_hz, upper_hz)`` (HTK mel scale ``1127 * ln(1 + f / 700)``, DC bin zeroed);
- DCT: ``tf.signal.mfccs_from_log_mel_spectrograms``, i.e. the unnormalised DCT-II
  ``2 * cos(pi * k * (2n + 1) / (2N))`` times ``1 / sqrt(2N)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kws.features.mfcc import MfccConfig


@dataclass(frozen=True)
class MfccTables:
    """Every constant the C MFCC front end needs (see ``firmware/core/mfcc/mfcc.h``).

    Attributes
    ----------
    sample_rate : int
        Audio sample rate in Hz.
    window_size : int
        Analysis window length in samples (``KwsMfccWindowConfig.size``).
    window_step : int
        Hop between frames in samples (``KwsMfccWindowConfig.step``).
    fft_size : int
        FFT length N, a power of two >= ``window_size``.
    num_spectrum_bins : int
        ``fft_size // 2 + 1``.
    num_mel_bins : int
        Mel channels.
    num_mfcc : int
        Coefficients kept per frame.
    log_offset : float
        Added to every mel value before the log (a float32 value, stored as a Python float).
    window : np.ndarray
        float32 ``[window_size]``, periodic Hann window.
    twiddles : np.ndarray
        float32 ``[fft_size // 2, 2]``: ``cos(2 pi k / N)``, ``sin(2 pi k / N)``.
    mel_bin_starts : np.ndarray
        int16 ``[num_mel_bins]``: first FFT bin with a non-zero weight in each channel.
    mel_bin_counts : np.ndarray
        int16 ``[num_mel_bins]``: number of FFT bins in each channel (0 for an empty channel).
    mel_weights : np.ndarray
        float32 ``[sum(mel_bin_counts)]``: channel 0's weights, then channel 1's, ...
    mel_matrix : np.ndarray
        float32 ``[num_spectrum_bins, num_mel_bins]``, the dense equivalent of the three
        sparse arrays above (for reference and tests; the C core does not use it).
    dct_matrix : np.ndarray
        float32 ``[num_mel_bins, num_mfcc]``, row-major: ``mfcc[k] = sum_n logmel[n] * D[n, k]``.
    """

    sample_rate: int
    window_size: int
    window_step: int
    fft_size: int
    num_spectrum_bins: int
    num_mel_bins: int
    num_mfcc: int
    log_offset: float
    window: np.ndarray
    twiddles: np.ndarray
    mel_bin_starts: np.ndarray
    mel_bin_counts: np.ndarray
    mel_weights: np.ndarray
    mel_matrix: np.ndarray
    dct_matrix: np.ndarray


def hann_window(size: int) -> np.ndarray:
    """Periodic Hann window ``0.5 - 0.5 * cos(2 pi n / size)``, float64 ``[size]``."""
    n = np.arange(size, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / size)


def fft_twiddles(fft_size: int) -> np.ndarray:
    """``[fft_size // 2, 2]`` float64 table of ``cos, sin`` of ``2 pi k / fft_size``."""
    theta = 2.0 * np.pi * np.arange(fft_size // 2, dtype=np.float64) / fft_size
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def hertz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale as TensorFlow defines it: ``1127 * ln(1 + hz / 700)``."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_weight_matrix(
    num_mel_bins: int,
    num_spectrum_bins: int,
    sample_rate: int,
    lower_hz: float,
    upper_hz: float,
) -> np.ndarray:
    """``tf.signal.linear_to_mel_weight_matrix`` in float64, ``[num_spectrum_bins, num_mel_bins]``.

    Triangles are built in the mel domain over ``num_mel_bins + 2`` evenly spaced edges; the
    DC bin always gets zero weight.
    """
    nyquist = sample_rate / 2.0
    # TF drops the DC bin before computing the slopes and pads it back as a zero row.
    bin_hz = np.linspace(0.0, nyquist, num_spectrum_bins)[1:]
    bin_mel = hertz_to_mel(bin_hz)[:, None]
    edges = np.linspace(hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, num_mel_bins)), weights], axis=0)


def dct_matrix(num_mel_bins: int, num_mfcc: int) -> np.ndarray:
    """TF's MFCC DCT, float64 ``[num_mel_bins, num_mfcc]``.

    ``tf.signal.mfccs_from_log_mel_spectrograms`` takes the unnormalised DCT-II
    (``2 * sum_n x[n] cos(pi k (2n + 1) / 2N)``) and multiplies by ``1 / sqrt(2N)``.
    """
    n = np.arange(num_mel_bins, dtype=np.float64)[:, None]
    k = np.arange(num_mfcc, dtype=np.float64)[None, :]
    basis = 2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * num_mel_bins))
    return basis / math.sqrt(2.0 * num_mel_bins)


def sparse_mel_weights(
    mel_matrix: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a dense ``[bins, channels]`` float32 matrix into (starts, counts, weights).

    Each channel keeps the run from its first to its last non-zero weight (triangles have no
    interior zeros, so nothing non-zero is dropped and the run is short).
    """
    starts: list[int] = []
    counts: list[int] = []
    weights: list[np.ndarray] = []
    for column in mel_matrix.T:
        nonzero = np.flatnonzero(column)
        if len(nonzero) == 0:
            starts.append(0)
            counts.append(0)
            continue
        first, last = int(nonzero[0]), int(nonzero[-1])
        starts.append(first)
        counts.append(last - first + 1)
        weights.append(column[first : last + 1])
    flat = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32)
    return (
        np.asarray(starts, dtype=np.int16),
        np.asarray(counts, dtype=np.int16),
        np.ascontiguousarray(flat, dtype=np.float32),
    )


def build_mfcc_tables(config: MfccConfig) -> MfccTables:
    """Compute every table of a validated ``config`` (see ``kws.features.mfcc.mfcc_tables``)."""
    c = config
    num_spectrum_bins = c.fft_length // 2 + 1
    mel = mel_weight_matrix(
        c.num_mel_bins, num_spectrum_bins, c.sample_rate, float(c.lower_hz), float(c.upper_hz)
    )
    mel32 = mel.astype(np.float32)
    starts, counts, weights = sparse_mel_weights(mel32)
    return MfccTables(
        sample_rate=c.sample_rate,
        window_size=c.window_size,
        window_step=c.window_step,
        fft_size=c.fft_length,
        num_spectrum_bins=num_spectrum_bins,
        num_mel_bins=c.num_mel_bins,
        num_mfcc=c.num_mfcc,
        log_offset=float(np.float32(c.log_offset)),
        window=hann_window(c.window_size).astype(np.float32),
        twiddles=np.ascontiguousarray(fft_twiddles(c.fft_length), dtype=np.float32),
        mel_bin_starts=starts,
        mel_bin_counts=counts,
        mel_weights=weights,
        mel_matrix=mel32,
        dct_matrix=np.ascontiguousarray(dct_matrix(c.num_mel_bins, c.num_mfcc), np.float32),
    )
