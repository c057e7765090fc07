"""Wire protocol: Python encoder/parser, the C side (firmware/app/protocol.c) built for the
host, the shared feature quantization, and real pyserial transports (loop://, socket://)."""

from __future__ import annotations

import ctypes
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import host_c_library

from kws import protocol as P
from kws.errors import KwsError

APP = Path(__file__).resolve().parent.parent / "firmware" / "app"


def _random_frames(rng: np.random.Generator, n: int) -> list[tuple[int, int, bytes]]:
    types = [P.PING, P.AUDIO, P.SCORES, P.TENSOR, P.FEATURES, P.INFO, P.STOP, 0x42]
    out = []
    for i in range(n):
        length = int(rng.choice([0, 1, 2, 7, 100, 1024, 2000]))
        out.append((int(rng.choice(types)), i & 0xFF, rng.bytes(length)))
    return out


def test_crc16_check_value() -> None:
    assert P.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE catalogue check value
    assert P.crc16(b"") == 0xFFFF


def test_roundtrip_every_chunking() -> None:
    rng = np.random.default_rng(0)
    frames = _random_frames(rng, 60)
    stream = b"".join(P.encode_frame(t, p, s) for t, s, p in frames)
    for chunk in (1, 3, 9, 64, 4096, len(stream)):
        parser = P.FrameParser()
        got = []
        for i in range(0, len(stream), chunk):
            got += parser.feed(stream[i : i + chunk])
        assert [(f.type, f.seq, f.payload) for f in got] == frames
        assert parser.pending == 0 and parser.dropped == 0 and parser.skipped == 0


def test_resync_after_garbage_and_corruption() -> None:
    rng = np.random.default_rng(1)
    frames = _random_frames(rng, 40)
    encoded = [P.encode_frame(t, p, s) for t, s, p in frames]
    stream = bytearray()
    expected = []
    for i, data in enumerate(encoded):
        # Garbage full of sync bytes, half sync pairs and fake headers between frames.
        stream += rng.bytes(int(rng.integers(0, 40))) + b"\xa5" + b"\xa5\x5a\x01"
        if i % 5 == 2:
            bad = bytearray(data)
            bad[int(rng.integers(2, len(bad)))] ^= 0x10  # one flipped bit: CRC must catch it
            stream += bad
        elif i % 5 == 4:
            stream += data[: len(data) // 2]  # truncated frame, then the next one
        else:
            stream += data
            expected.append(frames[i])
    stream += P.encode_frame(P.PING, b"end", 1)
    expected.append((P.PING, 1, b"end"))
    parser = P.FrameParser(max_payload=4096)
    got = parser.feed(bytes(stream))
    got += parser.flush()  # the stream went quiet inside a truncated frame's claimed length
    assert [(f.type, f.seq, f.payload) for f in got] == expected
    assert parser.dropped > 0 and parser.pending == 0


def test_oversized_length_and_wrong_version_are_skipped() -> None:
    good = P.encode_frame(P.SCORES, P.encode_scores(5, np.array([1, -1], np.int8)), 3)
    huge = b"\xa5\x5a\x01\x12\x00\xff\xff" + b"\x00" * 10
    other_version = b"\xa5\x5a\x02" + good[3:]
    parser = P.FrameParser(max_payload=2048)
    got = parser.feed(huge + other_version + good)
    assert len(got) == 1 and got[0].payload == good[7:-2]
    with pytest.raises(KwsError):
        P.decode_frame(good + b"\x00")
    assert P.decode_frame(good).seq == 3


def test_payload_codecs_roundtrip() -> None:
    info = P.Info(1, "micro", 4, 1, 0xDEADBEEF, 0x12345678, 49, 40, 10, 1960, 4, 16000, 2048,
                  336000)
    assert P.decode_info(info.encode()) == info and info.has_mic
    s = P.decode_scores(P.encode_scores(123456, np.array([-128, 0, 127], np.int8)))
    assert s.frame_index == 123456 and s.scores.tolist() == [-128, 0, 127]
    d = P.decode_detection(bytes([9, 0, 0, 0, 2, 0x90, 0x80]))
    assert (d.frame_index, d.label, d.average, d.threshold) == (9, 2, -112, -128)
    audio = np.array([0, -1, 32767, -32768], np.int16)
    frames = list(P.audio_frames(np.tile(audio, 300), chunk=512))
    assert len(frames) == 3
    back = np.concatenate([np.frombuffer(P.decode_frame(f).payload, "<i2") for f in frames])
    assert np.array_equal(back, np.tile(audio, 300))
    with pytest.raises(KwsError, match="int16"):
        P.audio_payload(np.zeros(4, np.float32))
    for bad in (b"", b"\x01\x02", b"\x00" * 5 + b"\x03\x01"):
        with pytest.raises(KwsError):
            P.decode_scores(bad)
    status = P.Status(0x03, 16_000_000, 7, 0xFFFFFFFF)
    frame = P.decode_frame(P.encode_frame(P.STATUS, status.encode(), 9))
    assert P.decode_message(frame) == status and status.mic_audio and status.clock_fallback
    assert not P.decode_status(bytes(13)).mic_audio
    with pytest.raises(KwsError, match="STATUS"):
        P.decode_status(bytes(12))


def test_c_and_python_agree_on_every_constant() -> None:
    """Message types, option bits, error codes and STATUS layout of protocol.h."""
    header = (APP / "protocol.h").read_text()
    pattern = r"\b(KWS_(?:MSG|OPTION|ERROR|STATUS)_\w+)\s*=?\s*(0x[0-9A-Fa-f]+|\d+)u?"
    values = {name: int(value, 0) for name, value in re.findall(pattern, header)}
    messages = {k[len("KWS_MSG_"):]: v for k, v in values.items() if k.startswith("KWS_MSG_")}
    assert len(messages) == len(P.MESSAGE_NAMES) == 17
    assert {name: getattr(P, name) for name in messages} == messages
    assert values["KWS_OPTION_SEND_FEATURES"] == P.OPTION_SEND_FEATURES
    assert values["KWS_OPTION_SEND_SCORES"] == P.OPTION_SEND_SCORES
    assert values["KWS_OPTION_HOST_AUDIO"] == P.OPTION_HOST_AUDIO
    assert values["KWS_ERROR_MICROPHONE"] == 5 and P.STATUS_NAMES[5] == "microphone"
    assert values["KWS_STATUS_BYTES"] == len(P.Status(0, 0, 0, 0).encode())
    assert P.Status(values["KWS_STATUS_MIC_AUDIO"], 0, 0, 0).mic_audio
    assert P.Status(values["KWS_STATUS_CLOCK_FALLBACK"], 0, 0, 0).clock_fallback


# --- the C side, built for the host -------------------------------------------------------


@pytest.fixture(scope="module")
def app_c(tmp_path_factory) -> ctypes.CDLL:
    lib = host_c_library(tmp_path_factory.mktemp("app_c") / "libapp.so",
                         [APP / "protocol.c", APP / "feature_quantize.c"],
                         "-DKWS_PROTOCOL_MAX_PAYLOAD=4096u")
    lib.kws_crc16_update.restype = ctypes.c_uint16
    lib.kws_crc16_update.argtypes = [ctypes.c_uint16, ctypes.c_char_p, ctypes.c_size_t]
    lib.kws_protocol_parse_byte.argtypes = [ctypes.c_void_p, ctypes.c_uint8]
    lib.kws_quantize_micro_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int,
                                             ctypes.c_void_p]
    lib.kws_quantize_float_frame.argtypes = lib.kws_quantize_micro_frame.argtypes
    return lib


class _Frame(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint8), ("seq", ctypes.c_uint8), ("length", ctypes.c_uint16),
                ("payload", ctypes.c_uint8 * 4096)]


class _Parser(ctypes.Structure):
    _fields_ = [("stage", ctypes.c_int), ("received", ctypes.c_uint16),
                ("crc", ctypes.c_uint16), ("crc_low", ctypes.c_uint8),
                ("dropped", ctypes.c_uint32), ("frame", _Frame)]


class _QuantizeConfig(ctypes.Structure):
    _fields_ = [("feature_scale", ctypes.c_float), ("input_scale", ctypes.c_float),
                ("zero_point", ctypes.c_int32)]


def test_c_crc_and_encoder_match_python(app_c, tmp_path) -> None:
    rng = np.random.default_rng(2)
    for n in (0, 1, 5, 333):
        data = rng.bytes(n)
        assert app_c.kws_crc16_update(0xFFFF, data, n) == P.crc16(data)
    sent = bytearray()
    WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t)

    @WRITE
    def write(ptr, n):  # the C encoder's byte sink
        sent.extend(ctypes.string_at(ptr, n))

    app_c.kws_protocol_send.argtypes = [WRITE, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_char_p,
                                        ctypes.c_uint16]
    for t, s, p in _random_frames(rng, 20):
        sent.clear()
        app_c.kws_protocol_send(write, t, s, p, len(p))
        assert bytes(sent) == P.encode_frame(t, p, s)


def test_c_parser_resyncs_like_python(app_c) -> None:
    rng = np.random.default_rng(3)
    frames = _random_frames(rng, 50)
    stream = bytearray()
    for i, (t, s, p) in enumerate(frames):
        data = bytearray(P.encode_frame(t, p, s))
        if i % 7 == 3:
            data[-1] ^= 0xFF  # bad CRC
        stream += rng.bytes(int(rng.integers(0, 30))) + b"\xa5\x00\xa5" + data
    parser = _Parser()
    app_c.kws_protocol_parser_reset(ctypes.byref(parser))
    got = []
    for b in bytes(stream):
        if app_c.kws_protocol_parse_byte(ctypes.byref(parser), b):
            f = parser.frame
            got.append((f.type, f.seq, bytes(f.payload[: f.length])))
    expected = [fr for i, fr in enumerate(frames) if i % 7 != 3]
    assert got == expected
    py = [(f.type, f.seq, f.payload) for f in P.FrameParser().feed(bytes(stream))]
    assert py == expected
    assert parser.dropped >= len(frames) - len(expected)


def test_c_feature_quantization_equals_host(app_c) -> None:
    """firmware/app/feature_quantize.c == kws.features.quantize.quantize_values (the input
    contract), every uint16 value (micro) and 200k MFCC-like floats, over several scales and
    zero points."""
    from kws.features import MfccConfig, MicroFrontendConfig
    from kws.features.quantize import feature_scale, quantize_values

    micro, mfcc = MicroFrontendConfig(), MfccConfig()
    raw16 = np.arange(65536, dtype=np.uint16)
    rng = np.random.default_rng(4)
    floats = np.concatenate([rng.normal(0, 30, 200_000), rng.uniform(-1000, 1000, 1000),
                             [0.0, -0.0, 0.5, -0.5, 1e30, -1e30]]).astype(np.float32)
    for scale, zp in ((0.1019613, -128), (0.0390625, -128), (0.7, 3), (1e-3, 127), (3.1, -7)):
        cfg = _QuantizeConfig(feature_scale(micro), scale, zp)
        out = np.empty(raw16.size, np.int8)
        app_c.kws_quantize_micro_frame(ctypes.byref(cfg), raw16.ctypes.data, raw16.size,
                                       out.ctypes.data)
        assert np.array_equal(out, quantize_values(raw16, feature_scale(micro), scale, zp))
        cfg = _QuantizeConfig(feature_scale(mfcc), scale, zp)
        out = np.empty(floats.size, np.int8)
        app_c.kws_quantize_float_frame(ctypes.byref(cfg), floats.ctypes.data, floats.size,
                                       out.ctypes.data)
        assert np.array_equal(out, quantize_values(floats, feature_scale(mfcc), scale, zp))


# --- real pyserial transports ---------------------------------------------------------------


def test_loop_url_roundtrip_with_garbage() -> None:
    pytest.importorskip("serial")
    with P.Link("loop://", timeout=2.0) as link:
        link.write_raw(b"\x00\xa5garbage\xa5\x5a\x01")
        seqs = [link.send(P.AUDIO, P.audio_payload(np.arange(i, i + 100, dtype=np.int16)))
                for i in range(5)]
        link.write_raw(b"\xa5\x5a\x01\x12\x05\x00")  # truncated header + junk
        link.send(P.PING, b"x")
        got = link.frames(6)
    assert [f.seq for f in got[:5]] == seqs
    assert np.array_equal(np.frombuffer(got[4].payload, "<i2"), np.arange(4, 104))
    assert got[5].type == P.PING and got[5].payload == b"x"


def test_socket_url_against_a_device_emulator() -> None:
    """A TCP peer that speaks the protocol (PING -> ACK, SCORES per TENSOR); the host talks
    to it through pyserial's socket:// transport."""
    pytest.importorskip("serial")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def device() -> None:
        conn, _ = server.accept()
        parser = P.FrameParser()
        seq = 0
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                for f in parser.feed(data):
                    seq += 1
                    if f.type == P.STOP:
                        conn.sendall(P.encode_frame(P.ACK, bytes([f.type, f.seq, 0]), seq))
                        return
                    if f.type == P.INFO_REQUEST:
                        # Noise first, as from a board that just booted.
                        reply = b"\x17boot noise\xa5" + P.encode_frame(P.INFO, P.Info(
                            1, "none", 3, 0, 1, 0, 0, 0, 1, 8, 3, 16000, 1024, 42).encode(), seq)
                    elif f.type == P.PING:
                        reply = P.encode_frame(P.ACK, bytes([f.type, f.seq, 0]), seq)
                    else:
                        x = np.frombuffer(f.payload, np.int8)
                        reply = P.encode_frame(P.SCORES, P.encode_scores(
                            f.seq, x[:3] // 2), seq)
                    conn.sendall(reply)

    thread = threading.Thread(target=device, daemon=True)
    thread.start()
    try:
        with P.Link(f"socket://127.0.0.1:{port}", timeout=5.0) as link:
            # pyserial discards bytes that arrive before open() returns, so ask for INFO.
            link.send(P.INFO_REQUEST)
            info = P.decode_info(link.receive().payload)
            assert info.num_labels == 3 and info.macs == 42
            ping = link.send(P.PING)
            assert P.decode_ack(link.receive().payload) == (P.PING, ping, 0)
            x = np.array([10, -20, 31, 4, 5, 6, 7, 8], np.int8)
            seq = link.send(P.TENSOR, P.tensor_payload(x))
            s = P.decode_scores(link.receive().payload)
            assert s.frame_index == seq and s.scores.tolist() == [5, -10, 15]
            stop = link.send(P.STOP)
            assert P.decode_ack(link.receive().payload) == (P.STOP, stop, 0)
    finally:
        thread.join(timeout=5)
        server.close()


def test_link_timeout_and_bad_url() -> None:
    pytest.importorskip("serial")
    with P.Link("loop://", timeout=0.2) as link, pytest.raises(KwsError, match="no frame"):
        link.receive()
    with pytest.raises(KwsError, match="cannot open"):
        P.Link("nonsense-scheme://x")
