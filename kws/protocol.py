"""The kws wire protocol (version 1): framed, checksummed messages between host and device.

Frame layout (all integers little-endian; full description in ``docs/protocol.md``)::

    0xA5 0x5A | version u8 | type u8 | seq u8 | length u16 | payload[length] | crc u16

``crc`` is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)
over ``version .. payload``.  :class:`FrameParser` is a streaming parser: feed it any
chunks of bytes; it returns complete frames and skips garbage, truncated frames and frames
with a bad CRC by resynchronising on the next sync pair.  :class:`kws.link.Link` speaks the
protocol over any pyserial port, including ``loop://`` and ``socket://host:port`` URLs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kws.errors import KwsError

VERSION = 1
SYNC = b"\xa5\x5a"
HEADER_BYTES = 7
CRC_BYTES = 2
MAX_PAYLOAD = 0xFFFF

# Message types (the C side: firmware/app/protocol.h).
PING = 0x01
ACK = 0x02
INFO_REQUEST = 0x03
INFO = 0x04
SET_OPTIONS = 0x05
RESET = 0x06
STATUS_REQUEST = 0x07
AUDIO = 0x10
FEATURES = 0x11
SCORES = 0x12
DETECTION = 0x13
TENSOR = 0x14
OUTPUT = 0x15
BENCH = 0x16
STATUS = 0x17
ERROR = 0x7E
STOP = 0x7F

MESSAGE_NAMES = {
    PING: "PING", ACK: "ACK", INFO_REQUEST: "INFO_REQUEST", INFO: "INFO",
    SET_OPTIONS: "SET_OPTIONS", RESET: "RESET", AUDIO: "AUDIO", FEATURES: "FEATURES",
    SCORES: "SCORES", DETECTION: "DETECTION", TENSOR: "TENSOR", OUTPUT: "OUTPUT",
    BENCH: "BENCH", ERROR: "ERROR", STOP: "STOP", STATUS_REQUEST: "STATUS_REQUEST",
    STATUS: "STATUS",
}

# SET_OPTIONS flags.
OPTION_SEND_FEATURES = 0x01
OPTION_SEND_SCORES = 0x02
# Mic boards: take audio from AUDIO frames, microphone paused (docs/protocol.md).
OPTION_HOST_AUDIO = 0x04

# FEATURES raw formats and INFO frontend kinds.
FEATURES_UINT16 = 1
FEATURES_FLOAT32 = 2
FRONTEND_KINDS = {0: "none", 1: "micro", 2: "mfcc"}

# ACK status / ERROR codes.
STATUS_NAMES = {0: "ok", 1: "bad length", 2: "unknown type", 3: "no frontend",
                4: "frame dropped", 5: "microphone"}

# Samples per AUDIO frame the host sends by default (32 ms at 16 kHz).
AUDIO_CHUNK_SAMPLES = 512

_INFO = struct.Struct("<BBBBIIHHHIHHHI")


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (``crc16(b"123456789") == 0x29B1``)."""
    for b in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    type: int
    seq: int
    payload: bytes

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.type, f"0x{self.type:02x}")


def encode_frame(msg_type: int, payload: bytes = b"", seq: int = 0) -> bytes:
    """Bytes of one frame (header, payload, CRC)."""
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"message type {msg_type} does not fit a byte")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack("<BBBH", VERSION, msg_type, seq & 0xFF, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<H", crc16(body))


def decode_frame(data: bytes) -> Frame:
    """Exactly one frame from ``data`` (KwsError for anything else)."""
    parser = FrameParser()
    frames = parser.feed(data)
    if len(frames) != 1 or parser.pending or parser.dropped or parser.skipped:
        raise KwsError(f"not exactly one valid frame ({len(frames)} frames, {parser.skipped} "
                       f"stray bytes, "
                       f"{parser.dropped} dropped, {parser.pending} bytes left)")
    return frames[0]


@dataclass
class FrameParser:
    """Streaming frame parser that resynchronises after garbage.

    ``max_payload`` bounds the length field: a longer claimed length is treated as garbage
    (so a corrupted length cannot stall the parser waiting for 64 KiB).
    ``dropped`` counts discarded frame candidates (bad version, length or CRC);
    ``skipped`` counts bytes thrown away while hunting for a sync pair.
    """

    max_payload: int = MAX_PAYLOAD
    dropped: int = 0
    skipped: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    @property
    def pending(self) -> int:
        """Bytes buffered but not yet part of a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add received bytes; return every frame completed by them, in order."""
        self._buf.extend(bytes(data))
        frames: list[Frame] = []
        buf = self._buf
        while True:
            start = buf.find(SYNC)
            if start < 0:
                # Keep a trailing 0xA5: it may be the first half of the next sync pair.
                keep = 1 if buf[-1:] == SYNC[:1] else 0
                self.skipped += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            if start:
                self.skipped += start
                del buf[:start]
            if len(buf) < HEADER_BYTES:
                break
            version, msg_type, seq, length = struct.unpack_from("<BBBH", buf, 2)
            if version != VERSION or length > self.max_payload:
                self._drop(buf)
                continue
            total = HEADER_BYTES + length + CRC_BYTES
            if len(buf) < total:
                break
            (crc,) = struct.unpack_from("<H", buf, HEADER_BYTES + length)
            if crc != crc16(memoryview(buf)[2 : HEADER_BYTES + length]):
                self._drop(buf)
                continue
            frames.append(Frame(msg_type, seq, bytes(buf[HEADER_BYTES : HEADER_BYTES + length])))
            del buf[:total]
        return frames

    def flush(self) -> list[Frame]:
        """Give up on a partial frame (the link went quiet): drop its sync pair and rescan the
        bytes after it, returning any complete frames found there.  A truncated frame with a
        large length field would otherwise hold back the frames that follow it."""
        frames: list[Frame] = []
        while len(self._buf) >= 2 and self._buf[:2] == SYNC:
            self._drop(self._buf)
            frames += self.feed(b"")
        return frames

    def _drop(self, buf: bytearray) -> None:
        # Skip only this sync pair: a real frame may begin inside the bad candidate.
        self.dropped += 1
        self.skipped += 2
        del buf[:2]


# --- payloads -------------------------------------------------------------------------


def audio_payload(samples: np.ndarray) -> bytes:
    """AUDIO payload: int16 little-endian PCM."""
    x = np.asarray(samples)
    if x.dtype != np.int16 or x.ndim != 1:
        raise KwsError(f"AUDIO takes 1-D int16 samples, not {x.dtype} {list(x.shape)}")
    return x.astype("<i2").tobytes()


def audio_frames(samples: np.ndarray, chunk: int = AUDIO_CHUNK_SAMPLES, seq: int = 0
                 ) -> Iterator[bytes]:
    """The AUDIO frames that stream ``samples`` in chunks of ``chunk`` samples."""
    if chunk <= 0:
        raise ValueError("chunk must be positive")
    for i, start in enumerate(range(0, len(samples), chunk)):
        yield encode_frame(AUDIO, audio_payload(samples[start : start + chunk]), seq + i)


def tensor_payload(x: np.ndarray) -> bytes:
    """TENSOR payload: the int8 model input, flattened (NHWC)."""
    a = np.asarray(x)
    if a.dtype != np.int8:
        raise KwsError(f"TENSOR takes int8 values, not {a.dtype}")
    return a.reshape(-1).tobytes()


@dataclass(frozen=True)
class Info:
    """INFO (HELLO) payload."""

    protocol_version: int
    frontend: str
    num_labels: int
    flags: int
    model_id: int
    frontend_hash: int
    frames: int
    channels: int
    stride_frames: int
    input_size: int
    output_size: int
    sample_rate: int
    max_payload: int
    macs: int

    @property
    def has_mic(self) -> bool:
        return bool(self.flags & 1)

    def encode(self) -> bytes:
        kind = {v: k for k, v in FRONTEND_KINDS.items()}[self.frontend]
        return _INFO.pack(self.protocol_version, kind, self.num_labels, self.flags,
                          self.model_id, self.frontend_hash, self.frames, self.channels,
                          self.stride_frames, self.input_size, self.output_size,
                          self.sample_rate, self.max_payload, self.macs)


def decode_info(payload: bytes) -> Info:
    if len(payload) < _INFO.size:
        raise KwsError(f"INFO payload has {len(payload)} bytes, expected {_INFO.size}")
    v = _INFO.unpack_from(payload)
    if v[1] not in FRONTEND_KINDS:
        raise KwsError(f"INFO names unknown frontend kind {v[1]}")
    return Info(v[0], FRONTEND_KINDS[v[1]], *v[2:])


@dataclass(frozen=True)
class Scores:
    """SCORES payload: the int8 model output after ``frame_index`` feature frames."""

    frame_index: int
    scores: np.ndarray


def decode_scores(payload: bytes) -> Scores:
    if len(payload) < 5 or len(payload) != 5 + payload[4]:
        raise KwsError(f"SCORES payload of {len(payload)} bytes is malformed")
    (frame_index,) = struct.unpack_from("<I", payload)
    return Scores(frame_index, np.frombuffer(payload[5:], dtype=np.int8).copy())


def encode_scores(frame_index: int, scores: np.ndarray) -> bytes:
    s = np.asarray(scores, dtype=np.int8).reshape(-1)
    return struct.pack("<IB", frame_index, s.size) + s.tobytes()


@dataclass(frozen=True)
class Detection:
    """DETECTION payload: ``label`` averaged ``average`` >= ``threshold`` (int8 units)."""

    frame_index: int
    label: int
    average: int
    threshold: int


def decode_detection(payload: bytes) -> Detection:
    if len(payload) != 7:
        raise KwsError(f"DETECTION payload of {len(payload)} bytes is malformed")
    frame_index, label, average, threshold = struct.unpack("<IBbb", payload)
    return Detection(frame_index, label, average, threshold)


@dataclass(frozen=True)
class Features:
    """FEATURES payload: raw frontend output and its int8 quantization for one frame."""

    frame_index: int
    raw: np.ndarray
    quantized: np.ndarray


def decode_features(payload: bytes) -> Features:
    if len(payload) < 7:
        raise KwsError(f"FEATURES payload of {len(payload)} bytes is malformed")
    frame_index, fmt, n = struct.unpack_from("<IBH", payload)
    width = {FEATURES_UINT16: 2, FEATURES_FLOAT32: 4}.get(fmt)
    if width is None or len(payload) != 7 + n * (width + 1):
        raise KwsError(f"FEATURES payload (format {fmt}, {n} values) is malformed")
    dtype = "<u2" if fmt == FEATURES_UINT16 else "<f4"
    raw = np.frombuffer(payload, dtype=dtype, count=n, offset=7).copy()
    q = np.frombuffer(payload, dtype=np.int8, count=n, offset=7 + n * width).copy()
    return Features(frame_index, raw, q)


@dataclass(frozen=True)
class Bench:
    """BENCH payload: SysTick ticks for ``invocations`` model runs."""

    invocations: int
    ticks: int
    instructions_per_tick: int
    macs: int


def decode_bench(payload: bytes) -> Bench:
    if len(payload) != 16:
        raise KwsError(f"BENCH payload of {len(payload)} bytes is malformed")
    return Bench(*struct.unpack("<IIII", payload))


@dataclass(frozen=True)
class Status:
    """STATUS payload: where audio comes from, the clock, and what the board lost."""

    flags: int
    clock_hz: int
    mic_overruns: int
    uart_overruns: int

    @property
    def mic_audio(self) -> bool:
        """The pipeline is fed by the board's microphone (not by AUDIO frames)."""
        return bool(self.flags & 0x01)

    @property
    def clock_fallback(self) -> bool:
        """The board runs below its nominal clock (e.g. the STM32's HSI fallback)."""
        return bool(self.flags & 0x02)

    def encode(self) -> bytes:
        return struct.pack("<BIII", self.flags, self.clock_hz, self.mic_overruns,
                           self.uart_overruns)


def decode_status(payload: bytes) -> Status:
    if len(payload) != 13:
        raise KwsError(f"STATUS payload of {len(payload)} bytes is malformed")
    return Status(*struct.unpack("<BIII", payload))


def decode_ack(payload: bytes) -> tuple[int, int, int]:
    """``(acked type, acked seq, status)``."""
    if len(payload) != 3:
        raise KwsError(f"ACK payload of {len(payload)} bytes is malformed")
    return payload[0], payload[1], payload[2]


def decode_error(payload: bytes) -> tuple[int, str]:
    if not payload:
        raise KwsError("empty ERROR payload")
    return payload[0], payload[1:].decode("ascii", errors="replace")


def decode_message(frame: Frame) -> Any:
    """The typed payload of ``frame`` (bytes for types without a decoder)."""
    decoders = {INFO: decode_info, SCORES: decode_scores, DETECTION: decode_detection,
                FEATURES: decode_features, BENCH: decode_bench, ACK: decode_ack,
                ERROR: decode_error, STATUS: decode_status}
    fn = decoders.get(frame.type)
    return fn(frame.payload) if fn else frame.payload


def parse_stream(data: bytes) -> list[Frame]:
    """Every valid frame in a captured byte stream."""
    return FrameParser().feed(data)


def __getattr__(name: str) -> Any:
    """``Link`` and ``send_all`` live in :mod:`kws.link` (the serial transport)."""
    if name in ("Link", "send_all"):
        from kws import link

        return getattr(link, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
