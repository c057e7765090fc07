"""Averaged weights for :func:`kws.train.fit`: an exponential moving average of the weights
at the end of each epoch, validated beside the raw weights.

A few-word dataset gives a small validation set (about 30 clips per keyword in the Speech
Commands subset) and an epoch-to-epoch validation curve that jumps by several points; the
average of the last epochs' weights smooths that noise out of the kept model.  Both the raw
and the averaged weights are scored on validation every epoch, so the averaged ones are kept
only where validation prefers them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kws.errors import KwsError

# Few-word tasks: at most this many keywords (TFLM's micro_speech has 2) turn averaging on
# under ``weight_average="auto"``; the 10-word task keeps the raw weights.
FEW_WORDS_MAX = 4
# Per-epoch decay of the average: the last ~10 epochs carry most of the weight.
AVERAGE_DECAY = 0.9
WEIGHT_AVERAGE_MODES = ("auto", "on", "off")


def averaging_enabled(mode: str, words: list[str] | None) -> bool:
    """Whether ``weight_average`` ``mode`` averages for the keyword list ``words``
    (``None``: every word folder, not a few-word task)."""
    if mode not in WEIGHT_AVERAGE_MODES:
        raise KwsError(f"--weight-average must be one of {', '.join(WEIGHT_AVERAGE_MODES)}, "
                       f"got {mode!r}")
    if mode == "auto":
        return words is not None and len(words) <= FEW_WORDS_MAX
    return mode == "on"


def kept_scores(row: dict[str, Any]) -> dict[str, Any]:
    """The validation scores of the weights :func:`kws.train.fit` kept for history ``row``
    (its ``averaged`` scores when it kept the average)."""
    return row["averaged"] if row.get("kept") == "averaged" else row


class WeightAverage:
    """Exponential moving average of a Keras model's weights (BatchNorm statistics
    included), updated once per epoch with ``decay``; the first update copies the weights."""

    def __init__(self, decay: float = AVERAGE_DECAY) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.weights: list[np.ndarray] | None = None

    def update(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        """Fold ``weights`` into the average; returns the new average."""
        if self.weights is None:
            self.weights = [np.array(w, copy=True) for w in weights]
        else:
            self.weights = [self.decay * a + (1.0 - self.decay) * np.asarray(w)
                            for a, w in zip(self.weights, weights, strict=True)]
        return self.weights

    def score(self, model: Any, evaluate: Any) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Fold ``model``'s weights in, then ``evaluate(model)`` with the average swapped
        in (the raw weights are restored after).  Returns that result and the average."""
        raw = model.get_weights()
        average = self.update(raw)
        model.set_weights(average)
        try:
            return evaluate(model), average
        finally:
            model.set_weights(raw)


def keep_better(row: dict[str, Any], model: Any, evaluate: Any, average: WeightAverage | None
                ) -> tuple[float, list[np.ndarray] | None]:
    """The validation balanced accuracy of the better of ``model``'s raw weights (scored in
    ``row``) and, with ``average``, the updated average (its scores added to ``row`` as
    ``averaged``, the choice as ``kept``); the averaged weights when they win, else ``None``."""
    score = float(row["val_balanced_accuracy"])
    if average is None:
        return score, None
    row["averaged"], averaged = average.score(model, evaluate)
    row["kept"] = "raw"
    if row["averaged"]["val_balanced_accuracy"] > score:
        row["kept"] = "averaged"
        return float(row["averaged"]["val_balanced_accuracy"]), averaged
    return score, None
