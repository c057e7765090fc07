"""The kws wire protocol over a serial port (pyserial): :class:`Link`.

A port that goes away (a board unplugged, an emulator's TCP connection dropped) or cannot
be opened raises :class:`LinkLost`, so a caller that wants to reconnect can tell it from
the protocol's own errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from kws.errors import KwsError
from kws.protocol import Frame, FrameParser, encode_frame


class LinkLost(KwsError):
    """The serial port cannot be opened, or it failed or closed while in use."""


class Link:
    """The protocol over a pyserial port (``/dev/ttyACM0``, ``loop://``, ``socket://h:p``).

    Parameters
    ----------
    url
        Port name or pyserial URL (``serial.serial_for_url``).
    baudrate
        Ignored by URL transports.
    timeout
        Seconds :meth:`receive` waits for one frame.
    idle_flush
        Seconds of silence after which a partial frame is given up (:meth:`FrameParser.flush`).
    """

    def __init__(self, url: str, baudrate: int = 115200, timeout: float = 2.0,
                 idle_flush: float = 0.25) -> None:
        import serial

        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)
        except ValueError as exc:
            raise KwsError(f"{url}: cannot open serial port ({exc})") from exc
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"{url}: cannot open serial port ({exc})") from exc
        self.url = url
        self.timeout = timeout
        self.idle_flush = idle_flush
        self.parser = FrameParser()
        self._seq = 0
        self._frames: list[Frame] = []
        self._last_data = time.monotonic()

    def close(self) -> None:
        try:
            self.port.close()
        except OSError:
            pass  # a port that went away closes as far as it can

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, msg_type: int, payload: bytes = b"") -> int:
        """Send one frame; returns its sequence number."""
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        self.write_raw(encode_frame(msg_type, payload, seq))
        return seq

    def write_raw(self, data: bytes) -> None:
        """Bytes outside the framing (tests inject garbage with this)."""
        self._guard(lambda: (self.port.write(data), self.port.flush()))

    def _guard(self, op: Callable[[], object]) -> object:
        import serial

        try:
            return op()
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"{self.url}: connection lost ({exc})") from exc

    def _read_chunk(self) -> bytes:
        """What the port has now (waits up to its 50 ms read timeout for one byte).  Never
        more than is waiting: pyserial's socket transport drops what a read collected when
        the peer closes during it."""
        waiting = self._guard(lambda: self.port.in_waiting)
        return bytes(self._guard(lambda: self.port.read(max(1, int(waiting)))))  # type: ignore[arg-type]

    def receive(self, timeout: float | None = None) -> Frame:
        """The next frame (KwsError after ``timeout`` seconds without one, :class:`LinkLost`
        when the port fails)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        last_data = time.monotonic()
        while not self._frames:
            now = time.monotonic()
            if self.parser.pending and now - last_data > self.idle_flush:
                self._frames.extend(self.parser.flush())
                last_data = now
                continue
            if now > deadline:
                raise KwsError(f"{self.url}: no frame within {timeout or self.timeout} s "
                               f"({self.parser.pending} bytes pending, "
                               f"{self.parser.dropped} dropped)")
            chunk = self._read_chunk()
            if chunk:
                last_data = time.monotonic()
                self._frames.extend(self.parser.feed(chunk))
        return self._frames.pop(0)

    def poll(self) -> list[Frame]:
        """The frames completed by what arrived in the next read (up to 50 ms; none when
        quiet), with partial frames given up after ``idle_flush`` s of silence."""
        frames, self._frames = self._frames, []
        chunk = self._read_chunk()
        now = time.monotonic()
        if chunk:
            self._last_data = now
            frames += self.parser.feed(chunk)
        elif self.parser.pending and now - self._last_data > self.idle_flush:
            frames += self.parser.flush()
        return frames

    def request(self, msg_type: int, payload: bytes, answer: int,
                seen: list[Frame] | None = None, timeout: float | None = None) -> Frame:
        """Send one frame and wait for its answer: a frame of type ``answer`` (an ACK must
        acknowledge this frame's sequence number).  Other frames received meanwhile are
        appended to ``seen``."""
        return self.wait_for(answer, self.send(msg_type, payload), seen, timeout)

    def wait_for(self, answer: int, seq: int, seen: list[Frame] | None = None,
                 timeout: float | None = None) -> Frame:
        """The next frame of type ``answer`` (an ACK: the one of frame ``seq``); other
        frames received meanwhile are appended to ``seen``."""
        from kws.protocol import ACK

        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            frame = self.receive(max(0.0, deadline - time.monotonic()))
            if frame.type == answer and (answer != ACK or frame.payload[1:2] == bytes([seq])):
                return frame
            if seen is not None:
                seen.append(frame)

    def frames(self, count: int, timeout: float | None = None) -> list[Frame]:
        return [self.receive(timeout) for _ in range(count)]


def send_all(link: Link, frames: Iterable[tuple[int, bytes]]) -> list[int]:
    """Send ``(type, payload)`` pairs; returns their sequence numbers."""
    return [link.send(t, p) for t, p in frames]
