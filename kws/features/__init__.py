"""Feature front ends.  Everything host-side computes features here, through the C core.

Two front ends exist, each a frozen config dataclass plus a streaming class:

- ``micro``: TFLM's micro frontend (:mod:`kws.features.micro`), uint16 ``[frames, channels]``;
- ``mfcc``: the MLPerf Tiny / Hello Edge MFCC (:mod:`kws.features.mfcc`), float32
  ``[frames, n_mfcc]``.

``compute_features`` turns int16 audio into raw features; ``to_model_input`` scales raw
features into the float values a model is trained on.  Everything from raw features to the
int8 model input (scales, zero points, windows) is the input contract,
:mod:`kws.features.quantize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kws.features.mfcc import MfccConfig, mfcc_features
from kws.features.micro import MicroFrontendConfig, micro_features
from kws.features.quantize import (
    MICRO_FEATURE_SCALE,
    FrontendConfig,
    InputContract,
    frontend_kind,
    num_features,
    to_model_input,
)

# The name earlier releases used for the micro frontend's feature scale.
MICRO_INPUT_SCALE = MICRO_FEATURE_SCALE


def frontend_config(name: str, **params: Any) -> FrontendConfig:
    """Build a frontend config by name (``"micro"`` or ``"mfcc"``) from keyword parameters."""
    return frontend_kind(name).config_type(**params)


def frontend_from_dict(d: dict[str, Any]) -> FrontendConfig:
    """Inverse of ``config.to_dict()`` (the form stored in ``model.json``)."""
    d = dict(d)
    return frontend_config(d.pop("type"), **d)


def compute_features(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """Raw features of an int16 clip: uint16 (micro) or float32 (mfcc), ``[frames, channels]``."""
    return frontend_kind(config).compute(audio, config)


def num_frames(num_samples: int, config: FrontendConfig) -> int:
    """Frames produced for a clip of ``num_samples`` (0 when shorter than one window)."""
    size, step = config.window_size, config.window_step
    return 0 if num_samples < size else 1 + (num_samples - size) // step


def num_channels(config: FrontendConfig) -> int:
    """Feature width: filterbank channels (micro) or MFCC coefficients (mfcc)."""
    return num_features(config)


__all__ = [
    "FrontendConfig",
    "InputContract",
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
