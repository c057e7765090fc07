"""What a board says over its serial port, as it says it: ``kws monitor``.

:class:`Monitor` opens the port, turns every frame into an event (a plain dict: ``info``,
``status``, ``scores``, ``detection``, ``features``, ``ack``, ``error``) and hands it to a
callback; link trouble becomes events too (``link``: ``connected``, ``lost``, ``waiting``;
``garbage``: bytes skipped and frames dropped while resynchronising; ``malformed``: a frame
whose payload does not decode).  A board that resets announces itself with a new INFO
(``"restart": true``); a port that goes away (unplugged, a dropped TCP connection) is
reopened with exponential backoff.  Nothing the device sends ends the loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kws import protocol
from kws.errors import KwsError
from kws.link import Link, LinkLost

Event = dict[str, Any]

# Seconds to wait for the boot INFO of a board that is just starting before asking for it.
BOOT_INFO_WAIT_S = 1.0


@dataclass(frozen=True)
class ModelFacts:
    """What turns a device's numbers into words: labels, output scale, frame timing."""

    labels: list[str]
    output_scale: float
    output_zero_point: int
    step_ms: float
    window_ms: float

    @classmethod
    def from_model(cls, model_path: Path) -> ModelFacts:
        """From an exported ``.tflite`` and the ``model.json`` beside it."""
        from kws.features.quantize import InputContract
        from kws.modelinfo import io_quantization

        meta_path = model_path.with_name("model.json")
        contract = InputContract.from_model(model_path)
        try:
            labels = list(json.loads(meta_path.read_text())["labels"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KwsError(f"{meta_path}: no labels ({exc})") from None
        _, out_q = io_quantization(model_path)
        fe = contract.frontend
        return cls(labels, float(out_q.scale), int(out_q.zero_point), float(fe.step_ms),
                   float(fe.window_ms))

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else f"#{index}"

    def probability(self, q: int) -> float:
        return round((int(q) - self.output_zero_point) * self.output_scale, 4)

    def stream_time(self, frame_index: int) -> float:
        """Seconds of audio at the end of feature frame ``frame_index`` (1-based)."""
        return round(((frame_index - 1) * self.step_ms + self.window_ms) / 1000.0, 3)


def frame_event(frame: protocol.Frame, facts: ModelFacts | None) -> Event:
    """One received frame as an event (KwsError when its payload is malformed)."""
    msg = protocol.decode_message(frame)
    if frame.type == protocol.INFO:
        return {"event": "info", **{k: getattr(msg, k) for k in msg.__dataclass_fields__},
                "has_mic": msg.has_mic}
    if frame.type == protocol.STATUS:
        return {"event": "status", "mic_audio": msg.mic_audio,
                "clock_fallback": msg.clock_fallback, "clock_hz": msg.clock_hz,
                "mic_overruns": msg.mic_overruns, "uart_overruns": msg.uart_overruns}
    if frame.type == protocol.DETECTION:
        event = {"event": "detection", "frame_index": msg.frame_index, "label": msg.label,
                 "average": msg.average, "threshold": msg.threshold}
        if facts is not None:
            event.update(label=facts.label(msg.label), score=facts.probability(msg.average),
                         stream_time_s=facts.stream_time(msg.frame_index))
        return event
    if frame.type == protocol.SCORES:
        event = {"event": "scores", "frame_index": msg.frame_index,
                 "scores": msg.scores.tolist(), "top": int(msg.scores.argmax())}
        if facts is not None:
            event.update(top=facts.label(event["top"]),
                         score=facts.probability(int(msg.scores.max())),
                         stream_time_s=facts.stream_time(msg.frame_index))
        return event
    if frame.type == protocol.FEATURES:
        return {"event": "features", "frame_index": msg.frame_index,
                "quantized": msg.quantized.tolist()}
    if frame.type == protocol.ERROR:
        return {"event": "error", "code": msg[0], "text": msg[1]}
    if frame.type == protocol.ACK:
        return {"event": "ack", "type": protocol.MESSAGE_NAMES.get(msg[0], msg[0]),
                "seq": msg[1], "status": protocol.STATUS_NAMES.get(msg[2], msg[2])}
    return {"event": "frame", "type": frame.name, "bytes": len(frame.payload)}


class Monitor:
    """Listen to one port until ``duration`` s have passed (forever when ``None``).

    Parameters
    ----------
    url
        Device path or pyserial URL.
    emit
        Called with every event; each carries ``time_s``, seconds since :meth:`run` began.
    facts
        Labels, scores and times in words (:class:`ModelFacts`); raw indices without.
    backoff
        First and longest wait between attempts to reopen the port (doubling).
    """

    def __init__(self, url: str, emit: Callable[[Event], None], *, baudrate: int = 115200,
                 facts: ModelFacts | None = None, backoff: tuple[float, float] = (0.25, 5.0)
                 ) -> None:
        self.url, self.baudrate, self.facts = url, baudrate, facts
        self._emit, self.backoff = emit, backoff
        self._start = time.monotonic()
        self._deadline: float | None = None

    def emit(self, event: Event) -> None:
        self._emit({"time_s": round(time.monotonic() - self._start, 3), **event})

    def stop(self) -> None:
        """End :meth:`run` (from another thread) within about 50 ms."""
        self._deadline = time.monotonic()

    def _remaining(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - time.monotonic()

    def run(self, duration: float | None = None) -> None:
        """Monitor until the duration is over (Ctrl-C: KeyboardInterrupt, port closed)."""
        self._start = time.monotonic()
        self._deadline = None if duration is None else self._start + duration
        delay, connections = self.backoff[0], 0
        while self._remaining() > 0:
            try:
                link = Link(self.url, self.baudrate)
            except LinkLost as exc:
                wait = min(delay, max(0.0, self._remaining()))
                self.emit({"event": "link", "state": "waiting", "error": str(exc),
                           "retry_in_s": round(wait, 3)})
                time.sleep(wait)
                delay = min(delay * 2, self.backoff[1])
                continue
            connections += 1
            self.emit({"event": "link", "state": "reconnected" if connections > 1
                       else "connected", "url": self.url})
            delay = self.backoff[0]
            try:
                with link:
                    self._session(link)
            except LinkLost as exc:
                self.emit({"event": "link", "state": "lost", "error": str(exc)})

    def _session(self, link: Link) -> None:
        """One connection: wait for a boot INFO, else ask; then report every frame."""
        opened = time.monotonic()
        asked = infos = 0
        skipped = dropped = 0
        while self._remaining() > 0:
            if not infos and not asked and time.monotonic() - opened > BOOT_INFO_WAIT_S:
                link.send(protocol.INFO_REQUEST)
                link.send(protocol.STATUS_REQUEST)
                asked = 1
            for frame in link.poll():
                try:
                    event = frame_event(frame, self.facts)
                except KwsError as exc:
                    event = {"event": "malformed", "type": frame.name, "error": str(exc)}
                if event["event"] == "info":
                    event["restart"] = infos > 0 and not asked
                    infos, asked = infos + 1, 0
                self.emit(event)
            if link.parser.skipped > skipped or link.parser.dropped > dropped:
                self.emit({"event": "garbage", "bytes": link.parser.skipped - skipped,
                           "dropped_frames": link.parser.dropped - dropped})
                skipped, dropped = link.parser.skipped, link.parser.dropped
