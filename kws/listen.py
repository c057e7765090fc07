"""The engine behind ``kws listen``: microphone blocks at the device's rate -> soxr stream
resampler -> 16 kHz int16 -> the firmware application built for the host
(:mod:`kws.host_app`), with what a live view shows: latest probabilities, detection log,
input level, end-of-word -> detection latency, and agreement with a second engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEVEL_FRAME_MS = 10
SPEECH_ABOVE_FLOOR_DB = 15.0  # a level this far above the noise floor is speech
MIN_WORD_MS = 100  # shorter bursts are not words
MAX_LATENCY_S = 1.5  # an end of word longer ago than this is not the detected word's


@dataclass
class EndOfWord:
    """Energy tracker: the stream times (s) at which a word (speech burst) ended."""

    rate: int
    floor_db: float = 0.0
    speech_frames: int = 0
    frames: int = 0
    ends: list[float] = field(default_factory=list)
    _rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    def feed(self, audio: np.ndarray) -> None:
        """Track ``audio`` (int16 at :attr:`rate`), the continuation of the stream."""
        n = self.rate * LEVEL_FRAME_MS // 1000
        data = np.concatenate([self._rest, audio.astype(np.float64) / 32768.0])
        whole = len(data) // n * n
        self._rest = data[whole:]
        for frame in data[:whole].reshape(-1, n):
            db = 10 * np.log10(max(float(np.mean(frame * frame)), 1e-12))
            self.floor_db = db if self.frames == 0 else min(self.floor_db + 0.02, db)
            self.frames += 1
            if db > self.floor_db + SPEECH_ABOVE_FLOOR_DB:
                self.speech_frames += 1
                continue
            if self.speech_frames * LEVEL_FRAME_MS >= MIN_WORD_MS:
                self.ends.append((self.frames - 1) * LEVEL_FRAME_MS / 1000)
                del self.ends[:-16]
            self.speech_frames = 0

    def latency(self, now_s: float) -> float | None:
        """Seconds since the last word ended, when one ended at most MAX_LATENCY_S ago."""
        recent = [e for e in self.ends if 0 <= now_s - e <= MAX_LATENCY_S]
        return now_s - recent[-1] if recent else None


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
            latency = self.words.latency(self.seconds)
            det["latency_s"] = None if latency is None else round(latency, 3)
        self.detections += new
        return new

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
