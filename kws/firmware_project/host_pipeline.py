"""The firmware's pipeline replayed on the host: the SCORES a board sends for a clip.

The host-side twin of the firmware's feature quantization is :func:`quantize_features`
(the input contract of :mod:`kws.features.quantize`, the mirror of
``firmware/app/feature_quantize.c``); :func:`host_scores` reproduces, on the host, the
SCORES the firmware sends for a clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kws import protocol


def feature_scale(frontend: Any) -> float:
    """Raw feature -> model float input factor (micro: 10/256, MFCC: 1)."""
    from kws.features.quantize import feature_scale as contract_feature_scale

    return contract_feature_scale(frontend)


def quantize_features(features: np.ndarray, frontend: Any, scale: float, zero_point: int
                      ) -> np.ndarray:
    """int8 model input from raw frontend features, exactly as the firmware computes it.

    The input contract's rule (:func:`kws.features.quantize.quantize_values`), the mirror of
    ``firmware/app/feature_quantize.c``.
    """
    from kws.features.quantize import quantize_values

    return quantize_values(features, feature_scale(frontend), scale, zero_point)


def inference_frames(num_frames: int, window_frames: int, stride_frames: int) -> list[int]:
    """Frame counts after which the firmware runs the model (window full, then every stride)."""
    from kws.features.quantize import inference_ends

    return inference_ends(num_frames, window_frames, stride_frames)


def host_scores(audio: np.ndarray, project: dict[str, Any], model_path: str | Path,
                engine: str = "tflm") -> list[protocol.Scores]:
    """The SCORES the firmware reports for ``audio``, computed on the host.

    Host frontend (C core) -> the input contract (quantize, windows every
    ``stride_frames``) -> ``engine`` (``tflm`` or ``native``).
    """
    from kws.engines import run_model
    from kws.features.quantize import InputContract

    ends, windows = InputContract.from_dict(project).stream_inputs(audio)
    outputs = run_model(engine, model_path, list(windows)) if ends else []
    return [protocol.Scores(e, o.reshape(-1)) for e, o in zip(ends, outputs, strict=True)]
