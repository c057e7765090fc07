"""The micro frontend (TFLM micro_speech features) through the C core."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kws._core import lib
from kws.features._config import (
    FrontendConfigBase,
    FrontendConfigError,
    next_fft_size,
)
from kws.features._stream import CoreFrontend
from kws.features.c_structs import MICRO_FRONTEND_CONFIG
from kws.features.micro_tables import (
    FILTERBANK_BITS,
    PCAN_SNR_BITS,
    MicroFrontendTables,
    micro_frontend_tables,
)


class MicroFrontendConfigError(FrontendConfigError):
    """An invalid micro frontend parameter (a ``ValueError`` and a ``KwsError``)."""


@dataclass(frozen=True)
class MicroFrontendConfig(FrontendConfigBase):
    """Parameters of the micro frontend; defaults are TFLM micro_speech's (30/20/40, PCAN on).

    Construction validates the parameters (:class:`MicroFrontendConfigError`, naming the bad
    field and value), including the C core's build-time capacity (``KWS_MAX_WINDOW_SIZE``,
    ``KWS_MAX_FFT_SIZE``, ``KWS_MAX_CHANNELS``).
    """

    kind = "micro"
    what = "micro frontend"
    error = MicroFrontendConfigError

    num_channels: int = 40
    lower_hz: float = 125.0
    upper_hz: float = 7500.0
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    enable_pcan: bool = True
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    gain_bits: int = 21
    enable_log: bool = True
    scale_shift: int = 6

    def _validate(self) -> None:
        self._check_types(
            ("sample_rate", "window_ms", "step_ms", "num_channels", "smoothing_bits",
             "gain_bits", "scale_shift"),
            ("lower_hz", "upper_hz", "even_smoothing", "odd_smoothing", "min_signal_remaining",
             "pcan_strength", "pcan_offset"),
            ("enable_pcan", "enable_log"),
        )
        self._check_window()
        self._check_fft_capacity(self.fft_length)
        self._check_range("num_channels", 1, lib.KWS_MAX_CHANNELS, " (KWS_MAX_CHANNELS)")
        # The filterbank's last bin must lie below the Nyquist bin.
        self._check_band(upper_inclusive=False)
        self._check_range("smoothing_bits", 0, 31, " (a uint32 shift)")
        for name in ("even_smoothing", "odd_smoothing", "min_signal_remaining"):
            self._check_range(name, 0, 1, " (a Q14 fraction)")
        if self.enable_pcan:
            if not self.pcan_offset > 0:
                self._fail(f"pcan_offset must be positive, got {self.pcan_offset}")
            if not self.pcan_strength >= 0:
                self._fail(f"pcan_strength must not be negative, got {self.pcan_strength}")
            # The C core shifts the uint64 SNR right by gain_bits - correction - SNR bits.
            low = self.correction_bits + PCAN_SNR_BITS
            self._check_range("gain_bits", low, low + 63,
                              f" for a {self.fft_length}-point FFT (PCAN's SNR shift)")
        if self.enable_log:
            self._check_range("scale_shift", 0, 11, " (the scaled log must fit 32 bits)")

    @property
    def fft_length(self) -> int:
        """The FFT size: the next power of two >= the window."""
        return next_fft_size(self.window_size)

    @property
    def correction_bits(self) -> int:
        """Bits the log stage shifts the filterbank back by (the FFT scales by 1/size; the C
        core computes the same in ``kws_micro_frontend_init``)."""
        return self.fft_length.bit_length() - 1 - FILTERBANK_BITS // 2

    @property
    def num_features(self) -> int:
        """Filterbank channels per frame."""
        return self.num_channels


@lru_cache(maxsize=32)
def tables_for(config: MicroFrontendConfig) -> MicroFrontendTables:
    """Tables for ``config`` (cached: building them walks every FFT bin in Python)."""
    return micro_frontend_tables(config)


class MicroFrontend(CoreFrontend):
    """A streaming micro frontend: feed int16 samples, get uint16 ``[frames, channels]``.

    Holds the C state and the tables it points into; one instance per audio stream.
    """

    c_config = MICRO_FRONTEND_CONFIG
    c_state, c_prefix, out_dtype = "KwsMicroFrontendState", "kws_micro_frontend", np.uint16

    def __init__(self, config: MicroFrontendConfig | None = None) -> None:
        config = config or MicroFrontendConfig()
        super().__init__(config, tables_for(config))


def micro_features(audio: np.ndarray, config: MicroFrontendConfig | None = None) -> np.ndarray:
    """Micro frontend features of a whole int16 clip, ``[frames, channels]`` uint16.

    Frames start every ``step`` samples while a full window fits, like the TF op.
    """
    return MicroFrontend(config).process(audio)
