"""MFCC front end (MLPerf Tiny / Hello Edge recipe) through the C core."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MfccConfig:
    """MLPerf Tiny KWS MFCC defaults: 30 ms Hann window, 20 ms hop, 40 mels, 10 coefficients,
    20-4000 Hz, ``log(mel + 1e-6)``.  ``fft_size`` 0 means the next power of two."""

    sample_rate: int = 16000
    window_ms: int = 30
    step_ms: int = 20
    fft_size: int = 0
    num_mel_bins: int = 40
    num_mfcc: int = 10
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    log_offset: float = 1e-6

    def to_dict(self) -> dict:
        return {"type": "mfcc", **asdict(self)}
