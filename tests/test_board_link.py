"""The board link with the real parts: firmware under QEMU with its UART on a TCP port,
driven through pyserial's ``socket://`` (the code path of a USB cable).

- ``kws compare --qemu`` streams clips as AUDIO frames and finds the device's features,
  scores and detections equal to the host pipeline's (mps2-an386 and the Discovery image);
  a host side that deliberately differs gets a report naming the first difference, exit 1;
- ``kws monitor`` reports INFO and STATUS, keeps going when the emulator is killed and
  comes back on the same port (reconnects, reports the new INFO), and survives garbage,
  truncated frames, a board restart mid-stream and a dropped connection from a TCP peer
  replaying real firmware output; Ctrl-C exits 130.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool

from kws import protocol as P

pytestmark = pytest.mark.arm


@pytest.fixture(scope="module", autouse=True)
def _toolchain() -> None:
    require_tool("arm-none-eabi-gcc", "qemu-system-arm", "make")

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
CLIPS = ("yes", "no", "noise", "silence")


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    """board -> built micro_speech project: one inference every 5 frames, no averaging, so
    the yes/no clips are detected."""
    from kws.cli import main

    root = tmp_path_factory.mktemp("link")
    out = {}
    for board in ("qemu-mps2-an386", "stm32f4-disco"):
        pdir = root / board
        assert main(["deploy", str(MICRO_SPEECH), "--board", board, "--frontend", "micro",
                     "--out", str(pdir), "--stride-frames", "5", "--average", "1",
                     "--threshold", "0.6"]) == 0
        assert main(["firmware", "build", str(pdir)]) == 0
        out[board] = pdir
    return out


@pytest.fixture(scope="module")
def wavs(tmp_path_factory) -> Path:
    """The fixture clips one by one, and all of them as one 4 s stream."""
    import soundfile as sf

    from kws.audio import load_audio

    folder = tmp_path_factory.mktemp("wavs")
    clips = [load_audio(FIXTURES / f"{n}_1000ms.wav") for n in CLIPS]
    for name, clip in zip(CLIPS, clips, strict=True):
        sf.write(folder / f"{name}.wav", clip, 16000, subtype="PCM_16")
    sf.write(folder / "stream.wav", np.concatenate(clips), 16000, subtype="PCM_16")
    return folder


@pytest.mark.parametrize("board", ["qemu-mps2-an386", "stm32f4-disco"])
def test_compare_qemu_equals_host(projects, wavs, board, capsys) -> None:
    from kws.cli import main

    pdir = projects[board]
    rc = main(["compare", "--qemu", str(pdir), "--model", str(MICRO_SPEECH), "--wav",
               str(wavs), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0, report["first_mismatch"]
    assert report["mismatches"] == {"features": 0, "scores": 0, "detections": 0}
    pair = report["pairs"][0]
    assert (pair["a"], pair["b"]) == ("host", "qemu")
    # 4 clips of one window each; the 4 s stream has 199 frames: (199 - 49) // 5 + 1 = 31.
    assert pair["tensors"] == 4 + 31 and pair["mismatched_tensors"] == 0
    assert report["clips"] == 5 and report["first_mismatch"] is None
    assert report["detections"] >= 2  # yes and no, alone and in the stream


def test_compare_reports_a_differing_host(projects, wavs, tmp_path, capsys) -> None:
    """The host runs the model one frame later between inferences than the device: the
    features agree, the score vectors differ from the second inference on."""
    from kws.cli import main

    pdir = tmp_path / "project"
    shutil.copytree(projects["qemu-mps2-an386"], pdir)
    cfg = json.loads((pdir / "project.json").read_text())
    cfg["stride_frames"] += 1
    (pdir / "project.json").write_text(json.dumps(cfg))
    args = ["compare", "--qemu", str(pdir), "--model", str(MICRO_SPEECH), "--wav",
            str(wavs / "stream.wav")]
    assert main(args) == 1
    text = capsys.readouterr().out
    assert "stage scores (model output" in text
    assert "host:" in text and "device:" in text
    assert main([*args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["mismatches"]["features"] == 0 and report["mismatches"]["scores"] > 0
    assert report["first_mismatch"]["stage"] == "scores"
    assert report["first_mismatch"]["inference"] == 2
    assert report["mismatched_clips"] == [str(wavs / "stream.wav")]

    other = tmp_path / "other.tflite"  # another model than the project's: refused
    other.write_bytes(MICRO_SPEECH.read_bytes() + b"\0")
    assert main(["compare", "--qemu", str(pdir), "--model", str(other), "--wav",
                 str(wavs / "yes.wav")]) == 2
    assert "not the model the device's project was built from" in capsys.readouterr().err


def _wait_for(events: list[dict], pred, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in list(events) if pred(e)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no such event within {timeout} s: {events[-10:]}")


def test_monitor_reconnects_to_a_restarted_emulator(projects) -> None:
    from kws.firmware_project.run import start_project_qemu
    from kws.monitor import Monitor

    pdir = projects["qemu-mps2-an386"]
    events: list[dict] = []
    first = start_project_qemu(pdir)
    monitor = Monitor(first.url, events.append, backoff=(0.1, 0.5))
    thread = threading.Thread(target=monitor.run, args=(120.0,), daemon=True)
    thread.start()
    try:
        info = _wait_for(events, lambda e: e["event"] == "info")
        assert info["frontend"] == "micro" and info["stride_frames"] == 5
        assert not info["restart"]
        _wait_for(events, lambda e: e["event"] == "status")
        first.stop()  # the board goes away mid-stream
        _wait_for(events, lambda e: e["event"] == "link" and e["state"] == "lost")
        _wait_for(events, lambda e: e["event"] == "link" and e["state"] == "waiting")
        with start_project_qemu(pdir, port=first.port):
            _wait_for(events, lambda e: e["event"] == "link" and e["state"] == "reconnected")
            again = _wait_for(events, lambda e: e["event"] == "info" and e is not info)
            assert again["model_id"] == info["model_id"]
            monitor.stop()
            thread.join(10)
    finally:
        monitor.stop()
        first.stop()
    assert not thread.is_alive()
    assert [e["state"] for e in events if e["event"] == "link"][0] == "connected"


def _firmware_output(pdir: Path) -> list[P.Frame]:
    """What the real firmware sent for a yes + no stream (INFO, STATUS, SCORES, ...)."""
    from kws.audio import load_audio
    from kws.firmware_project.run import start_project_qemu
    from kws.link import Link

    audio = np.concatenate([load_audio(FIXTURES / f"{n}_1000ms.wav") for n in ("yes", "no")])
    seen: list[P.Frame] = []
    with start_project_qemu(pdir) as session, Link(session.url, timeout=20) as link:
        seen.append(link.receive(20))  # boot INFO
        for start in range(0, len(audio), 512):
            link.send(P.AUDIO, P.audio_payload(audio[start : start + 512]))
        link.request(P.PING, b"", P.ACK, seen, timeout=60)
    return seen


def test_monitor_survives_garbage_restarts_and_drops(projects) -> None:
    """A TCP peer replays the firmware's real output to the monitor, with garbage, truncated
    frames, a board restart (a new INFO mid-stream) and a dropped connection in between."""
    from kws.monitor import Monitor

    frames = _firmware_output(projects["qemu-mps2-an386"])
    raw = [P.encode_frame(f.type, f.payload, f.seq) for f in frames]
    scores = [r for r, f in zip(raw, frames, strict=True) if f.type == P.SCORES]
    detections = sum(f.type == P.DETECTION for f in frames)
    assert frames[0].type == P.INFO and detections >= 1 and len(scores) > 10
    garbage = np.random.default_rng(3).integers(0, 256, 300, dtype=np.uint8).tobytes()
    half = len(raw) // 2
    first = (raw[0] + garbage + b"".join(raw[1:half]) + scores[0][:12]  # truncated
             + b"".join(raw[half:]) + raw[0]  # the board restarts: its boot INFO
             + scores[1][:9])  # and the connection drops inside a frame
    second = b"\xa5\x5a\x01" + b"".join(raw)  # a broken sync pair, then a fresh boot

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    events: list[dict] = []
    monitor = Monitor(f"socket://127.0.0.1:{server.getsockname()[1]}", events.append,
                      backoff=(0.1, 0.5))
    thread = threading.Thread(target=monitor.run, args=(60.0,), daemon=True)
    thread.start()
    try:
        for payload in (first, second):
            conn, _ = server.accept()
            # pyserial's socket:// open() discards what has already arrived (as a board's
            # bytes sent before the port opens are lost): send once it is open.
            time.sleep(0.5)
            conn.sendall(payload)
            time.sleep(1.5)
            conn.close()
            _wait_for(events, lambda e: e["event"] == "link" and e["state"] == "lost")
    finally:
        monitor.stop()
        server.close()
        thread.join(10)
    assert not thread.is_alive()
    kinds = [e["event"] for e in events]
    assert [e["restart"] for e in events if e["event"] == "info"] == [False, True, False]
    assert kinds.count("detection") == 2 * detections
    assert kinds.count("scores") == 2 * len(scores)
    assert sum(e["bytes"] for e in events if e["event"] == "garbage") >= 300
    assert [e["state"] for e in events if e["event"] == "link"][:3] == [
        "connected", "lost", "reconnected"]
    detection = next(e for e in events if e["event"] == "detection")
    assert set(detection) >= {"time_s", "label", "average", "frame_index"}


def test_monitor_cli_json_and_ctrl_c(projects) -> None:
    from kws.firmware_project.run import start_project_qemu

    with start_project_qemu(projects["qemu-mps2-an386"]) as session:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kws.cli", "monitor", "--port", session.url, "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # As a shell starts a background job: SIGINT ignored; kws must still stop on it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            lines = [json.loads(proc.stdout.readline()) for _ in range(3)]
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert [e["event"] for e in lines] == ["link", "info", "status"]
    assert lines[1]["frontend"] == "micro" and lines[2]["mic_audio"] is False
    assert proc.returncode == 130 and "Traceback" not in err
