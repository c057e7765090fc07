"""Class weights of the training loss (``--class-weights``), on hand-made label counts."""

from __future__ import annotations

import numpy as np
import pytest

from kws.errors import KwsError
from kws.train_data import CAPPED_WEIGHT_RANGE, balanced_class_weights, class_weights_for


def _labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def test_capped_is_balanced_when_classes_are_near_balanced() -> None:
    # Counts in the proportions of the 12-class benchmark's recorded weights (0.95-1.07,
    # benchmarks/results/speech_commands.json): nothing changes.
    y = _labels([1057, 1009, 1033, 976, 1052, 1000, 985, 937, 1000, 990, 1028, 933])
    assert np.array_equal(class_weights_for(y, 12, "capped"), balanced_class_weights(y, 12))
    assert class_weights_for(y, 12, "none") is None


@pytest.mark.parametrize("counts", [
    [30, 83, 135, 123],     # the bundled sample (kws demo): few silence clips
    [350, 1400, 345, 325],  # yes/no benchmark: unknown 4x the keywords
    [10, 0, 400, 20],       # an empty class keeps weight 0
])
def test_capped_weights_stay_in_range(counts: list[int]) -> None:
    y = _labels(counts)
    balanced = balanced_class_weights(y, len(counts))
    capped = class_weights_for(y, len(counts), "capped")
    assert capped is not None
    present = np.array(counts) > 0
    low, high = CAPPED_WEIGHT_RANGE
    clipped = np.clip(balanced[present], low, high)
    # Clipped, then one common scale so the mean weight per example stays 1.
    assert np.allclose(capped[present] / clipped, capped[present][0] / clipped[0])
    assert np.mean(capped[y]) == pytest.approx(1.0)
    assert np.all(capped[~present] == 0)
    assert capped[present].max() / capped[present].min() <= high / low + 1e-9
    # The order of the classes' weights is the balanced one (rarer weighs more).
    assert np.all(np.diff(capped[present][np.argsort(balanced[present])]) >= 0)


def test_demo_sample_weights_by_hand() -> None:
    y = _labels([30, 83, 135, 123])
    # balanced: 371 / (4 * n) = 3.0917, 1.1175, 0.6870, 0.7541; silence clipped to 2.
    clipped = np.array([2.0, 371 / 332, 371 / 540, 371 / 492])
    scale = 371 / float(np.sum(clipped * [30, 83, 135, 123]))
    assert class_weights_for(y, 4, "capped") == pytest.approx(clipped * scale)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(KwsError, match="unknown class weighting"):
        class_weights_for(_labels([1, 2]), 2, "sqrt")
