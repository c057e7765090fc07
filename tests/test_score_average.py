"""``firmware/app/score_average.c`` (the firmware's detection rule) built for the host and
checked against a Python model of its documented rule on random score sequences: the mean
of the last ``count`` int8 score vectors, truncated toward zero; a keyword label (mask) whose
mean reaches ``threshold`` is detected (the highest mean, the lowest label on ties), and none
until ``suppress`` inferences have passed since the last detection."""

from __future__ import annotations

import shutil
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.detection import expected_detections
from support.host_c import compile_cffi

APP = Path(__file__).resolve().parents[1] / "firmware" / "app"

CDEF = """
typedef struct {
  int num_labels; int count; int32_t threshold; int suppress;
  const uint8_t* keyword_mask; int8_t* history; int32_t* sums;
} KwsScoreAverageConfig;
typedef struct { KwsScoreAverageConfig config; int next; int filled; int since_detect; }
  KwsScoreAverageState;
void kws_score_average_init(KwsScoreAverageState*, const KwsScoreAverageConfig*);
void kws_score_average_reset(KwsScoreAverageState*);
int kws_score_average_update(KwsScoreAverageState*, const int8_t*, int32_t*);
"""


@pytest.fixture(scope="module")
def score_average(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if not (shutil.which("gcc") or shutil.which("cc")):
        pytest.skip("no host C compiler (gcc)")
    return compile_cffi("_kws_score_average", CDEF, "score_average.h",
                        [APP / "score_average.c"], [APP], tmp_path_factory.mktemp("sa"))


class Detector:
    """The C detector with its caller-owned buffers."""

    def __init__(self, module: Any, num_labels: int, count: int, threshold: int,
                 suppress: int, mask: list[int]) -> None:
        ffi, lib = module.ffi, module.lib
        self.ffi, self.lib, self.num_labels = ffi, lib, num_labels
        self._mask = ffi.new("uint8_t[]", mask)
        self._history = ffi.new("int8_t[]", count * num_labels)
        self._sums = ffi.new("int32_t[]", num_labels)
        config = ffi.new("KwsScoreAverageConfig*", {
            "num_labels": num_labels, "count": count, "threshold": threshold,
            "suppress": suppress, "keyword_mask": self._mask, "history": self._history,
            "sums": self._sums})
        self.state = ffi.new("KwsScoreAverageState*")
        lib.kws_score_average_init(self.state, config)

    def update(self, scores: np.ndarray) -> tuple[int, int] | None:
        average = self.ffi.new("int32_t*", -999)
        label = self.lib.kws_score_average_update(
            self.state, self.ffi.new("int8_t[]", [int(v) for v in scores]), average)
        return None if label < 0 else (label, average[0])


class Rule:
    """The rule as documented, in plain Python integers."""

    def __init__(self, count: int, threshold: int, suppress: int, mask: list[int]) -> None:
        self.count, self.threshold, self.suppress, self.mask = count, threshold, suppress, mask
        self.reset()

    def reset(self) -> None:
        self.history: deque[list[int]] = deque(maxlen=self.count)
        self.since = self.suppress

    def update(self, scores: np.ndarray) -> tuple[int, int] | None:
        self.history.append([int(v) for v in scores])
        self.since = min(self.since + 1, self.suppress)
        if len(self.history) < self.count or self.since < self.suppress:
            return None
        n = len(self.history)
        best = None
        for label, column in enumerate(zip(*self.history, strict=True)):
            total = sum(column)
            mean = abs(total) // n * (1 if total >= 0 else -1)  # toward zero, as C's `/`
            if self.mask[label] and mean >= self.threshold and (best is None or mean > best[1]):
                best = (label, mean)
        if best is not None:
            self.since = 0
        return best


def _case(rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    num_labels = int(rng.integers(1, 7))
    params = {"num_labels": num_labels, "count": int(rng.integers(1, 6)),
              "threshold": int(rng.integers(-40, 100)), "suppress": int(rng.integers(0, 6)),
              "mask": [int(v) for v in rng.integers(0, 2, num_labels)]}
    # Slowly drifting scores with noise: averages cross the threshold now and then.
    drift = np.cumsum(rng.integers(-12, 13, (120, num_labels)), axis=0)
    scores = np.clip(drift + rng.integers(-30, 31, drift.shape) + 20, -128, 127)
    return params, scores.astype(np.int8)


def test_score_average_equals_the_rule_on_random_sequences(score_average: Any) -> None:
    rng = np.random.default_rng(20261130)
    detections = 0
    for case in range(300):
        params, scores = _case(rng)
        c = Detector(score_average, **params)
        rule = Rule(params["count"], params["threshold"], params["suppress"], params["mask"])
        for step, vector in enumerate(scores):
            got, want = c.update(vector), rule.update(vector)
            assert got == want, (case, step, params)
            detections += got is not None
        # Reset starts over: history empty, no suppression pending.
        score_average.lib.kws_score_average_reset(c.state)
        rule.reset()
        for vector in scores[:20]:
            assert c.update(vector) == rule.update(vector)
    assert detections > 1000  # the rule was exercised, not only "nothing detected"


def test_truncation_toward_zero_mask_and_suppression(score_average: Any) -> None:
    # Means -3.5 and 3.5 truncate to -3 and 3 (floor would give -4 for the first).
    c = Detector(score_average, num_labels=3, count=2, threshold=-3, suppress=0, mask=[0, 1, 1])
    assert c.update(np.array([100, -3, 3], np.int8)) is None  # history not yet full
    assert c.update(np.array([100, -4, 4], np.int8)) == (2, 3)  # label 0 is masked off
    c = Detector(score_average, num_labels=2, count=2, threshold=3, suppress=0, mask=[1, 1])
    assert c.update(np.array([-3, 3], np.int8)) is None
    assert c.update(np.array([-4, 3], np.int8)) == (1, 3)  # -3 (not -4) < 3; tie-free
    # Suppression: after a detection, none for `suppress` inferences, then again.
    c = Detector(score_average, num_labels=1, count=1, threshold=0, suppress=3, mask=[1])
    hits = [c.update(np.array([50], np.int8)) for _ in range(8)]
    assert [h is not None for h in hits] == [True, False, False, True, False, False, True, False]
    # Equal means: the lower label wins.
    c = Detector(score_average, num_labels=3, count=1, threshold=0, suppress=0, mask=[1, 1, 1])
    assert c.update(np.array([7, 9, 9], np.int8)) == (1, 9)


def test_python_replay_used_by_the_qemu_tests_is_the_same_rule(score_average: Any) -> None:
    """tests/support/detection.py replays the firmware's detections; it must agree too."""
    rng = np.random.default_rng(7)
    labels = ["_silence_", "_unknown_", "yes", "no", "up"]
    mask = [0, 0, 1, 1, 1]

    class Scores:
        def __init__(self, frame_index: int, scores: np.ndarray) -> None:
            self.frame_index, self.scores = frame_index, scores

    for _ in range(50):
        params, scores = _case(rng)
        count, threshold, suppress = params["count"], params["threshold"], params["suppress"]
        scores = np.clip(scores[:, :1].astype(int) + rng.integers(-40, 41, (len(scores), 5)),
                         -128, 127).astype(np.int8)
        c = Detector(score_average, 5, count, threshold, suppress, mask)
        got = [(i, *hit) for i, v in enumerate(scores) if (hit := c.update(v)) is not None]
        cfg = {"labels": labels, "average_count": count, "threshold_q": threshold,
               "suppress_inferences": suppress}
        replay = expected_detections([Scores(i, v) for i, v in enumerate(scores)], cfg)
        assert got == replay
