"""The kws wire protocol over a serial port (pyserial): :class:`Link`."""

from __future__ import annotations

from collections.abc import Iterable

from kws.errors import KwsError
from kws.protocol import Frame, FrameParser, encode_frame


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
        except (serial.SerialException, ValueError) as exc:
            raise KwsError(f"{url}: cannot open serial port ({exc})") from exc
        self.url = url
        self.timeout = timeout
        self.idle_flush = idle_flush
        self.parser = FrameParser()
        self._seq = 0
        self._frames: list[Frame] = []

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, msg_type: int, payload: bytes = b"") -> int:
        """Send one frame; returns its sequence number."""
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        self.port.write(encode_frame(msg_type, payload, seq))
        self.port.flush()
        return seq

    def write_raw(self, data: bytes) -> None:
        """Bytes outside the framing (tests inject garbage with this)."""
        self.port.write(data)
        self.port.flush()

    def receive(self, timeout: float | None = None) -> Frame:
        """The next frame (KwsError after ``timeout`` seconds without one)."""
        import time

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
            waiting = max(1, self.port.in_waiting)
            chunk = self.port.read(waiting)
            if chunk:
                last_data = time.monotonic()
                self._frames.extend(self.parser.feed(chunk))
        return self._frames.pop(0)

    def frames(self, count: int, timeout: float | None = None) -> list[Frame]:
        return [self.receive(timeout) for _ in range(count)]


def send_all(link: Link, frames: Iterable[tuple[int, bytes]]) -> list[int]:
    """Send ``(type, payload)`` pairs; returns their sequence numbers."""
    return [link.send(t, p) for t, p in frames]
