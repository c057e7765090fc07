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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kws._core import lib
from kws.features._config import FrontendConfigBase, FrontendConfigError, next_fft_size
from kws.features._stream import CoreFrontend
from kws.features.c_structs import MFCC_CONFIG
from kws.features.mfcc_tables import MfccTables, build_mfcc_tables


class MfccConfigError(FrontendConfigError):
    """An invalid MFCC parameter (a ``ValueError`` and a ``KwsError``)."""


@dataclass(frozen=True)
class MfccConfig(FrontendConfigBase):
    """MLPerf Tiny KWS MFCC defaults: 30 ms Hann window, 20 ms hop, 40 mels, 10 coefficients,
    20-4000 Hz, ``log(mel + 1e-6)``.  ``fft_size`` 0 means the next power of two.

    Construction validates the parameters (:class:`MfccConfigError`, a ``ValueError``,
    naming the bad field), including the C core's build-time capacity
    (``KWS_MAX_WINDOW_SIZE``, ``KWS_MAX_FFT_SIZE``, ``KWS_MAX_CHANNELS``, ``KWS_MAX_MFCC``).
    """

    kind = "mfcc"
    what = "MFCC"
    error = MfccConfigError

    fft_size: int = 0
    num_mel_bins: int = 40
    num_mfcc: int = 10
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    log_offset: float = 1e-6

    def _validate(self) -> None:
        self._check_types(
            ("sample_rate", "window_ms", "step_ms", "fft_size", "num_mel_bins", "num_mfcc"),
            ("lower_hz", "upper_hz", "log_offset"),
        )
        self._check_window()
        fft = self.fft_length
        if self.fft_size != 0 and (fft < 4 or fft & (fft - 1)):
            self._fail(f"fft_size must be 0 or a power of two >= 4, got {fft}")
        if fft < self.window_size:
            self._fail(f"fft_size ({fft}) is smaller than the window "
                       f"({self.window_size} samples)")
        self._check_fft_capacity(fft)
        self._check_range("num_mel_bins", 1, lib.KWS_MAX_CHANNELS, " (KWS_MAX_CHANNELS)")
        if not 1 <= self.num_mfcc <= min(self.num_mel_bins, lib.KWS_MAX_MFCC):
            self._fail(f"num_mfcc must be 1..min(num_mel_bins={self.num_mel_bins}, "
                       f"KWS_MAX_MFCC={lib.KWS_MAX_MFCC}), got {self.num_mfcc}")
        self._check_band(upper_inclusive=True)
        if not np.float32(self.log_offset) > 0:
            self._fail(f"log_offset must be positive in float32, got {self.log_offset}")

    @property
    def fft_length(self) -> int:
        """The FFT size in use: ``fft_size``, or the next power of two >= the window."""
        return self.fft_size or next_fft_size(self.window_size)

    @property
    def num_features(self) -> int:
        """MFCC coefficients per frame."""
        return self.num_mfcc


@lru_cache(maxsize=32)
def mfcc_tables(config: MfccConfig | None = None) -> MfccTables:
    """All tables and sizes of ``config`` (default ``MfccConfig()``), as numpy arrays.

    The result is what the C core consumes; the firmware emitter bakes the same arrays as C
    ``const`` data.  Cached per config; treat the arrays as read-only.
    """
    tables = build_mfcc_tables(config or MfccConfig())
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


class MfccFrontend(CoreFrontend):
    """A streaming MFCC front end: feed int16 samples, get float32 ``[frames, num_mfcc]``.

    Holds the C state and the tables it points into; one instance per audio stream.  Frames
    start every ``window_step`` samples while a whole window fits, so feeding a clip in any
    chunking gives the same bits as one call.
    """

    c_config, c_state, c_prefix, out_dtype = MFCC_CONFIG, "KwsMfccState", "kws_mfcc", np.float32

    def __init__(self, config: MfccConfig | None = None) -> None:
        config = config or MfccConfig()
        super().__init__(config, mfcc_tables(config))


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
