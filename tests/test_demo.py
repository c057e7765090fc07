"""``kws demo`` detects: its model, trained on the bundled sample with the demo's recipe,
finds the test clips planted in background noise, at their times, and nothing else; the
planted clips are of speakers the model never trained on; the export prints no converter
status line."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_no_tf_noise

from kws.quiet import native_stderr_filtered

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "datasets" / "speech_commands_sample"
WORDS = ["yes", "no"]


def _c_stderr(text: str) -> None:
    """``text`` written to file descriptor 2 by C code (libc's ``write``), not by Python."""
    data = text.encode()
    ctypes.CDLL(None).write(2, data, len(data))


def test_native_stderr_filter_drops_only_the_noise(capfd) -> None:
    with native_stderr_filtered((b"fully_quantize: ",)):
        _c_stderr("fully_quantize: 0, inference_type: 6, input_inference_type: INT8\n")
        _c_stderr("error: the converter failed\n")
        _c_stderr("  fully_quantize: 1\n")
    err = capfd.readouterr().err
    assert err == "error: the converter failed\n"
    # What the block wrote comes out also when it raises: real errors stay visible.
    with pytest.raises(RuntimeError), native_stderr_filtered((b"fully_quantize: ",)):
        _c_stderr("fully_quantize: 0\nsomething went wrong\n")
        raise RuntimeError("conversion failed")
    assert capfd.readouterr().err == "something went wrong\n"
    # fd 2 is back where it was.
    _c_stderr("after\n")
    assert capfd.readouterr().err == "after\n"


def test_planted_clips_are_test_split_clips_of_unseen_speakers() -> None:
    from kws.board_check import held_out_examples
    from kws.commands.demo import PLANTED_PER_WORD
    from kws.data import load_dataset

    if not SAMPLE.is_dir():
        pytest.skip(f"{SAMPLE} is not checked out")
    splits = load_dataset(SAMPLE, WORDS)
    examples = held_out_examples(SAMPLE, WORDS, PLANTED_PER_WORD)
    assert [ex.label for ex in examples] == WORDS * PLANTED_PER_WORD
    testing = set((SAMPLE / "testing_list.txt").read_text().split())
    assert all(ex.path.relative_to(SAMPLE).as_posix() in testing for ex in examples)
    train_files = {ex.path for ex in splits.train}
    train_speakers = {ex.speaker for ex in splits.train}
    assert not {ex.path for ex in examples} & train_files
    assert not {ex.speaker for ex in examples} & train_speakers
    # A few voices, not one speaker's takes, and the same stream whatever the seed.
    for word in WORDS:
        speakers = [ex.speaker for ex in examples if ex.label == word]
        assert len(set(speakers)) == len(speakers) == PLANTED_PER_WORD
    again = held_out_examples(SAMPLE, WORDS, PLANTED_PER_WORD, seed=7)
    assert [ex.path for ex in again] == [ex.path for ex in examples]


@pytest.mark.slow
def test_demo_model_detects_the_planted_words(tmp_path: Path) -> None:
    """The default demo (without the emulated board, which ``test_cli_slow`` runs): at least
    5 of its 6 planted words detected with the right label while the word is spoken or
    within a second after it, no detection of a word that is not there, and the int8 model
    clearly better than chance on the test clips."""
    if not SAMPLE.is_dir():
        pytest.skip(f"{SAMPLE} is not checked out")
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "kws.cli", "demo", "--no-firmware", "--out", str(out)],
        env={**env, "KWS_CACHE_DIR": str(tmp_path / "cache")}, capture_output=True, text=True,
        timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fully_quantize" not in proc.stderr
    assert_no_tf_noise(proc.stdout + proc.stderr)
    summary = json.loads((out / "demo.json").read_text())
    planted = summary["planted_words"]
    assert planted["words"] == len(planted["planted"]) == 6
    assert [w["label"] for w in planted["planted"]] == WORDS * 3
    detections = [w["detection"] for w in planted["planted"] if w["detection"] is not None]
    assert planted["found"] == len(detections) >= 5, planted
    assert planted["false"] == 0 and planted["false_detections"] == [], planted
    threshold = planted["settings"]["threshold"]
    for word in planted["planted"]:
        det = word["detection"]
        if det is not None:
            assert det["label"] == word["label"]
            assert word["start_s"] <= det["time_s"] <= word["end_s"] + 1.0
            assert threshold <= det["score"] <= 1.0
    assert summary["int8"]["balanced_accuracy"] >= 0.85
    assert summary["native_vs_tflm_mismatches"] == 0
    assert f"{planted['found']}/6, 0 false" in proc.stdout
