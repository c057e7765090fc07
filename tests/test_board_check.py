"""``kws.board_check``: a firmware run's results made readable, and the board-vs-host check
``kws demo`` runs (the firmware under QEMU against the host pipeline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.reference import contract_scores

from kws import protocol
from kws.board_check import (
    StreamCheck,
    check_against_host,
    demo_streams,
    dequantize,
    first_test_clips,
    plant_words,
    run_report,
)

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "speech_commands_sample"
LABELS = ["_silence_", "_unknown_", "yes", "no"]
HAVE_ARM = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make"))


def test_dequantize_and_run_report() -> None:
    from types import SimpleNamespace

    assert dequantize([-128, 0, 127], 1 / 256, -128).tolist() == [0.0, 0.5, 255 / 256]
    assert float(dequantize(5, 0.5, 3)) == 1.0
    project = {"labels": ["a", "b", "c"], "output_scale": 1 / 256, "output_zero_point": -128}
    # What kws.firmware_project.run.run_project returns, as far as it is read.
    result = SimpleNamespace(
        scores=[protocol.Scores(49, np.array([-128, 100, -28], np.int8)),
                protocol.Scores(59, np.array([127, -128, -128], np.int8))],
        detections=[protocol.Detection(59, 0, 120, 76)],
        features=[],
    )
    report = run_report(result, project)
    assert json.loads(json.dumps(report)) == {
        "labels": ["a", "b", "c"],
        "scores": [{"frame_index": 49, "scores": [-128, 100, -28],
                    "probabilities": [0.0, 0.890625, 0.390625], "top": "b"},
                   {"frame_index": 59, "scores": [127, -128, -128],
                    "probabilities": [0.996094, 0.0, 0.0], "top": "a"}],
        "detections": [{"frame_index": 59, "label": "a", "average": 120,
                        "probability": 0.96875}],
        "features": 0,
    }


def test_demo_streams_and_clips() -> None:
    a, b = np.arange(3, dtype=np.int16), np.arange(5, dtype=np.int16)
    streams = demo_streams([("yes (1.wav)", a), ("no (2.wav)", b)])
    assert [name for name, _ in streams] == ["yes (1.wav)", "no (2.wav)", "yes + no"]
    assert np.array_equal(streams[2][1], np.concatenate([a, b]))
    assert demo_streams([]) == []
    if not SAMPLE.is_dir():
        pytest.skip(f"{SAMPLE} is not checked out")
    clips = first_test_clips(SAMPLE, ["yes", "no"], split="speaker")
    assert [name.split(" ")[0] for name, _ in clips] == ["yes", "no"]
    assert all(audio.dtype == np.int16 and len(audio) > 8000 for _, audio in clips)


@pytest.mark.arm
@pytest.mark.skipif(not HAVE_ARM, reason="needs arm-none-eabi-gcc, qemu-system-arm and make")
def test_board_equals_host_on_real_clips(tmp_path) -> None:
    from kws.audio import load_audio
    from kws.features import MicroFrontendConfig
    from kws.firmware_project.build import build_project
    from kws.firmware_project.deploy import deploy
    from kws.firmware_project.layout import load_project
    from kws.modelinfo import io_quantization

    model = tmp_path / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    in_q, _ = io_quantization(model)
    (tmp_path / "model.json").write_text(json.dumps({
        "model_file": model.name, "labels": LABELS, "frontend": MicroFrontendConfig().to_dict(),
        "input_scale": in_q.scale, "input_zero_point": in_q.zero_point}))
    project_dir = tmp_path / "fw"
    deploy(model, project_dir, "qemu-mps2-an386", stride_frames=7)
    build_project(project_dir)
    clips = [(f"{n} ({n}_1000ms.wav)", load_audio(FIXTURES / f"{n}_1000ms.wav"))
             for n in ("yes", "no")]
    checks = check_against_host(project_dir, model, demo_streams(clips))
    project = load_project(project_dir)
    streams = demo_streams(clips)
    assert [c.name for c in checks] == ["yes (yes_1000ms.wav)", "no (no_1000ms.wav)", "yes + no"]
    for check, (_, audio) in zip(checks, streams, strict=True):
        assert isinstance(check, StreamCheck) and check.identical, check
        assert check.inferences == len(contract_scores(audio, project, model)) > 0
    assert checks[2].inferences == len(range(49, 100, 7))
    # The detections were compared too, and there were some: the words themselves.
    assert checks[2].detections == ["yes", "no"]
    # A host that windows the stream differently from the firmware is told apart.
    cfg = json.loads((project_dir / "project.json").read_text())
    (project_dir / "project.json").write_text(json.dumps({**cfg, "stride_frames": 5}))
    (joined,) = check_against_host(project_dir, model, streams[2:])
    assert joined.inferences == checks[2].inferences and not joined.identical


def test_demo_planted_words_are_detected(tmp_path, monkeypatch) -> None:
    """``kws demo``'s stream (test clips of the bundled sample in its background noise at
    known times) through the host app with the default detection settings: a model that
    knows the words (micro_speech) is shown detecting them, at their times, and nothing
    else."""
    import argparse

    from rich.console import Console
    from support.micro_speech import micro_speech_model

    from kws.commands.demo import _planted_words

    if not SAMPLE.is_dir():
        pytest.skip(f"{SAMPLE} is not checked out")
    monkeypatch.setenv("KWS_CACHE_DIR", str(tmp_path / "cache"))
    model = micro_speech_model(tmp_path / "model")
    console = Console(record=True, width=200)
    args = argparse.Namespace(data=SAMPLE, seed=0)
    summary, audio = _planted_words(args, ["yes", "no"], "auto", model, console)
    # micro_speech was not trained on these speakers: it finds at least half, and never
    # a word that is not there.
    assert summary["words"] == 6 and summary["found"] >= 3 and summary["false"] == 0
    assert audio.dtype == np.int16 and len(audio) > 6 * 16000
    text = console.export_text()
    assert text.count("detected at") == summary["found"]
    assert "yes spoken" in text and "no spoken" in text and "threshold 0.6" in text


def _tone_word(seconds: float, amplitude: float, rate: int = 16000) -> np.ndarray:
    """A vowel-like harmonic tone with silence around it, int16."""
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 6)) * amplitude
    return np.pad(tone, (rate // 4, rate // 4)).astype(np.int16)


@pytest.mark.parametrize("snrs", [(0.0, 10.0, 20.0), (15.0, 5.0, 5.0)])
def test_plant_words_puts_each_word_at_its_own_snr(snrs: tuple[float, ...]) -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16000 * 3) * 1000).astype(np.int16)
    # Recordings 30 dB apart in level: each still lands at its own SNR.
    clips = [("w", _tone_word(0.5, a)) for a in (200.0, 6000.0, 1500.0)]
    audio, words = plant_words(clips, noise, gap_s=1.0, snr_db=list(snrs))
    gap = audio[: 16000 // 2].astype(np.float64)  # noise only
    noise_rms = np.sqrt(np.mean(gap ** 2))
    for word, snr in zip(words, snrs, strict=True):
        a, b = int(word.start_s * 16000), int(word.end_s * 16000)
        part = audio[a:b].astype(np.float64)
        speech_rms = np.sqrt(max(np.mean(part ** 2) - noise_rms ** 2, 1e-9))
        assert 20 * np.log10(speech_rms / noise_rms) == pytest.approx(snr, abs=0.6)
    # One number keeps the clips' own levels (the noise sits below their average).
    fixed, _ = plant_words(clips, noise, gap_s=1.0, snr_db=10.0)
    a, b = int(words[0].start_s * 16000), int(words[0].end_s * 16000)
    quiet = np.sqrt(np.mean(fixed[a:b].astype(np.float64) ** 2))
    assert quiet < 2 * np.sqrt(np.mean(fixed[:8000].astype(np.float64) ** 2))
    with pytest.raises(ValueError, match="2 SNRs for 3 clips"):
        plant_words(clips, noise, snr_db=[1.0, 2.0])
