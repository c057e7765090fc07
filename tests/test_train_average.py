"""The moving average of the weights that few-word training validates beside the raw ones."""

from __future__ import annotations

import numpy as np
import pytest

from kws.errors import KwsError
from kws.train_average import (
    AVERAGE_DECAY,
    FEW_WORDS_MAX,
    WeightAverage,
    averaging_enabled,
    keep_better,
    kept_scores,
)


def test_averaging_is_on_for_few_words_only() -> None:
    assert averaging_enabled("auto", ["yes", "no"])
    assert averaging_enabled("auto", [f"w{i}" for i in range(FEW_WORDS_MAX)])
    assert not averaging_enabled("auto", [f"w{i}" for i in range(FEW_WORDS_MAX + 1)])
    assert not averaging_enabled("auto", None)  # every word folder: the 12-class task
    assert averaging_enabled("on", None) and not averaging_enabled("off", ["yes"])
    with pytest.raises(KwsError, match="--weight-average must be one of"):
        averaging_enabled("sometimes", ["yes"])


def test_moving_average_by_hand() -> None:
    average = WeightAverage(0.75)
    first = [np.array([4.0, 8.0], dtype=np.float32), np.array([[1.0]], dtype=np.float32)]
    out = average.update(first)
    assert all(np.array_equal(a, w) for a, w in zip(out, first, strict=True))
    first[0][0] = 100.0  # the average holds a copy
    assert out[0][0] == 4.0
    out = average.update([np.array([0.0, 0.0]), np.array([[5.0]])])
    assert np.array_equal(out[0], [3.0, 6.0]) and np.array_equal(out[1], [[2.0]])
    out = average.update([np.array([3.0, 6.0]), np.array([[2.0]])])
    assert np.array_equal(out[0], [3.0, 6.0]) and np.array_equal(out[1], [[2.0]])
    assert 0.0 < AVERAGE_DECAY < 1.0
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(1.0)


def test_keep_better_swaps_the_average_in_only_to_score_it() -> None:
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.set_weights([np.array([[1.0], [1.0]], dtype=np.float32)])

    def evaluate(m: keras.Model) -> dict[str, float]:
        # A score that prefers small weights, so the average of 1 and 3 beats the raw 3.
        w = float(m.get_weights()[0].sum())
        return {"val_accuracy": 1.0 / w, "val_balanced_accuracy": 1.0 / w}

    average = WeightAverage(0.5)
    row = {"val_balanced_accuracy": 0.5, "val_accuracy": 0.5}
    assert keep_better(row, model, evaluate, None) == (0.5, None)
    assert "averaged" not in row and kept_scores(row) is row
    score, kept = keep_better(row, model, evaluate, average)  # first update: a tie, raw kept
    assert (score, kept, row["kept"]) == (0.5, None, "raw")
    model.set_weights([np.array([[3.0], [3.0]], dtype=np.float32)])
    row = {"val_balanced_accuracy": 1.0 / 6.0, "val_accuracy": 1.0 / 6.0}
    score, kept = keep_better(row, model, evaluate, average)
    assert row["kept"] == "averaged" and score == pytest.approx(0.25)
    assert kept is not None and np.array_equal(kept[0], [[2.0], [2.0]])
    assert kept_scores(row) is row["averaged"]
    assert np.array_equal(model.get_weights()[0], [[3.0], [3.0]])  # raw weights restored
