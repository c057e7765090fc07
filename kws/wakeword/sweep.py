"""The firmware's detection rule replayed on kept scores, and the sweep over its settings.

:class:`RuleMirror` is ``firmware/app/score_average.c`` in numpy: the average of the last
``average_count`` int8 score vectors per label, truncated toward zero (C's int32 division);
the keyword label (mask as ``kws deploy`` builds it) with the highest average detects when it
reaches ``threshold_q``, the lowest label on ties; no decision until the history is full,
and none until ``suppress`` inferences have passed since the last detection.  The moving
averages depend only on ``average_count``, so one pass per count serves every threshold and
suppression; the suppression walk (:func:`suppressed`) is vectorized by pointer doubling, so a
candidate costs a few numpy passes over its hits, however many detections it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kws.detector import DetectorSettings
from kws.errors import KwsError

DEFAULT_AVERAGES = (1, 2, 3, 4, 5, 6, 8)
DEFAULT_SUPPRESS = (3, 5, 10, 15)  # inferences: 0.6-3 s at the default stride (200 ms)
MIN_THRESHOLD = 0.3  # lowest probability swept (every int8 step from here up)
TOLERANCE_S = 1.0  # a word is found by a detection until this long after its end
_NEVER = np.iinfo(np.int32).min


def keyword_mask(labels: Sequence[str]) -> np.ndarray:
    """Labels the firmware may detect: not ``_silence_``/``_unknown_`` (all when none is)."""
    mask = np.array([not label.startswith("_") for label in labels], bool)
    return mask if mask.any() else np.ones(len(labels), bool)


@dataclass(frozen=True)
class Detections:
    """Detections as inference indices into a stream's scores, labels and int8 averages."""

    index: np.ndarray  # int64
    labels: np.ndarray  # int64
    averages: np.ndarray  # int64

    def as_list(self, frames: np.ndarray) -> list[tuple[int, int, int]]:
        """``(frame_index, label, average)`` as :meth:`HostEvents.detection_list` gives."""
        return [(int(frames[i]), int(lab), int(a))
                for i, lab, a in zip(self.index, self.labels, self.averages, strict=True)]


def best_averages(scores: np.ndarray, mask: np.ndarray, count: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per inference of one fresh stream: the keyword label with the highest average of the
    last ``count`` int8 score vectors, and that average (``_NEVER`` until ``count`` vectors
    were seen)."""
    n = len(scores)
    sums = np.cumsum(np.vstack([np.zeros((1, scores.shape[1]), np.int64), scores]), axis=0)
    window = np.zeros_like(scores)
    if n >= count:
        window[count - 1:] = sums[count:] - sums[:n - count + 1]
    average = np.sign(window) * (np.abs(window) // count)  # C division: toward zero
    masked = np.where(mask, average, _NEVER)
    label = np.argmax(masked, axis=1) if n else np.zeros(0, np.int64)
    value = masked[np.arange(n), label]
    value[:count - 1] = _NEVER
    return label, value


class RuleMirror:
    """``score_average.c`` over int8 ``scores`` [inferences, labels] of a stream whose
    parts (fresh app states) begin at inferences ``part_starts``."""

    def __init__(self, scores: np.ndarray, mask: np.ndarray,
                 part_starts: Sequence[int] = (0,)) -> None:
        self.scores = np.asarray(scores, np.int64)
        self.mask = np.asarray(mask, bool)
        bounds = [*part_starts, len(self.scores)]
        self.parts = list(zip(bounds, bounds[1:], strict=False))
        self._best: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def best(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """:func:`best_averages` part by part (cached per ``count``)."""
        if count not in self._best:
            pieces = [best_averages(self.scores[a:b], self.mask, count) for a, b in self.parts]
            self._best[count] = (np.concatenate([p[0] for p in pieces]).astype(np.int64),
                                 np.concatenate([p[1] for p in pieces]).astype(np.int64))
        return self._best[count]

    def detections(self, count: int, threshold_q: int, suppress: int) -> Detections:
        """What the firmware detects with these settings."""
        label, value = self.best(count)
        step = max(1, suppress)  # a detection at i allows the next at i + suppress
        index = np.concatenate([
            a + suppressed(np.flatnonzero(value[a:b] >= threshold_q), step)
            for a, b in self.parts]).astype(np.int64)
        return Detections(index, label[index], value[index])


def suppressed(hits: np.ndarray, step: int) -> np.ndarray:
    """The hits (sorted inference indices) that detect: the first, then each first hit at
    least ``step`` after the last detection.

    The detections form a chain ``0, next[0], next[next[0]], ...`` through ``next[i]`` = the
    first hit ``step`` after hit ``i``; pointer doubling finds the chain in log2(hits)
    vectorized rounds instead of one Python step per detection."""
    n = len(hits)
    jump = np.append(np.searchsorted(hits, hits + step, "left"), n)  # n: past the end
    on_chain = np.zeros(n + 1, bool)
    on_chain[0] = True
    reach = 1  # on_chain holds the first `reach` chain steps
    while reach <= n:
        on_chain[jump[on_chain]] = True
        jump = jump[jump]
        reach *= 2
    return hits[np.flatnonzero(on_chain[:n])].astype(np.int64)


@dataclass(frozen=True)
class WordMatch:
    """Detections of a positive stream against its planted words."""

    missed: np.ndarray  # indices of words with no detection of the wake word
    extra: int  # detections that found no word (wrong label, outside, or a repeat)


def match_words(times: np.ndarray, labels: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                wake: int, tolerance_s: float = TOLERANCE_S) -> WordMatch:
    """A word is found when a detection of label ``wake`` lies in ``[start, end +
    tolerance_s]`` (word windows do not overlap: the streams' gaps are longer)."""
    window = np.searchsorted(starts, times, "right") - 1
    inside = (window >= 0) & (labels == wake)
    inside[inside] = times[inside] <= ends[window[inside]] + tolerance_s
    found = np.unique(window[inside])
    missed = np.setdiff1d(np.arange(len(starts)), found)
    return WordMatch(missed, int(len(times) - len(found)))


@dataclass(frozen=True)
class Candidate:
    """One setting's results: false accepts on the negative stream (per hour), misses on
    the positive stream (FRR), detections of the positive stream that found no word."""

    settings: DetectorSettings
    threshold_q: int
    false_accepts: int
    fa_per_hour: float
    misses: int
    frr: float
    positive_extra: int

    def to_dict(self) -> dict:
        return {"settings": self.settings.to_dict(), "threshold_q": self.threshold_q,
                "false_accepts": self.false_accepts, "fa_per_hour": self.fa_per_hour,
                "misses": self.misses, "frr": self.frr, "positive_extra": self.positive_extra}


def threshold_for(q: int, scale: float, zero_point: int) -> float:
    """The probability whose int8 threshold (:meth:`DetectorSettings.threshold_q`) is ``q``:
    ``(q - zero_point) * scale``, nudged down where float rounding would round it up."""
    p = float((q - zero_point) * scale)
    settings = DetectorSettings(threshold=min(p, 1.0))
    while settings.threshold_q(scale, zero_point) > q:
        settings = DetectorSettings(threshold=float(np.nextafter(settings.threshold, 0)))
    if settings.threshold_q(scale, zero_point) != q:
        raise KwsError(f"no threshold probability gives int8 threshold {q} (scale {scale}, "
                       f"zero point {zero_point})")
    return settings.threshold


def threshold_steps(scale: float, zero_point: int, lowest: float = MIN_THRESHOLD) -> list[int]:
    """Every int8 threshold from probability ``lowest`` up to 127 within (0, 1]."""
    first = DetectorSettings(threshold=lowest).threshold_q(scale, zero_point)
    return [q for q in range(first, 128) if 0 < (q - zero_point) * scale <= 1.0]


@dataclass
class SweepInput:
    """Everything the sweep needs from the two scored streams."""

    negative: RuleMirror
    negative_hours: float
    positive: RuleMirror
    positive_times: np.ndarray  # end time (s) of each positive-stream inference
    starts: np.ndarray  # planted words' speech start / end (s)
    ends: np.ndarray
    wake: int  # label index of the wake word
    stride_frames: int
    scale: float
    zero_point: int


def sweep(data: SweepInput, averages: Sequence[int] = DEFAULT_AVERAGES,
          suppress: Sequence[int] = DEFAULT_SUPPRESS,
          thresholds_q: Sequence[int] | None = None) -> list[Candidate]:
    """Every ``average_count × threshold × suppress_inferences`` candidate's results."""
    steps = thresholds_q or threshold_steps(data.scale, data.zero_point)
    words = max(1, len(data.starts))
    out = []
    for count in averages:
        for q in steps:
            threshold = threshold_for(q, data.scale, data.zero_point)
            for sup in suppress:
                settings = DetectorSettings(count, threshold, sup, data.stride_frames)
                neg = data.negative.detections(count, q, sup)
                pos = data.positive.detections(count, q, sup)
                match = match_words(data.positive_times[pos.index], pos.labels, data.starts,
                                    data.ends, data.wake)
                out.append(Candidate(settings, q, len(neg.index),
                                     len(neg.index) / data.negative_hours, len(match.missed),
                                     len(match.missed) / words, match.extra))
    return out


def choose(candidates: Sequence[Candidate], target_fa_per_hour: float
           ) -> tuple[Candidate, bool]:
    """The lowest-FRR candidate with FA/h <= target (ties: lower FA/h, smaller average,
    longer stride (fewer inferences), higher threshold, longer suppression) and True; when
    none meets the target, the lowest-FA/h candidate (ties: lower FRR, then as above) and
    False.

    Longer suppression wins ties: one loud event (a word, a laugh) keeps the score high for
    several inferences, and a short refractory turns it into several false accepts; a stream
    with none at the chosen threshold cannot show that, the next hour may."""
    if not candidates:
        raise KwsError("calibration: no candidate settings to choose from")

    def tail(c: Candidate) -> tuple:
        s = c.settings
        return (s.average_count, -s.stride_frames, -c.threshold_q, -s.suppress_inferences)

    meeting = [c for c in candidates if c.fa_per_hour <= target_fa_per_hour]
    if meeting:
        return min(meeting, key=lambda c: (c.frr, c.fa_per_hour, *tail(c))), True
    return min(candidates, key=lambda c: (c.fa_per_hour, c.frr, *tail(c))), False
