"""``kws evaluate`` on the datasets users have: a plain ``yes/ no/`` folder, with or without
Speech Commands file names, and the one-line answers for paths that are no dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kws.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
LABELS = ["_silence_", "_unknown_", "yes", "no"]


@pytest.fixture
def model(tmp_path: Path) -> Path:
    from kws.features import MicroFrontendConfig
    from kws.modelinfo import io_quantization

    path = tmp_path / "model" / "model_int8.tflite"
    path.parent.mkdir()
    shutil.copy(MICRO_SPEECH, path)
    in_q, _ = io_quantization(path)
    (path.parent / "model.json").write_text(json.dumps({
        "model_file": path.name, "labels": LABELS, "frontend": MicroFrontendConfig().to_dict(),
        "input_scale": in_q.scale, "input_zero_point": in_q.zero_point}))
    return path


def _yes_no_folder(root: Path, names: dict[str, str]) -> Path:
    for word, name in names.items():
        (root / word).mkdir(parents=True)
        shutil.copy(FIXTURES / f"{word}_1000ms.wav", root / word / name)
    return root


@pytest.mark.parametrize("names", [
    {"yes": "speaker1_nohash_0.wav", "no": "speaker2_nohash_0.wav"},  # Speech Commands names
    {"yes": "take1.wav", "no": "take1.wav"},                             # one folder per label
], ids=["speech-commands-names", "plain-names"])
def test_evaluate_a_plain_yes_no_folder(model: Path, tmp_path: Path, names: dict[str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    data = _yes_no_folder(tmp_path / "data", names)
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["labels"] == LABELS
    # One clip per word, no silence or unknown clips made up; TFLM's model gets both right.
    assert [sum(row) for row in result["confusion"]] == [0, 0, 1, 1]
    assert result["accuracy"] == 1.0 and result["balanced_accuracy"] == 1.0


def test_evaluate_refuses_labels_the_model_does_not_know(
        model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _yes_no_folder(tmp_path / "data", {"yes": "a.wav", "no": "b.wav"})
    (data / "maybe").mkdir()
    shutil.copy(FIXTURES / "yes_1000ms.wav", data / "maybe" / "c.wav")
    assert main(["evaluate", "--model", str(model), "--data", str(data)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "maybe" in err[0] and "not outputs of the model" in err[0], err


def test_evaluate_only_the_words_that_have_a_folder(
        model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _yes_no_folder(tmp_path / "data", {"yes": "s1_nohash_0.wav"})
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [sum(row) for row in result["confusion"]] == [0, 0, 1, 0]


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_dataset_path_that_is_a_file(command: str, model: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "clips.zip"
    a_file.write_bytes(b"PK")
    argv = {"evaluate": ["evaluate", "--model", str(model), "--data", str(a_file)],
            "train": ["train", "--data", str(a_file), "--out", str(tmp_path / "run")]}[command]
    assert main(argv) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"kws: error: {a_file}: is a file, not a dataset folder"]


def test_loaders_say_what_a_dataset_path_is(tmp_path: Path) -> None:
    from kws.data import load_dataset, load_folder_dataset, load_speech_commands
    from kws.errors import KwsError

    a_file = tmp_path / "clips.txt"
    a_file.write_text("x")
    for load in (load_dataset, load_folder_dataset, load_speech_commands):
        with pytest.raises(KwsError, match="is a file, not a dataset folder"):
            load(a_file)
        with pytest.raises(KwsError, match="dataset folder not found"):
            load(tmp_path / "missing")
