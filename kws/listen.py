"""The engine behind ``kws listen``: microphone blocks at the device's rate -> soxr stream
resampler -> 16 kHz int16 -> the firmware application built for the host
(:mod:`kws.host_app`), with what a live view shows: latest probabilities, detection log,
input level, end-of-word -> detection latency, and agreement with a second engine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEVEL_FRAME_MS = 10
SPEECH_ABOVE_FLOOR_DB = 15.0  # a level this far above the noise floor starts a word
WORD_HOLD_ABOVE_FLOOR_DB = 8.0  # ... and the word lasts while the level stays this far above
FLOOR_PERCENTILE = 20  # the noise floor: this percentile of the recent frame levels
MIN_WORD_MS = 100  # shorter bursts are not words
MIN_LOUD_MS = 50  # ... nor are bursts with less than this well above the floor
MAX_LATENCY_S = 1.5  # an end of word longer ago than this is not the detected word's
FLOOR_WINDOW_S = 3  # the noise floor comes from the frame levels of this many seconds


@dataclass
class EndOfWord:
    """Energy tracker: the stream times (s) at which words (speech bursts) started and ended.

    The noise floor is a low percentile of the 10 ms frame levels of the last
    ``FLOOR_WINDOW_S``: it follows a noise that starts after digital silence within that
    window, yet a word, much shorter than the window, cannot lift it.  A word starts well
    above the floor and ends when the level falls back near it (hysteresis, so that noise
    peaks neither start words nor split them).
    """

    rate: int
    frames: int = 0
    words: list[tuple[float, float]] = field(default_factory=list)
    burst_start: float | None = None
    _burst_frames: int = 0
    _loud_frames: int = 0
    _recent_db: deque = field(default_factory=lambda: deque(maxlen=FLOOR_WINDOW_S * 100))
    _rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    @property
    def ends(self) -> list[float]:
        """End times (s) of the recent words."""
        return [end for _, end in self.words]

    def feed(self, audio: np.ndarray) -> None:
        """Track ``audio`` (int16 at :attr:`rate`), the continuation of the stream."""
        n = self.rate * LEVEL_FRAME_MS // 1000
        data = np.concatenate([self._rest, audio.astype(np.float64) / 32768.0])
        whole = len(data) // n * n
        self._rest = data[whole:]
        for frame in data[:whole].reshape(-1, n):
            db = 10 * np.log10(max(float(np.mean(frame * frame)), 1e-12))
            self._recent_db.append(db)
            self.frames += 1
            floor = float(np.percentile(self._recent_db, FLOOR_PERCENTILE))
            above = SPEECH_ABOVE_FLOOR_DB if self._burst_frames == 0 else WORD_HOLD_ABOVE_FLOOR_DB
            if db > floor + above:
                if self._burst_frames == 0:
                    self.burst_start = (self.frames - 1) * LEVEL_FRAME_MS / 1000
                self._burst_frames += 1
                self._loud_frames += db > floor + SPEECH_ABOVE_FLOOR_DB
                continue
            if (self._burst_frames * LEVEL_FRAME_MS >= MIN_WORD_MS
                    and self._loud_frames * LEVEL_FRAME_MS >= MIN_LOUD_MS):
                assert self.burst_start is not None
                self.words.append((self.burst_start, (self.frames - 1) * LEVEL_FRAME_MS / 1000))
                del self.words[:-16]
            self._burst_frames, self._loud_frames, self.burst_start = 0, 0, None

    def latency(self, time_s: float) -> float | None:
        """Seconds from the end of the word a detection at ``time_s`` belongs to until
        ``time_s`` (negative: detected before the word ended); None when that word has
        not ended yet or there is none (no word started before ``time_s`` and ended less
        than MAX_LATENCY_S before it)."""
        owners = [end for start, end in self.words
                  if start <= time_s and time_s - end <= MAX_LATENCY_S]
        return time_s - owners[-1] if owners else None

    def pending(self, time_s: float) -> bool:
        """Whether the word a detection at ``time_s`` belongs to may still end."""
        return self.burst_start is not None and self.burst_start <= time_s


@dataclass
class Agreement:
    """Host app scores vs a second engine on the same int8 windows."""

    engine: str
    inferences: int = 0
    identical: int = 0
    max_difference: int = 0


class Listener:
    """A live stream at ``device_rate`` through ``app`` (a :class:`kws.host_app.HostApp`;
    built with ``features=True`` when ``compare`` is given).

    ``compare`` runs one int8 window through a second engine (``kws.engines.open_session``).
    """

    def __init__(self, app: Any, device_rate: int, compare: tuple[str, Callable] | None = None
                 ) -> None:
        import soxr

        self.app = app
        self.device_rate = device_rate
        self._resampler = (soxr.ResampleStream(device_rate, app.sample_rate, 1, dtype="float32")
                           if device_rate != app.sample_rate else None)
        self.probabilities = np.zeros(len(app.labels))
        self.detections: list[dict[str, Any]] = []
        self.level_db = -120.0
        self.samples = 0
        self.words = EndOfWord(app.sample_rate)
        self.agreement = Agreement(compare[0]) if compare else None
        self._compare = compare[1] if compare else None
        self._ring = np.zeros((0, app.channels), np.int8)
        self._ring_frames = np.zeros(0, np.uint32)
        app.reset()

    @property
    def seconds(self) -> float:
        """Stream time heard so far (16 kHz samples processed)."""
        return self.samples / self.app.sample_rate

    def feed(self, block: np.ndarray) -> list[dict[str, Any]]:
        """One float32 block from the device; the new detections come back."""
        from kws.audio import float_to_int16
        from kws.simulate import detections_of, probabilities

        block = np.asarray(block, np.float32).reshape(-1)
        if len(block):
            self.level_db = 20 * float(np.log10(max(float(np.max(np.abs(block))), 1e-6)))
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        audio = float_to_int16(block)
        events = self.app.process(audio)
        self.samples += len(audio)
        self.words.feed(audio)
        if len(events.scores):
            self.probabilities = probabilities(self.app, events.scores[-1])
        if self._compare is not None:
            self._check_windows(events)
        new = detections_of(self.app, events)
        for det in new:
            det["latency_s"] = None
        self.detections += new
        self._resolve_latencies()
        return new

    def _resolve_latencies(self) -> None:
        """Latency of each recent detection whose word has ended by now."""
        for det in self.detections[-8:]:
            if det["latency_s"] is None and not self.words.pending(det["time_s"]):
                latency = self.words.latency(det["time_s"])
                det["latency_s"] = None if latency is None else round(latency, 3)

    def _check_windows(self, events: Any) -> None:
        """The second engine on each window the app ran its model on."""
        assert self.agreement is not None and self._compare is not None
        rows = np.concatenate([self._ring, events.features])
        frames = np.concatenate([self._ring_frames, events.feature_frames])
        for frame, scores in zip(events.score_frames, events.scores, strict=True):
            end = int(np.searchsorted(frames, frame)) + 1
            window = rows[end - self.app.frames:end]
            other = np.asarray(self._compare(window[None, :, :, None])).reshape(-1)
            diff = int(np.max(np.abs(other.astype(np.int32) - scores.astype(np.int32))))
            self.agreement.inferences += 1
            self.agreement.identical += diff == 0
            self.agreement.max_difference = max(self.agreement.max_difference, diff)
        self._ring, self._ring_frames = rows[-self.app.frames:], frames[-self.app.frames:]

    def summary(self, dropped_blocks: int) -> dict[str, Any]:
        """The ``--json`` document of a session."""
        latencies = [d["latency_s"] for d in self.detections if d["latency_s"] is not None]
        out: dict[str, Any] = {
            "detections": self.detections, "duration_s": round(self.seconds, 3),
            "device_rate": self.device_rate, "dropped_blocks": dropped_blocks,
            "latency_median_s": float(np.median(latencies)) if latencies else None,
            "settings": self.app.settings.to_dict(), "labels": self.app.labels}
        if self.agreement is not None:
            out["compare"] = vars(self.agreement).copy()
        return out

    def view(self, dropped_blocks: int) -> Any:
        """A rich renderable: score bars, level, dropped blocks, the detection log."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        bars = Table.grid(padding=(0, 1))
        threshold = self.app.settings.threshold
        for label, p in zip(self.app.labels, self.probabilities, strict=True):
            width = int(round(float(p) * 40))
            style = "bold green" if p >= threshold else "cyan"
            bars.add_row(label, Text("#" * width + "." * (40 - width), style=style),
                         f"{p:5.2f}")
        status = Text(f"{self.seconds:7.1f} s  input {self.level_db:6.1f} dBFS  "
                      f"dropped blocks {dropped_blocks}  threshold {threshold:.2f}")
        if self.agreement is not None and self.agreement.inferences:
            a = self.agreement
            status.append(f"  {a.engine}: {a.identical}/{a.inferences} identical")
        log = Table("time", "word", "score", "latency", title="detections", min_width=40)
        for det in self.detections[-8:]:
            lat = det["latency_s"]
            log.add_row(f"{det['time_s']:.2f} s", det["label"], f"{det['score']:.2f}",
                        "?" if lat is None else f"{lat * 1000:.0f} ms")
        return Group(bars, status, log)
