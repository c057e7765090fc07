"""The golden reference for the firmware's scores: the host frontend and the input contract
(:class:`kws.features.quantize.InputContract`) feeding an interpreter (``tflm``: the
tflite-micro Python interpreter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kws import protocol


def contract_scores(audio: np.ndarray, project: dict[str, Any], model_path: str | Path,
                    engine: str = "tflm") -> list[protocol.Scores]:
    """The SCORES a firmware built from ``project`` must send for ``audio``: the input
    contract's windows (every ``stride_frames`` once full) run by ``engine``."""
    from kws.engines import run_model
    from kws.features.quantize import InputContract

    ends, windows = InputContract.from_dict(project).stream_inputs(audio)
    outputs = run_model(engine, model_path, list(windows)) if ends else []
    return [protocol.Scores(e, o.reshape(-1)) for e, o in zip(ends, outputs, strict=True)]
