"""The micro frontend (TFLM micro_speech features) through the C core."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from kws._core import ffi, lib
from kws.features._stream import c_array, stream_frames
from kws.features.micro_tables import MicroFrontendTables, micro_frontend_tables


@dataclass(frozen=True)
class MicroFrontendConfig:
    """Parameters of the micro frontend; defaults are TFLM micro_speech's (30/20/40, PCAN on)."""

    sample_rate: int = 16000
    window_ms: int = 30
    step_ms: int = 20
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

    @property
    def window_size(self) -> int:
        return self.window_ms * self.sample_rate // 1000

    @property
    def window_step(self) -> int:
        return self.step_ms * self.sample_rate // 1000

    def to_dict(self) -> dict:
        return {"type": "micro", **asdict(self)}


@lru_cache(maxsize=32)
def tables_for(config: MicroFrontendConfig) -> MicroFrontendTables:
    """Tables for ``config`` (cached: building them walks every FFT bin in Python)."""
    return micro_frontend_tables(
        **{k: v for k, v in asdict(config).items()}
    )


class MicroFrontend:
    """A streaming micro frontend: feed int16 samples, get uint16 frames.

    Holds the C state and the tables it points into; one instance per audio stream.
    """

    def __init__(self, config: MicroFrontendConfig | None = None) -> None:
        self.config = config or MicroFrontendConfig()
        t = tables_for(self.config)
        self.tables = t
        # Keep every buffer the C config points to alive as long as this object.
        self._keep = [
            np.ascontiguousarray(a)
            for a in (
                t.window,
                t.twiddles,
                t.super_twiddles,
                t.channel_frequency_starts,
                t.channel_weight_starts,
                t.channel_widths,
                t.weights,
                t.unweights,
                t.gain_lut,
            )
        ]
        (window, tw, stw, fstarts, wstarts, widths, weights, unweights, lut) = self._keep

        def i16(a: np.ndarray):
            return c_array("int16_t", a)

        def cpx(a: np.ndarray):
            return c_array("KwsComplexInt16", a)

        cfg = ffi.new("KwsMicroFrontendConfig*")
        cfg.window.size = t.window_size
        cfg.window.step = t.window_step
        cfg.window.coefficients = i16(window)
        cfg.fft.input_size = t.window_size
        cfg.fft.fft_size = t.fft_size
        cfg.fft.twiddles = cpx(tw)
        cfg.fft.super_twiddles = cpx(stw)
        fb = cfg.filterbank
        fb.num_channels = t.num_channels
        fb.start_index = t.start_index
        fb.end_index = t.end_index
        fb.channel_frequency_starts = i16(fstarts)
        fb.channel_weight_starts = i16(wstarts)
        fb.channel_widths = i16(widths)
        fb.weights = i16(weights)
        fb.unweights = i16(unweights)
        nr = cfg.noise_reduction
        nr.num_channels = t.num_channels
        nr.smoothing_bits = t.smoothing_bits
        nr.even_smoothing = t.even_smoothing
        nr.odd_smoothing = t.odd_smoothing
        nr.min_signal_remaining = t.min_signal_remaining
        cfg.pcan.enable_pcan = int(t.enable_pcan)
        cfg.pcan.num_channels = t.num_channels
        cfg.pcan.snr_shift = t.snr_shift
        cfg.pcan.gain_lut = i16(lut)
        cfg.log_scale.enable_log = int(t.enable_log)
        cfg.log_scale.scale_shift = t.scale_shift
        self._cfg = cfg
        self._state = ffi.new("KwsMicroFrontendState*")
        if not lib.kws_micro_frontend_init(self._state, cfg):
            raise ValueError(
                f"micro frontend config exceeds the C core's capacity: {self.config}"
            )

    @property
    def num_channels(self) -> int:
        return self.tables.num_channels

    def reset(self) -> None:
        """Start a new stream (clears buffered audio and the noise estimate)."""
        lib.kws_micro_frontend_reset(self._state)

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Stream ``samples`` (int16) in; return the frames completed, ``[n, channels]`` uint16."""
        return stream_frames(
            lib.kws_micro_frontend_process_all, self._state, samples,
            window_size=self.tables.window_size, window_step=self.tables.window_step,
            width=self.num_channels, dtype=np.uint16, out_ctype="uint16_t",
            what="micro frontend",
        )


def micro_features(audio: np.ndarray, config: MicroFrontendConfig | None = None) -> np.ndarray:
    """Micro frontend features of a whole int16 clip, ``[frames, channels]`` uint16.

    Frames start every ``step`` samples while a full window fits, like the TF op.
    """
    return MicroFrontend(config).process(audio)
