"""Commands that write a directory replace only an empty one or their own earlier output.

A folder holding a user's files is refused with one line and left untouched; ``--force``
replaces it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kws.cli import main
from kws.errors import KwsError
from kws.fileio import check_output_dir

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"
NOTES = "my notes, not kws's\n"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _user_folder(tmp_path: Path, name: str = "mine") -> Path:
    folder = tmp_path / name
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text(NOTES)
    (folder / "sub" / "data.bin").write_bytes(b"\x00\x01")
    return folder


def _refused(argv: list[str], folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(folder)
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert str(folder) in err[0] and "--force" in err[0], err
    assert _snapshot(folder) == before


@pytest.fixture
def model(tmp_path: Path) -> Path:
    from kws.features import MicroFrontendConfig

    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, path)
    meta = {"model_file": path.name, "labels": ["_silence_", "_unknown_", "yes", "no"],
            "frontend": MicroFrontendConfig().to_dict()}
    (folder / "model.json").write_text(json.dumps(meta))
    return path


def test_check_output_dir_rule(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "absent", "train.json") == tmp_path / "absent"
    empty = tmp_path / "empty"
    empty.mkdir()
    check_output_dir(empty, "train.json")
    user = _user_folder(tmp_path)
    with pytest.raises(KwsError, match="no train.json.*--force"):
        check_output_dir(user, "train.json")
    check_output_dir(user, "train.json", force=True)
    (user / "train.json").write_text("{}")
    check_output_dir(user, "train.json")
    # Another command's output is not this command's: a run is no firmware project.
    with pytest.raises(KwsError, match="no project.json"):
        check_output_dir(user, "project.json")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(KwsError, match="is a file, not a directory"):
        check_output_dir(a_file, "train.json", force=True)


def test_deploy_refuses_a_user_folder(model: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = _user_folder(tmp_path)
    _refused(["deploy", str(model), "--out", str(folder)], folder, capsys)


def test_deploy_refuses_a_training_run(model: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # Pointing deploy at the run directory by mistake must not delete the run.
    run = model.parent
    _refused(["deploy", str(model), "--out", str(run)], run, capsys)


def test_deploy_replaces_its_project_and_force_replaces_anything(
        model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "project"
    assert main(["deploy", str(model), "--out", str(out)]) == 0
    (out / "stale.txt").write_text("from the earlier project")
    assert main(["deploy", str(model), "--out", str(out), "--threshold", "0.7"]) == 0
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "project.json").read_text())["threshold"] == pytest.approx(0.7)

    user = _user_folder(tmp_path)
    assert main(["deploy", str(model), "--out", str(user), "--force"]) == 0
    assert not (user / "notes.txt").exists()
    assert (user / "project.json").is_file()
    capsys.readouterr()


def test_deploy_arduino_library_refuses_a_user_folder(
        model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _user_folder(tmp_path, "kws_library")
    _refused(["deploy", str(model), "--board", "nano33ble", "--out", str(folder)], folder,
             capsys)
    assert main(["deploy", str(model), "--board", "nano33ble", "--out", str(folder),
                 "--force"]) == 0
    assert (folder / "project.json").is_file() and not (folder / "notes.txt").exists()
    assert main(["deploy", str(model), "--board", "nano33ble", "--out", str(folder)]) == 0


@pytest.mark.parametrize("command", ["train", "demo"])
def test_train_and_demo_refuse_a_user_folder(command: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "yes").mkdir(parents=True)
    folder = _user_folder(tmp_path)
    argv = [command, "--data", str(data), "--out", str(folder)]
    _refused(argv + (["--words", "yes"] if command == "train" else []), folder, capsys)


def test_train_accepts_empty_earlier_run_or_force(tmp_path: Path) -> None:
    from kws.commands.train import check_paths

    data = tmp_path / "data"
    data.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    check_paths(data, run)
    (run / "train.json").write_text("{}")
    (run / "model.keras").write_text("earlier")
    check_paths(data, run)
    export = tmp_path / "export"  # kws export's files: training there supersedes them
    export.mkdir()
    (export / "model.json").write_text("{}")
    check_paths(data, export)
    user = _user_folder(tmp_path)
    with pytest.raises(KwsError, match="--force"):
        check_paths(data, user)
    check_paths(data, user, force=True)


def test_export_refuses_a_folder_that_is_no_run(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # kws export writes beside a training run's files only; a user's folder is no run.
    folder = _user_folder(tmp_path)
    before = _snapshot(folder)
    assert main(["export", str(folder), "--quiet"]) != 0
    assert "not a training run" in capsys.readouterr().err
    assert _snapshot(folder) == before


def test_record_adds_to_a_folder_and_deletes_nothing(tmp_path: Path) -> None:
    import numpy as np

    from kws.record import save_take

    folder = _user_folder(tmp_path)
    before = _snapshot(folder)
    save_take(folder, "yes", "speaker1", np.zeros(16000, np.int16), {"word": "yes"})
    save_take(folder, "yes", "speaker1", np.zeros(16000, np.int16), {"word": "yes"})
    after = _snapshot(folder)
    assert {k: after[k] for k in before} == before
    assert len(after) > len(before)


def test_unknown_board_message_names_every_board(model: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    boards = sorted(p.name for p in (Path(__file__).parents[1] / "firmware" / "boards").iterdir()
                    if (p / "board.json").is_file())
    assert len(boards) >= 3
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF")
    for argv in (["deploy", str(model), "--board", "no-such", "--out", str(tmp_path / "p")],
                 ["flash", str(elf), "--board", "no-such", "--dry-run"]):
        assert main(argv) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unknown board 'no-such'" in err[0], err
        assert all(board in err[0] for board in boards), err[0]
    from kws.cli import build_parser

    # Unwrapped: argparse may break a line after a hyphen.
    helps = {name: re.sub(r"-\s+", "-", " ".join(parser.format_help().split()))
             for name, parser in _subparsers(build_parser())}
    assert all(board in helps["deploy"] for board in boards)
    flashable = [b for b in boards
                 if json.loads((Path(__file__).parents[1] / "firmware" / "boards" / b
                                / "board.json").read_text())["flash"]["tools"]]
    assert flashable and all(board in helps["flash"] for board in flashable)


def _subparsers(parser):  # type: ignore[no-untyped-def]
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()
