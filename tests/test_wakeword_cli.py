"""``kws wakeword``: argument errors as one line, and the whole pipeline on tiny settings
(espeak-ng really speaks, a DS-CNN really trains, the host build of the firmware app
calibrates), whose model ``kws simulate`` and ``kws deploy`` then use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import require_tool

from kws.fileio import check_output_dir
from kws.wakeword.pipeline import (
    SUMMARY_FILE,
    _negative_sources,
    find_sample_dataset,
)

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "speech_commands_sample"


def kws(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``kws ARGS`` in a fresh interpreter, output captured."""
    return subprocess.run([sys.executable, "-m", "kws.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "message"), [
    (["!!", "--out", "{tmp}/run"],
     "kws: error: wake word '!!' must be letters, digits and spaces"),
    (["marvin", "--out", "{tmp}/run", "--recordings", "{tmp}/none"],
     "kws: error: {tmp}/none: recordings folder not found"),
    (["marvin", "--out", "{tmp}/run", "--negatives", "{tmp}/none"],
     "kws: error: {tmp}/none: negatives folder not found"),
    (["marvin", "--out", "{tmp}/run", "--target-fa-per-hour", "0"],
     "kws: error: --target-fa-per-hour must be above 0, not 0.0"),
    (["marvin", "--out", "{tmp}/run", "--engines", "espeak-ng,nosuch"],
     "kws: error: unknown TTS engine 'nosuch' (known: espeak-ng, flite, festival, nanotts, "
     "piper, hibari, kokoro)"),
    (["marvin", "--out", "{tmp}/run", "--engines", " , "],
     "kws: error: --engines ' , ': none of these TTS engines is installed (see kws voices)"),
    (["marvin", "--out", "{tmp}/foreign"],
     "kws: error: {tmp}/foreign: holds files kws did not write (no wakeword.json); choose "
     "another folder, or pass --force to replace it"),
])
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    proc = kws("wakeword", *(a.format(tmp=tmp_path) for a in args))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [message.format(tmp=tmp_path)]
    assert not (tmp_path / "run").exists()
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_default_negatives_are_the_bundled_sample(tmp_path: Path) -> None:
    assert find_sample_dataset() == SAMPLE.resolve()
    assert _negative_sources([], [], None) == ([SAMPLE.resolve()], [])
    assert _negative_sources([], [tmp_path], None) == ([], [tmp_path])


def _planted(path: Path, clip: Path, noise: Path) -> Path:
    """Eight seconds of the sample's noise with ``clip`` in the middle."""
    bed, rate = sf.read(noise, dtype="float32", frames=8 * 16000)
    word, _ = sf.read(clip, dtype="float32")
    bed = 0.1 * bed
    bed[3 * rate:3 * rate + len(word)] += word
    sf.write(path, np.clip(bed, -1, 1), rate, subtype="PCM_16")
    return path


@pytest.mark.slow
def test_tiny_run_end_to_end(tmp_path: Path) -> None:
    require_tool("espeak-ng")
    out = tmp_path / "marvin"
    proc = kws("wakeword", "marvin", "--out", str(out), "--tiny", "--quiet", "--seed", "3",
               timeout=900)
    assert proc.returncode == 0, proc.stderr
    for name in ("model_int8.tflite", "model.json", "report.html", "det.png", SUMMARY_FILE,
                 "data/manifest.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "model.json").read_text())
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert meta["labels"] == ["_silence_", "_unknown_", "marvin"]
    # The calibrated settings are model.json's, and what wakeword.json reports.
    detector = {k: summary["detector"][k] for k in meta["detector"]}
    assert meta["detector"] == detector
    assert meta["stride_frames"] == summary["detector"]["stride_frames"]
    assert meta["calibration"]["fa_per_hour"] == summary["calibration"]["fa_per_hour"]
    assert summary["status"] == "done"
    assert set(summary["stage_seconds"]) == {"generate", "train", "mine", "export",
                                              "calibrate", "report"}
    assert summary["train"]["counts"]["train"] > 0
    # The mined hard negatives joined the training split only: the second round trained on
    # more clips than the first, and validation/test stayed the same.
    mined = sorted((out / "data" / "_mined_").glob("*.wav"))
    assert 0 < len(mined) == summary["mined"]["windows"] <= 8
    first, second = summary["first_round"]["counts"], summary["train"]["counts"]
    assert second["train"] == first["train"] + len(mined)
    assert (second["validation"], second["test"]) == (first["validation"], first["test"])
    assert f"kws simulate --model {out / 'model_int8.tflite'} FILE.wav" in proc.stdout
    assert f"kws deploy {out / 'model_int8.tflite'} --board qemu-mps2-an386" in proc.stdout

    # kws simulate runs the model with model.json's calibrated settings.
    wav = _planted(tmp_path / "planted.wav", SAMPLE / "marvin" / "0c40e715_nohash_0.wav",
                   SAMPLE / "_background_noise_" / "pink_noise.wav")
    sim = kws("simulate", "--model", str(out / "model_int8.tflite"), str(wav), "--json")
    assert sim.returncode == 0, sim.stderr
    report = json.loads(sim.stdout)
    settings = report["settings"]
    assert {k: settings[k] for k in detector} == detector
    assert settings["stride_frames"] == meta["stride_frames"]
    assert report["duration_s"] == pytest.approx(8.0)

    # A second run may write into the same folder: it holds wakeword.json.
    assert check_output_dir(out, SUMMARY_FILE) == out
