"""Classification metrics (balanced accuracy, false accepts) and balanced class weights, checked
against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kws.evaluate import classification_metrics, metrics_summary
from kws.train import balanced_class_weights

LABELS = ["_silence_", "_unknown_", "yes", "no"]
# rows: true label, columns: predicted label
CONFUSION = np.array([
    [8, 0, 2, 0],   # silence: 10 clips, 2 heard as "yes"
    [1, 30, 6, 3],  # unknown: 40 clips, 9 heard as a keyword
    [0, 1, 18, 1],  # yes: 20 clips
    [0, 5, 0, 5],   # no: 10 clips
])


def clips_of(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = [], []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            y_true += [i] * int(count)
            y_pred += [j] * int(count)
    order = np.random.default_rng(0).permutation(len(y_true))
    return np.array(y_true)[order], np.array(y_pred)[order]


def test_metrics_on_a_hand_made_confusion_matrix() -> None:
    m = classification_metrics(*clips_of(CONFUSION), LABELS)
    assert m["confusion"] == CONFUSION.tolist()
    assert m["n"] == 80
    assert m["accuracy"] == pytest.approx((8 + 30 + 18 + 5) / 80)
    recalls = {"_silence_": 0.8, "_unknown_": 0.75, "yes": 0.9, "no": 0.5}
    for label, recall in recalls.items():
        assert m["per_class"][label]["recall"] == pytest.approx(recall)
        assert m["per_class"][label]["n"] == CONFUSION[LABELS.index(label)].sum()
    assert m["per_class"]["yes"]["precision"] == pytest.approx(18 / 26)
    assert m["balanced_accuracy"] == pytest.approx((0.8 + 0.75 + 0.9 + 0.5) / 4)
    # a keyword predicted for a silence/unknown clip is a false accept; unknown <-> silence
    # confusions are not
    assert m["false_accepts"] == {"_silence_": pytest.approx(2 / 10),
                                  "_unknown_": pytest.approx(9 / 40)}
    assert m["false_accept_rate"] == pytest.approx(11 / 50)
    line = metrics_summary(m)
    assert "balanced accuracy 0.7375" in line and "false accepts 22.0%" in line
    assert "_unknown_ 22.5%" in line and "no 50%" in line


def test_metrics_without_reject_classes_or_examples() -> None:
    m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ["on", "off"])
    assert m["false_accept_rate"] is None and m["false_accepts"] == {}
    assert m["balanced_accuracy"] == pytest.approx((1.0 + 0.5) / 2)
    # no silence clips: its rate is undefined, the total covers the unknown clips only
    m = classification_metrics(np.array([1, 1, 2]), np.array([2, 1, 2]), LABELS)
    assert m["false_accepts"] == {"_silence_": None, "_unknown_": 0.5}
    assert m["false_accept_rate"] == 0.5
    assert m["per_class"]["_silence_"]["recall"] is None
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)


def test_balanced_class_weights() -> None:
    y = np.array([0] * 10 + [1] * 40 + [2] * 20 + [3] * 10)
    w = balanced_class_weights(y, 5)
    assert w.tolist() == pytest.approx([2.0, 0.5, 1.0, 2.0, 0.0])
    totals = [w[c] * np.sum(y == c) for c in range(4)]
    assert totals == pytest.approx([20.0] * 4)  # each class weighs the same in the loss
    assert np.mean(w[y]) == pytest.approx(1.0)
