"""The firmware's pipeline replayed on the host: the SCORES a board sends for a clip.

The host-side twin of the firmware's feature quantization is :func:`quantize_features`
(the same float32 steps as ``firmware/app/feature_quantize.c``); :func:`host_scores`
reproduces, on the host, the SCORES the firmware sends for a clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kws import protocol


def feature_scale(frontend: Any) -> float:
    """Raw feature -> model float input factor (micro: 10/256, MFCC: 1)."""
    from kws.features import MICRO_INPUT_SCALE, MicroFrontendConfig

    return MICRO_INPUT_SCALE if isinstance(frontend, MicroFrontendConfig) else 1.0


def quantize_features(features: np.ndarray, frontend: Any, scale: float, zero_point: int
                      ) -> np.ndarray:
    """int8 model input from raw frontend features, exactly as the firmware computes it.

    ``clamp(sign(q) * floor(|q| + 0.5) + zero_point)`` with ``q = (raw * feature_scale) /
    scale`` in float32: :func:`kws.features.to_model_input` then
    :func:`kws.export.quantize_inputs`, the path training evaluation uses, so host
    evaluation and the board agree bit for bit.
    """
    from kws.export import quantize_inputs
    from kws.features import to_model_input

    return quantize_inputs(to_model_input(np.asarray(features), frontend), scale, zero_point)


def inference_frames(num_frames: int, window_frames: int, stride_frames: int) -> list[int]:
    """Frame counts after which the firmware runs the model (window full, then every stride)."""
    if num_frames < window_frames:
        return []
    return list(range(window_frames, num_frames + 1, stride_frames))


def host_scores(audio: np.ndarray, project: dict[str, Any], model_path: str | Path,
                engine: str = "tflm") -> list[protocol.Scores]:
    """The SCORES the firmware reports for ``audio``, computed on the host.

    Host frontend (C core) -> :func:`quantize_features` -> windows every ``stride_frames``
    -> ``engine`` (``tflm`` or ``native``).
    """
    from kws.engines import run_model
    from kws.features import compute_features, frontend_from_dict

    frontend = frontend_from_dict(project["frontend"])
    q = quantize_features(compute_features(audio, frontend), frontend,
                          project["input_scale"], project["input_zero_point"])
    ends = inference_frames(len(q), project["frames"], project["stride_frames"])
    windows = [q[e - project["frames"] : e] for e in ends]
    outputs = run_model(engine, model_path, windows) if windows else []
    return [protocol.Scores(e, o.reshape(-1)) for e, o in zip(ends, outputs, strict=True)]
