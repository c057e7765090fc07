"""The frame decoder fuzzed (hypothesis): random bytes, truncated and bit-flipped frames.

The parser never raises, returns only frames that were sent intact, and resynchronises on
the next valid frame; payload decoders raise nothing but :class:`kws.errors.KwsError`.
"""

from __future__ import annotations

import pytest

from kws import protocol as P
from kws.errors import KwsError

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
given, settings = hypothesis.given, hypothesis.settings

TYPES = sorted(P.MESSAGE_NAMES)
frames_st = st.lists(
    st.tuples(st.sampled_from(TYPES), st.binary(max_size=80), st.integers(0, 255)),
    min_size=1, max_size=6)
FUZZ = settings(max_examples=300, deadline=None)


def _encode(frames: list[tuple[int, bytes, int]]) -> list[bytes]:
    return [P.encode_frame(t, p, s) for t, p, s in frames]


def _parse(data: bytes, chunk: int) -> tuple[list[P.Frame], P.FrameParser]:
    """Feed ``data`` in ``chunk``-byte pieces, then give up a trailing partial frame."""
    parser = P.FrameParser()
    out: list[P.Frame] = []
    for i in range(0, len(data), chunk):
        out += parser.feed(data[i : i + chunk])
    return out + parser.flush(), parser


def _decode_or_kws_error(frame: P.Frame) -> None:
    try:
        P.decode_message(frame)
    except KwsError:
        pass  # the documented error for a malformed payload


@FUZZ
@given(data=st.binary(max_size=600), chunk=st.integers(1, 64))
def test_random_bytes_never_raise(data: bytes, chunk: int) -> None:
    frames, parser = _parse(data, chunk)
    for f in frames:  # anything accepted has a valid CRC: it re-encodes to bytes of data
        assert P.encode_frame(f.type, f.payload, f.seq) in data
        _decode_or_kws_error(f)
    assert parser.pending <= 1


@FUZZ
@given(frames=frames_st, garbage=st.binary(max_size=40), chunk=st.integers(1, 97))
def test_frames_after_garbage_all_arrive(frames, garbage: bytes, chunk: int) -> None:
    got, _ = _parse(garbage + b"".join(_encode(frames)), chunk)
    # Garbage may hide a frame's start only when it ends inside a candidate; a sync pair
    # in front of the frames makes the hunt begin at the first frame.
    tail = [(f.type, f.payload, f.seq) for f in got][-len(frames):]
    assert tail == frames


@FUZZ
@given(first=frames_st, rest=frames_st, cut=st.integers(1, 10_000), chunk=st.integers(1, 97))
def test_truncated_frame_then_resync(first, rest, cut: int, chunk: int) -> None:
    """A frame cut short anywhere costs that frame only: the frames after it arrive."""
    head = _encode(first)
    broken = head[-1][: 1 + cut % (len(head[-1]) - 1)]
    data = b"".join(head[:-1]) + broken + b"".join(_encode(rest))
    got, parser = _parse(data, chunk)
    assert [(f.type, f.payload, f.seq) for f in got] == first[:-1] + rest
    assert parser.dropped >= 1 or len(broken) < P.HEADER_BYTES


@FUZZ
@given(frames=frames_st, which=st.integers(0, 1000), bit=st.integers(0, 100_000),
       chunk=st.integers(1, 97))
def test_bit_flip_loses_only_its_frame(frames, which: int, bit: int, chunk: int) -> None:
    raw = _encode(frames)
    i = which % len(raw)
    flipped = bytearray(raw[i])
    pos = bit % (8 * len(flipped))
    flipped[pos // 8] ^= 1 << (pos % 8)
    data = b"".join(raw[:i]) + bytes(flipped) + b"".join(raw[i + 1 :])
    got, _ = _parse(data, chunk)
    # CRC-16/CCITT detects every single-bit error: the damaged frame never comes out.
    assert [(f.type, f.payload, f.seq) for f in got] == frames[:i] + frames[i + 1 :]


@FUZZ
@given(msg_type=st.sampled_from(TYPES), payload=st.binary(max_size=300))
def test_payload_decoders_raise_only_kws_error(msg_type: int, payload: bytes) -> None:
    _decode_or_kws_error(P.Frame(msg_type, 0, payload))
