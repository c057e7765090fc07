"""``firmware/app/main.c``'s microphone path, built for the host with a stand-in board.

QEMU has no I2S/DMA microphone, so the real application (main.c, kws_app.c, the protocol,
the generated model and frontend of a ``kws deploy --board stm32f4-disco`` project) is
compiled with gcc against ``tests/fixtures/host_mic_board`` (board API on stdin/stdout
files, a microphone that plays a clip).  Checked: a failed microphone start is reported
and ends the program (exit 4); a working one streams from boot and its SCORES equal the
host's bit for bit; commands are answered while it streams; host AUDIO frames take over
(SCORES of the host clip only), SET_OPTIONS without HOST_AUDIO returns to the microphone;
a dead microphone becomes an ERROR, not a hang; overruns and the clock fallback are
reported in STATUS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kws import protocol as P

FIXTURES = Path(__file__).parent / "fixtures"
HOST_BOARD = FIXTURES / "host_mic_board"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
CC = shutil.which("gcc") or shutil.which("cc")

pytestmark = pytest.mark.skipif(CC is None, reason="needs a host C compiler (gcc)")


def _clip(*names: str) -> np.ndarray:
    from kws.audio import load_audio

    return np.concatenate([load_audio(FIXTURES / f"{n}_1000ms.wav") for n in names])


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> tuple[Path, dict]:
    """(host executable of the deployed firmware application, project.json)."""
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.layout import load_project

    root = tmp_path_factory.mktemp("mic_app")
    project = root / "fw"
    deploy(MICRO_SPEECH, project, "stm32f4-disco", frontend="micro", stride_frames=5,
           average_count=2, threshold=0.5, suppress_inferences=2)
    cfg = load_project(project)
    sources = [*project.glob("app/*.c"), *project.glob("generated/*.c"),
               *(project / "core").rglob("*.c"), *HOST_BOARD.glob("*.c")]
    defines = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in cfg["defines"].items()]
    exe = root / "mic_app"
    cmd = [CC, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
           *defines, f"-I{HOST_BOARD}", *(f"-I{project / d}" for d in ("generated", "app", "core")),
           *map(str, sorted(sources)), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exe, cfg


def _run(exe: Path, tmp_path: Path, mic: np.ndarray | str, uart: bytes, *,
         uart_after_mic: bool = False, **env: str) -> tuple[int, list[P.Frame], str]:
    uart_path = tmp_path / "uart.bin"
    uart_path.write_bytes(uart)
    if isinstance(mic, str):
        source = mic
    else:
        (tmp_path / "mic.raw").write_bytes(np.asarray(mic, "<i2").tobytes())
        source = str(tmp_path / "mic.raw")
    environ = {**os.environ, "KWS_HOST_MIC": source, "KWS_HOST_UART_IN": str(uart_path),
               "KWS_HOST_UART_AFTER_MIC": "1" if uart_after_mic else "0", **env}
    proc = subprocess.run([str(exe)], env=environ, capture_output=True, timeout=120)
    parser = P.FrameParser()
    frames = parser.feed(proc.stdout)
    assert parser.dropped == 0
    return proc.returncode, frames, proc.stderr.decode()


def _of(frames: list[P.Frame], msg_type: int) -> list:
    return [P.decode_message(f) for f in frames if f.type == msg_type]


def _host_scores(audio: np.ndarray, cfg: dict) -> list[tuple[int, list[int]]]:
    from support.reference import contract_scores

    return [(s.frame_index, s.scores.tolist())
            for s in contract_scores(audio, cfg, MICRO_SPEECH, "tflm")]


def _scores(frames: list[P.Frame]) -> list[tuple[int, list[int]]]:
    return [(s.frame_index, s.scores.tolist()) for s in _of(frames, P.SCORES)]


def test_mic_start_failure_is_reported_and_stops(app, tmp_path) -> None:
    exe, _ = app
    code, frames, _ = _run(exe, tmp_path, "fail", P.encode_frame(P.PING, b"", 1))
    assert code == 4
    assert [f.type for f in frames] == [P.INFO, P.ERROR]
    assert _of(frames, P.ERROR) == [(5, "microphone failed to start")]


def test_mic_streams_from_boot_and_equals_host(app, tmp_path) -> None:
    exe, cfg = app
    mic = _clip("noise", "yes", "no", "silence", "yes")
    uart = P.encode_frame(P.STATUS_REQUEST, b"", 1) + P.encode_frame(P.STOP, b"", 2)
    code, frames, log = _run(exe, tmp_path, mic, uart, uart_after_mic=True,
                             KWS_HOST_MIC_OVERRUN_AT="40", KWS_HOST_CLOCK_HZ="16000000")
    assert code == 0 and log == "mic start 0\n"
    info = _of(frames, P.INFO)[0]
    assert info.has_mic and info.frontend == "micro"
    # Every score the microphone produced, bit for bit the host's (tflite-micro).
    expected = _host_scores(mic, cfg)
    assert _scores(frames) == expected and len(expected) > 10
    assert len({tuple(s) for _, s in expected}) > 3
    # Detections exactly where the firmware's averaging rule puts them.
    from support.detection import expected_detections

    detections = [(d.frame_index, d.label, d.average) for d in _of(frames, P.DETECTION)]
    assert detections and detections == expected_detections(_of(frames, P.SCORES), cfg)
    # Boot STATUS (mic on, 16 MHz fallback), one when the overrun counter moved, then the
    # dead microphone's ERROR and the answer to STATUS_REQUEST (mic off).
    statuses = _of(frames, P.STATUS)
    assert [(s.mic_audio, s.clock_fallback, s.clock_hz, s.mic_overruns) for s in statuses] == [
        (True, True, 16000000, 0), (True, True, 16000000, 1), (False, True, 16000000, 1)]
    assert _of(frames, P.ERROR) == [(5, "microphone delivered no audio (timed out)")]
    assert frames[-1].type == P.ACK and _of(frames, P.ACK)[-1] == (P.STOP, 2, 0)


def test_host_audio_takes_over_and_hands_back(app, tmp_path) -> None:
    exe, cfg = app
    mic = _clip("yes", "noise", "no", "yes", "silence", "no")
    host = _clip("no", "yes", "silence")
    uart = P.encode_frame(P.PING, b"", 0)
    uart += b"".join(P.audio_frames(host, 333, seq=1))
    uart += P.encode_frame(P.STATUS_REQUEST, b"", 2)
    uart += P.encode_frame(P.SET_OPTIONS, bytes([P.OPTION_SEND_SCORES]), 3)
    uart += b"\x00" * 7 * 400  # idle line: the microphone streams meanwhile
    uart += P.encode_frame(P.STOP, b"", 4)
    code, frames, log = _run(exe, tmp_path, mic, uart)
    assert code == 0
    starts = [int(line.split()[-1]) for line in log.splitlines()]
    assert len(starts) == 2 and starts[0] == 0 and 0 < starts[1] < len(mic) - 160 * 300
    # The PING was answered while the microphone streamed (before any host audio).
    assert frames[2].type == P.ACK and P.decode_ack(frames[2].payload)[0] == P.PING
    status_index = next(i for i, f in enumerate(frames) if f.type == P.STATUS and i > 1)
    assert not P.decode_status(frames[status_index].payload).mic_audio
    # Host audio: the stream restarted at its first AUDIO frame, so its scores are the
    # host clip's alone; no microphone window was complete before it took over.
    expected_host = _host_scores(host, cfg)
    got_host = _scores(frames[:status_index])
    assert got_host == expected_host and len(expected_host) > 5
    # Back on the microphone: a fresh stream from where the microphone restarted.
    got_mic = _scores(frames[status_index:])
    expected_mic = _host_scores(mic[starts[1]:], cfg)
    assert len(got_mic) >= 3 and got_mic == expected_mic[: len(got_mic)]
