"""The firmware's detection rule (``firmware/app/score_average.c``) replayed in Python."""

from __future__ import annotations

from typing import Any

import numpy as np


def expected_detections(scores: list, cfg: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(frame_index, label, average) of every DETECTION the firmware sends for ``scores``
    (objects with ``frame_index`` and int8 ``scores``), under ``project.json`` ``cfg``."""
    history: list[np.ndarray] = []
    since = cfg["suppress_inferences"]
    mask = [not lab.startswith("_") for lab in cfg["labels"]]
    out = []
    for s in scores:
        history = ([*history, s.scores.astype(np.int32)])[-cfg["average_count"]:]
        since = min(since + 1, cfg["suppress_inferences"])
        if len(history) < cfg["average_count"] or since < cfg["suppress_inferences"]:
            continue
        avg = np.fix(np.sum(history, axis=0) / len(history)).astype(np.int32)
        best = [(a, i) for i, a in enumerate(avg) if mask[i] and a >= cfg["threshold_q"]]
        if best:
            a, i = max(best, key=lambda t: (t[0], -t[1]))
            out.append((s.frame_index, i, int(a)))
            since = 0
    return out
