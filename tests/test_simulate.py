"""The firmware application built for the host (``kws.host_app``), its detection settings
(``kws.detector``, model.json) and ``kws simulate`` on real words planted in real noise.

The model is TFLM's micro_speech (a real yes/no recogniser), so detections are real: the
planted words are found at their times, and nothing else is."""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from support.detection import expected_detections
from support.micro_speech import micro_speech_model, planted_stream, write_wav
from support.reference import contract_scores

from kws.board_check import match_detections
from kws.cli import main
from kws.detector import DEFAULT_AVERAGE_COUNT, DEFAULT_SUPPRESS, DEFAULT_THRESHOLD
from kws.errors import KwsError


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return micro_speech_model(tmp_path_factory.mktemp("micro_speech"))


@pytest.fixture(scope="module")
def stream() -> tuple[np.ndarray, list]:
    return planted_stream(snr_db=20.0, noise="pink_noise.wav")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kws-cache"))


def test_host_app_equals_tflite_micro_and_the_contract(model: Path, stream) -> None:
    """Features = host frontend + contract quantization; scores = tflite-micro on the
    contract's windows; detections = the averaging rule; any block split gives the same."""
    from kws.features import MicroFrontendConfig, compute_features
    from kws.features.quantize import feature_scale, quantize_values
    from kws.host_app import HostApp, HostEvents

    audio, _ = stream
    app = HostApp.from_model(model, features=True)
    whole = app.process(audio)
    raw = compute_features(audio, MicroFrontendConfig())
    cfg = app.project
    assert whole.feature_frames.tolist() == list(range(1, len(raw) + 1))
    assert np.array_equal(whole.raw_features, raw.astype(np.float32))
    assert np.array_equal(whole.features, quantize_values(
        raw, feature_scale(MicroFrontendConfig()), cfg["input_scale"], cfg["input_zero_point"]))
    want = contract_scores(audio, cfg, model, "tflm")
    assert whole.score_frames.tolist() == [s.frame_index for s in want]
    assert np.array_equal(whole.scores, np.stack([s.scores for s in want]))
    detections = whole.detection_list()
    assert detections == expected_detections(whole.score_list(), cfg)
    assert [app.labels[label] for _, label, _ in detections] == ["yes", "no", "yes", "no"]

    app.reset()
    rng = np.random.default_rng(3)
    cuts = np.sort(rng.integers(0, len(audio), 40))
    parts = [app.process(part) for part in np.split(audio, cuts)]
    split = HostEvents.join(parts, app.channels, len(app.labels))
    assert np.array_equal(split.scores, whole.scores)
    assert split.detection_list() == detections
    with pytest.raises(KwsError, match="int16"):
        app.process(audio.astype(np.float32))

    # One C state per build: a newer instance owns it, the older refuses until reset.
    newer = HostApp.from_model(model)
    with pytest.raises(KwsError, match="reset"):
        app.process(audio[:1600])
    assert newer.process(audio).detection_list() == detections
    app.reset()
    assert app.process(audio).detection_list() == detections


def test_detector_settings_come_from_model_json(tmp_path: Path) -> None:
    from kws.detector import DetectorSettings
    from kws.firmware_project.deploy import deploy
    from kws.host_app import HostApp

    assert DetectorSettings.from_meta(None) == DetectorSettings(
        DEFAULT_AVERAGE_COUNT, DEFAULT_THRESHOLD, DEFAULT_SUPPRESS, 10)
    model = micro_speech_model(tmp_path / "m", {"average_count": 2, "threshold": 0.7,
                                                "suppress_inferences": 4})
    app = HostApp.from_model(model)
    assert app.settings == DetectorSettings(2, 0.7, 4, 10)
    assert HostApp.from_model(model, threshold=0.9).settings == DetectorSettings(2, 0.9, 4, 10)
    cfg = deploy(model, tmp_path / "fw", "qemu-mps2-an386")
    assert (cfg["average_count"], cfg["threshold"], cfg["suppress_inferences"]) == (2, 0.7, 4)
    assert cfg["threshold_q"] == app.project["threshold_q"]
    header = (tmp_path / "fw" / "generated" / "kws_app_config.h").read_text()
    assert "#define KWS_APP_AVERAGE_COUNT 2\n" in header
    assert "#define KWS_APP_SUPPRESS_INFERENCES 4\n" in header
    cfg = deploy(model, tmp_path / "fw", "qemu-mps2-an386", average_count=5)
    assert cfg["average_count"] == 5
    for bad in ({"average_count": 0}, {"threshold": 1.5}, {"threshold": "x"}):
        broken = micro_speech_model(tmp_path / "bad", bad)
        with pytest.raises(KwsError):
            HostApp.from_model(broken)


def test_simulate_finds_the_planted_words(model: Path, stream, tmp_path: Path,
                                          capsys) -> None:
    audio, words = stream
    wav = write_wav(tmp_path / "stream.wav", audio)
    png = tmp_path / "trace.png"
    assert main(["simulate", "--model", str(model), str(wav), "--json",
                 "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"detections", "duration_s", "real_time_factor", "settings"}
    assert out["duration_s"] == pytest.approx(len(audio) / 16000)
    assert out["settings"]["threshold"] == DEFAULT_THRESHOLD
    assert out["real_time_factor"] > 1
    dets = out["detections"]
    assert [d["label"] for d in dets] == ["yes", "no", "yes", "no"]
    match = match_detections(dets, words)
    assert match["found"] == ["yes", "no", "yes", "no"] and not match["false"]
    # time_s is the end of the window that triggered: after the word started
    for det, word in zip(dets, words, strict=True):
        assert word.start_s < det["time_s"] <= word.end_s + 1.0
        assert DEFAULT_THRESHOLD <= det["score"] <= 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    assert main(["simulate", "--model", str(model), str(wav)]) == 0
    text = capsys.readouterr().out
    assert "4 detections" in text and "real time" in text and " yes " in text

    # A 48 kHz stereo copy is resampled in blocks: the same words at the same times.
    import soxr

    stereo = soxr.resample(audio.astype(np.float32) / 32768, 16000, 48000)
    wav48 = tmp_path / "stream48.wav"
    sf.write(wav48, np.stack([stereo, stereo], axis=1), 48000, subtype="PCM_16")
    assert main(["simulate", "--model", str(model), str(wav48), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["detections"]
    assert [d["label"] for d in again] == ["yes", "no", "yes", "no"]
    assert all(abs(a["time_s"] - b["time_s"]) <= 0.2 for a, b in zip(again, dets, strict=True))


def test_simulate_errors_are_one_line(model: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    assert main(["simulate", "--model", str(model), str(bad)]) == 2
    assert main(["simulate", "--model", str(tmp_path / "none.tflite"), str(bad)]) == 2
    assert main(["simulate", "--model", str(model), str(bad), "--threshold", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("kws: error: ") for line in err)
    assert "bad.wav" in err[0] and "none.tflite" in err[1] and "threshold" in err[2]


def _long_wav(path: Path, minutes: float, unit: np.ndarray) -> Path:
    """``minutes`` of ``unit`` repeated, written block by block."""
    with sf.SoundFile(path, "w", 16000, 1, "PCM_16") as f:
        for _ in range(int(minutes * 60 * 16000 // len(unit))):
            f.write(unit)
    return path


def test_long_stream_runs_in_constant_memory(model: Path, stream, tmp_path: Path) -> None:
    """A 10-minute file: every planted word found, and the peak memory of the run is that of
    a 1-minute file (the audio is never held whole)."""
    from kws.simulate import simulate_file

    audio, words = stream
    peaks, sims = [], []
    for minutes in (1, 10):
        wav = _long_wav(tmp_path / f"{minutes}.wav", minutes, audio)
        tracemalloc.start()
        sims.append(simulate_file(model, wav))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    step = len(audio) / 16000
    for minutes, sim in zip((1, 10), sims, strict=True):
        repeats = int(minutes * 60 * 16000 // len(audio))
        assert sim.duration_s == pytest.approx(repeats * step)
        planted = [replace(w, start_s=w.start_s + k * step, end_s=w.end_s + k * step)
                   for k in range(repeats) for w in words]
        match = match_detections(sim.detections, planted)
        # Repeats differ (adaptive noise estimate, where the stride falls on each word):
        # most words are found at their times, very few detections are wrong.
        assert len(match["found"]) >= 0.8 * len(planted), (len(match["found"]), len(planted))
        assert len(match["false"]) <= 0.05 * len(planted), match["false"]
    # 10x the audio (19 MB of samples) within 1 MB of the short run's peak
    assert peaks[1] - peaks[0] < 1_000_000, peaks
