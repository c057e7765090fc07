"""``kws listen`` through a real PortAudio device: a private PulseAudio server's null sink
plays real words planted in noise, ``kws listen`` hears them on the sink's monitor (at the
device's rate, resampled in blocks) and detects them with the firmware app built for the
host; a second engine (tflite-micro) agrees on every window."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from support.micro_speech import micro_speech_model, planted_stream, write_wav
from support.pulse import DEVICE, PulseServer, pulse  # noqa: F401  (fixture)

from kws.board_check import match_detections
from kws.listen import EndOfWord


def kws_listen(server: PulseServer, args: list[str], play: Path | None = None,
               env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run ``kws listen ARGS``; ``play`` goes into the sink once it is listening."""
    proc = subprocess.Popen([sys.executable, "-m", "kws.cli", "listen", *args],
                            env={**server.env, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    player = None
    try:
        assert proc.stderr is not None and proc.stdout is not None
        err = []
        for line in proc.stderr:
            err.append(line)
            if line.startswith("listening:") and play is not None:
                player = server.play_async(play)
        out = proc.stdout.read()
        rc = proc.wait()
    finally:
        timer.cancel()
        proc.kill()
        if player is not None:
            player.wait(timeout=30)
    return rc, out, "".join(err)


def test_listen_detects_words_played_into_the_microphone(
    pulse: PulseServer, tmp_path: Path  # noqa: F811
) -> None:
    from kws.host_app import HostApp

    cache = {"KWS_CACHE_DIR": str(tmp_path / "cache")}
    model = micro_speech_model(tmp_path / "model")
    audio, words = planted_stream(snr_db=20.0, noise="pink_noise.wav")
    wav = write_wav(tmp_path / "words.wav", audio)
    duration = len(audio) / 16000 + 1.5
    rc, out, err = kws_listen(pulse, ["--model", str(model), "--device", DEVICE, "--duration",
                                      f"{duration:.1f}", "--compare-engine", "tflm", "--json"],
                              play=wav, env=cache)
    assert rc == 0, err
    summary = json.loads(out)
    dets = summary["detections"]
    # Playback starts when listening starts (give or take a block or two): detections
    # land in their planted word's window; the sink -> monitor -> 16 kHz path may cost the
    # weakest word (the last "no" scores near the threshold even from the file).
    match = match_detections(dets, words, max_delay_s=1.2)
    assert not match["false"], dets
    assert len(match["found"]) >= 3 and match["found"][:3] == ["yes", "no", "yes"], dets
    assert summary["device_rate"] > 0 and summary["duration_s"] >= duration - 0.1
    assert summary["dropped_blocks"] == 0
    assert summary["compare"]["engine"] == "tflm"
    assert summary["compare"]["inferences"] > 20
    assert summary["compare"]["identical"] == summary["compare"]["inferences"]
    assert any(d["latency_s"] is not None for d in dets)
    assert "listening: 'pulse' at" in err

    # From the file directly, the same app finds all four.
    app = HostApp.from_model(model)
    direct = app.process(audio)
    assert [app.labels[i] for i in direct.detection_labels] == ["yes", "no", "yes", "no"]


def test_listen_errors_are_one_line(pulse: PulseServer, tmp_path: Path) -> None:  # noqa: F811
    model = micro_speech_model(tmp_path / "model")
    rc, out, err = kws_listen(pulse, ["--model", str(model), "--device", DEVICE,
                                      "--rate", "1", "--duration", "1"])
    assert rc == 2 and err.startswith(f"kws: error: input device '{DEVICE}' does not "
                                      "support 1 Hz (") and err.count("\n") == 1, err
    gone = PulseServer(tmp_path / "nothing", 0)
    rc, out, err = kws_listen(gone, ["--model", str(model), "--device", DEVICE])
    assert rc == 2 and err.startswith(f"kws: error: no input device '{DEVICE}'"), err
    assert err.count("\n") == 1 and out == ""
    rc, out, err = kws_listen(pulse, ["--list-devices"])
    assert rc == 0 and f"  {DEVICE}  (" in err


def test_end_of_word_tracker_on_planted_words() -> None:
    """The energy tracker that measures latency finds each planted word's end, also when
    the stream starts with digital silence (a monitor before playback starts) and the
    noise comes in later."""
    audio, words = planted_stream(snr_db=20.0, noise="pink_noise.wav")
    lead = 1.0
    audio = np.concatenate([np.zeros(int(lead * 16000), np.int16), audio])
    tracker = EndOfWord(16000)
    for start in range(0, len(audio), 800):
        tracker.feed(audio[start:start + 800])
    ends = np.array(tracker.ends)
    assert len(ends) == len(words), (ends, words)
    for word in words:
        assert np.min(np.abs(ends - lead - word.end_s)) < 0.15, (word, ends)
    last = words[-1].end_s + lead
    assert tracker.latency(last + 0.25) == pytest.approx(0.25, abs=0.15)
    # A detection inside the word: negative latency, the word's end is after it.
    assert tracker.latency(last - 0.2) == pytest.approx(-0.2, abs=0.15)
    assert tracker.latency(last + 5) is None
    assert not tracker.pending(last)


def test_listener_view_and_agreement_at_44k1(tmp_path: Path) -> None:
    """The live engine on 44.1 kHz float blocks: the planted words, the second engine equal
    on every window, and a view that shows bars, level, dropped blocks and the log."""
    import soxr
    from rich.console import Console

    from kws.engines import open_session
    from kws.host_app import HostApp
    from kws.listen import Listener

    model = micro_speech_model(tmp_path / "model")
    audio, words = planted_stream(snr_db=20.0, noise="pink_noise.wav")
    device = soxr.resample(audio.astype(np.float32) / 32768, 16000, 44100)
    app = HostApp.from_model(model, features=True)
    listener = Listener(app, 44100, ("tflm", open_session("tflm", model)))
    for start in range(0, len(device), 2205):
        listener.feed(device[start:start + 2205])
    assert listener.seconds == pytest.approx(len(audio) / 16000, abs=0.05)
    match = match_detections(listener.detections, words)
    assert match["found"][:3] == ["yes", "no", "yes"] and not match["false"]
    agreement = listener.agreement
    assert agreement is not None and agreement.inferences > 20
    assert agreement.identical == agreement.inferences and agreement.max_difference == 0
    summary = listener.summary(dropped_blocks=2)
    assert summary["dropped_blocks"] == 2 and summary["compare"]["identical"] > 20
    console = Console(record=True, width=100)
    console.print(listener.view(2))
    text = console.export_text()
    assert all(label in text for label in app.labels)
    assert "dropped blocks 2" in text and "dBFS" in text and "tflm:" in text
    assert text.count(" yes ") >= 1 and "ms" in text
