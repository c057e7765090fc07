"""Feature front ends.  Everything host-side computes features here, through the C core.

Two front ends exist, each a frozen config dataclass plus a streaming class:

- ``micro``: TFLM's micro frontend (:mod:`kws.features.micro`), uint16 ``[frames, channels]``;
- ``mfcc``: the MLPerf Tiny / Hello Edge MFCC (:mod:`kws.features.mfcc`), float32
  ``[frames, n_mfcc]``.

``compute_features`` turns int16 audio into raw features; ``to_model_input`` scales raw
features into the float values a model is trained on (and from which the int8 input is
quantized).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kws.features.mfcc import MfccConfig, mfcc_features
from kws.features.micro import MicroFrontendConfig, micro_features

FrontendConfig = MicroFrontendConfig | MfccConfig

# micro_speech's training scale: uint16 log-mel values * 10/256 -> roughly 0..26.
MICRO_INPUT_SCALE = 10.0 / 256.0


def frontend_config(name: str, **params: Any) -> FrontendConfig:
    """Build a frontend config by name (``"micro"`` or ``"mfcc"``) from keyword parameters."""
    if name == "micro":
        return MicroFrontendConfig(**params)
    if name == "mfcc":
        return MfccConfig(**params)
    raise ValueError(f"unknown frontend {name!r} (expected 'micro' or 'mfcc')")


def frontend_from_dict(d: dict[str, Any]) -> FrontendConfig:
    """Inverse of ``config.to_dict()`` (the form stored in ``model.json``)."""
    d = dict(d)
    return frontend_config(d.pop("type"), **d)


def compute_features(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Raw features of an int16 clip: uint16 (micro) or float32 (mfcc), ``[frames, channels]``."""
    if isinstance(config, MicroFrontendConfig):
        return micro_features(audio, config)
    return mfcc_features(audio, config)


def to_model_input(features: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Float32 model input from raw features (micro: x * 10/256; mfcc: unchanged)."""
    if isinstance(config, MicroFrontendConfig):
        return features.astype(np.float32) * np.float32(MICRO_INPUT_SCALE)
    return features.astype(np.float32)


def num_frames(num_samples: int, config: FrontendConfig) -> int:
    """Frames produced for a clip of ``num_samples`` (0 when shorter than one window)."""
    size = config.window_ms * config.sample_rate // 1000
    step = config.step_ms * config.sample_rate // 1000
    return 0 if num_samples < size else 1 + (num_samples - size) // step


def num_channels(config: FrontendConfig) -> int:
    """Feature width: filterbank channels (micro) or MFCC coefficients (mfcc)."""
    if isinstance(config, MicroFrontendConfig):
        return config.num_channels
    return config.num_mfcc


__all__ = [
    "FrontendConfig",
    "MfccConfig",
    "MicroFrontendConfig",
    "compute_features",
    "frontend_config",
    "frontend_from_dict",
    "micro_features",
    "mfcc_features",
    "num_channels",
    "num_frames",
    "to_model_input",
]
