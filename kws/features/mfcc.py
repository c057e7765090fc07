"""MFCC front end (MLPerf Tiny / Hello Edge recipe) through the C core.

The features are computed by ``firmware/core/mfcc`` (compiled into ``kws._core``), the same
C code that runs on the board, from float32 tables built by :mod:`kws.features.mfcc_tables`.
They match TensorFlow's recipe::

    stft = tf.signal.stft(audio / 32768, window, step, fft, tf.signal.hann_window)
    mel = tf.abs(stft) @ tf.signal.linear_to_mel_weight_matrix(mels, fft // 2 + 1, sr, lo, hi)
    mfcc = tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6))[..., :n]

to float32 rounding (the C core has its own FFT, log and sqrt, so it is bit-identical across
targets but not bit-identical to TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from kws._core import ffi, lib
from kws.errors import KwsError
from kws.features._stream import c_array, stream_frames
from kws.features.mfcc_tables import MfccTables, build_mfcc_tables


class MfccConfigError(KwsError, ValueError):
    """An invalid MFCC parameter: a ``ValueError`` for library callers, and a ``KwsError``
    so the CLI reports it as one clear line."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return _is_int(value) or isinstance(value, (float, np.floating))


@dataclass(frozen=True)
class MfccConfig:
    """MLPerf Tiny KWS MFCC defaults: 30 ms Hann window, 20 ms hop, 40 mels, 10 coefficients,
    20-4000 Hz, ``log(mel + 1e-6)``.  ``fft_size`` 0 means the next power of two.

    Construction validates the parameters (:class:`MfccConfigError`, a ``ValueError``,
    naming the bad field), including the C core's build-time capacity
    (``KWS_MAX_WINDOW_SIZE``, ``KWS_MAX_FFT_SIZE``, ``KWS_MAX_CHANNELS``, ``KWS_MAX_MFCC``).
    """

    sample_rate: int = 16000
    window_ms: int = 30
    step_ms: int = 20
    fft_size: int = 0
    num_mel_bins: int = 40
    num_mfcc: int = 10
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    log_offset: float = 1e-6

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        for name in ("sample_rate", "window_ms", "step_ms", "fft_size", "num_mel_bins", "num_mfcc"):
            if not _is_int(getattr(self, name)):
                raise MfccConfigError(
                    f"MFCC config: {name} must be an integer, got {getattr(self, name)!r}"
                )
        for name in ("lower_hz", "upper_hz", "log_offset"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value):
                raise MfccConfigError(f"MFCC config: {name} must be a finite number, got {value!r}")
        if self.sample_rate <= 0:
            raise MfccConfigError(
                f"MFCC config: sample_rate must be positive, got {self.sample_rate}"
            )
        if self.window_ms <= 0 or self.step_ms <= 0:
            raise MfccConfigError(
                f"MFCC config: window_ms and step_ms must be positive, got {self.window_ms} and "
                f"{self.step_ms}"
            )
        if self.step_ms > self.window_ms:
            raise MfccConfigError(
                f"MFCC config: step_ms ({self.step_ms}) must not exceed "
                f"window_ms ({self.window_ms})"
            )
        if self.window_size < 2 or self.window_step < 1:
            raise MfccConfigError(
                f"MFCC config: {self.window_ms} ms window / {self.step_ms} ms step at "
                f"{self.sample_rate} Hz is under 2 / 1 samples"
            )
        if self.window_size > lib.KWS_MAX_WINDOW_SIZE:
            raise MfccConfigError(
                f"MFCC config: window of {self.window_size} samples exceeds the C core's "
                f"KWS_MAX_WINDOW_SIZE ({lib.KWS_MAX_WINDOW_SIZE})"
            )
        fft = self.fft_length
        if self.fft_size != 0 and (fft < 4 or fft & (fft - 1)):
            raise MfccConfigError(
                f"MFCC config: fft_size must be 0 or a power of two >= 4, got {fft}"
            )
        if fft < self.window_size:
            raise MfccConfigError(
                f"MFCC config: fft_size ({fft}) is smaller than the window "
                f"({self.window_size} samples)"
            )
        if fft > lib.KWS_MAX_FFT_SIZE:
            raise MfccConfigError(
                f"MFCC config: FFT size {fft} exceeds the C core's KWS_MAX_FFT_SIZE "
                f"({lib.KWS_MAX_FFT_SIZE})"
            )
        if not 1 <= self.num_mel_bins <= lib.KWS_MAX_CHANNELS:
            raise MfccConfigError(
                f"MFCC config: num_mel_bins must be 1..{lib.KWS_MAX_CHANNELS} "
                f"(KWS_MAX_CHANNELS), got {self.num_mel_bins}"
            )
        if not 1 <= self.num_mfcc <= min(self.num_mel_bins, lib.KWS_MAX_MFCC):
            raise MfccConfigError(
                f"MFCC config: num_mfcc must be 1..min(num_mel_bins={self.num_mel_bins}, "
                f"KWS_MAX_MFCC={lib.KWS_MAX_MFCC}), got {self.num_mfcc}"
            )
        nyquist = self.sample_rate / 2
        if not 0.0 <= self.lower_hz < self.upper_hz <= nyquist:
            raise MfccConfigError(
                f"MFCC config: need 0 <= lower_hz < upper_hz <= sample_rate / 2 ({nyquist:g}), got "
                f"lower_hz={self.lower_hz}, upper_hz={self.upper_hz}"
            )
        if not np.float32(self.log_offset) > 0:
            raise MfccConfigError(
                f"MFCC config: log_offset must be positive in float32, got {self.log_offset}"
            )

    @property
    def window_size(self) -> int:
        """Window length in samples."""
        return self.window_ms * self.sample_rate // 1000

    @property
    def window_step(self) -> int:
        """Hop in samples."""
        return self.step_ms * self.sample_rate // 1000

    @property
    def fft_length(self) -> int:
        """The FFT size in use: ``fft_size``, or the next power of two >= the window."""
        if self.fft_size:
            return self.fft_size
        return 1 << max(2, (self.window_size - 1).bit_length())

    def to_dict(self) -> dict:
        return {"type": "mfcc", **asdict(self)}


@lru_cache(maxsize=32)
def mfcc_tables(config: MfccConfig | None = None) -> MfccTables:
    """All tables and sizes of ``config`` (default ``MfccConfig()``), as numpy arrays.

    The result is what the C core consumes; the firmware emitter bakes the same arrays as C
    ``const`` data.  Cached per config; treat the arrays as read-only.
    """
    c = config or MfccConfig()
    tables = build_mfcc_tables(
        sample_rate=c.sample_rate,
        window_size=c.window_size,
        window_step=c.window_step,
        fft_size=c.fft_length,
        num_mel_bins=c.num_mel_bins,
        num_mfcc=c.num_mfcc,
        lower_hz=float(c.lower_hz),
        upper_hz=float(c.upper_hz),
        log_offset=float(c.log_offset),
    )
    for array in (
        tables.window,
        tables.twiddles,
        tables.mel_bin_starts,
        tables.mel_bin_counts,
        tables.mel_weights,
        tables.mel_matrix,
        tables.dct_matrix,
    ):
        array.flags.writeable = False
    return tables


class MfccFrontend:
    """A streaming MFCC front end: feed int16 samples, get float32 ``[frames, num_mfcc]``.

    Holds the C state and the tables it points into; one instance per audio stream.  Frames
    start every ``window_step`` samples while a whole window fits, so feeding a clip in any
    chunking gives the same bits as one call.
    """

    def __init__(self, config: MfccConfig | None = None) -> None:
        self.config = config or MfccConfig()
        t = mfcc_tables(self.config)
        self.tables = t
        # Every buffer the C config points to lives as long as this object.
        self._keep = (
            t.window,
            t.twiddles,
            t.mel_bin_starts,
            t.mel_bin_counts,
            t.mel_weights,
            t.dct_matrix,
        )

        def f32(a: np.ndarray) -> Any:
            return c_array("float", a)

        def i16(a: np.ndarray) -> Any:
            return c_array("int16_t", a)

        cfg = ffi.new("KwsMfccConfig*")
        cfg.window.size = t.window_size
        cfg.window.step = t.window_step
        cfg.window.coefficients = f32(t.window)
        cfg.fft.input_size = t.window_size
        cfg.fft.fft_size = t.fft_size
        cfg.fft.twiddles = f32(t.twiddles)
        cfg.mel.num_channels = t.num_mel_bins
        cfg.mel.num_spectrum_bins = t.num_spectrum_bins
        cfg.mel.bin_starts = i16(t.mel_bin_starts)
        cfg.mel.bin_counts = i16(t.mel_bin_counts)
        # An empty weight array still needs a valid pointer.
        weights = t.mel_weights if t.mel_weights.size else np.zeros(1, dtype=np.float32)
        self._weights = weights
        cfg.mel.weights = f32(weights)
        cfg.log_mel.num_channels = t.num_mel_bins
        cfg.log_mel.offset = t.log_offset
        cfg.dct.num_inputs = t.num_mel_bins
        cfg.dct.num_outputs = t.num_mfcc
        cfg.dct.matrix = f32(t.dct_matrix)
        self._cfg = cfg
        self._state = ffi.new("KwsMfccState*")
        if not lib.kws_mfcc_init(self._state, cfg):
            raise ValueError(f"MFCC config rejected by the C core: {self.config}")

    @property
    def num_mfcc(self) -> int:
        return self.tables.num_mfcc

    def reset(self) -> None:
        """Start a new stream (forgets buffered audio)."""
        lib.kws_mfcc_reset(self._state)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Stream int16 ``samples`` in; return the frames completed, float32 ``[n, num_mfcc]``."""
        return stream_frames(
            lib.kws_mfcc_process_all, self._state, samples,
            window_size=self.tables.window_size, window_step=self.tables.window_step,
            width=self.num_mfcc, dtype=np.float32, out_ctype="float", what="MFCC front end",
        )


def mfcc_features(audio: np.ndarray, config: MfccConfig | None = None) -> np.ndarray:
    """MFCCs of a whole int16 clip, float32 ``[frames, num_mfcc]``.

    ``frames = 1 + (len(audio) - window_size) // window_step`` (0 when shorter than a window),
    like ``tf.signal.stft(..., pad_end=False)``.
    """
    return MfccFrontend(config).process(audio)


def log_f32(x: np.ndarray) -> np.ndarray:
    """The C core's deterministic float32 natural log, element-wise (for tests and tools)."""
    v = np.asarray(x, dtype=np.float32)
    return np.asarray(np.frompyfunc(lib.kws_log_f32, 1, 1)(v), dtype=np.float32)


def sqrt_f32(x: np.ndarray) -> np.ndarray:
    """The C core's correctly rounded float32 square root, element-wise."""
    v = np.asarray(x, dtype=np.float32)
    return np.asarray(np.frompyfunc(lib.kws_sqrt_f32, 1, 1)(v), dtype=np.float32)
