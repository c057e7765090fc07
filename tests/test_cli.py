"""The ``kws`` command line as a user meets it: start-up, --help, errors, piped output, and
the features and compare commands end to end."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_no_tf_noise

from kws.cli import build_parser, main
from kws.console import make_console

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"


def kws(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``kws ARGS`` in a fresh interpreter, output captured (a pipe, not a terminal)."""
    return subprocess.run([sys.executable, "-m", "kws.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_train_missing_data_is_one_fast_line(tmp_path: Path) -> None:
    started = time.perf_counter()
    proc = kws("train", "--data", "/nonexistent", "--words", "yes", "--out", str(tmp_path / "r"))
    seconds = time.perf_counter() - started
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == ["kws: error: /nonexistent: dataset folder not found"]
    assert proc.stdout == ""
    # Importing TensorFlow alone takes several seconds; the answer must not wait for it.
    assert seconds < 15, f"{seconds:.1f} s"
    assert not (tmp_path / "r").exists()


def test_train_and_demo_validate_before_importing_tensorflow(tmp_path: Path) -> None:
    a_file = tmp_path / "clips.txt"
    a_file.write_text("not a folder")
    run, data, missing = str(tmp_path / "run"), str(tmp_path), "/nonexistent"
    cases = [
        (["train", "--data", missing, "--out", run], f"{missing}: dataset folder not found"),
        (["train", "--data", str(a_file), "--out", run], f"{a_file}: is a file, not a dataset"),
        (["train", "--data", data, "--out", str(a_file)], f"{a_file}: is a file, not a run"),
        (["train", "--data", data, "--out", run, "--lr", "0"], "--lr must be a positive"),
        (["train", "--data", data, "--out", run, "--words", ","], "--words is empty"),
        (["train", "--data", data, "--out", run, "--init-model", missing],
         f"{missing}: no model to start training from"),
        (["demo", "--data", missing, "--out", run], f"{missing}: dataset folder not found"),
        (["demo", "--out", str(a_file)], f"{a_file}: is a file, not a run directory"),
        (["demo", "--out", run, "--words", " , "], "--words is empty"),
    ]
    for args, needle in cases:
        code = ("import sys\nfrom kws.cli import main\n"
                f"code = main({args!r})\n"
                "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
                "print('imported:', heavy)\nsys.exit(code)\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout.strip() == "imported: []"
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kws: error: {needle}"), proc.stderr
    assert not (tmp_path / "run").exists()


def test_train_import_graph_has_no_tensorflow() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kws.cli", "train",
                           "--data", "/nonexistent", "--words", "yes", "--out", "/nonexistent"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "kws.train" in imported  # the command ran (importlib imports go unlisted)
    assert not {m for m in imported if m.split(".")[0] in ("tensorflow", "keras")}


def test_range_checked_options_fail_in_argparse(capsys) -> None:
    for option, value in (("--epochs", "0"), ("--dropout", "1"), ("--batch-size", "-3"),
                          ("--background-probability", "1.5"), ("--clip-ms", "x")):
        with pytest.raises(SystemExit) as exc:
            main(["train", "--data", ".", "--out", "r", option, value])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {option}" in err and value in err, err


def _parsers(parser: argparse.ArgumentParser, name: str = "kws"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_has_help_and_shows_its_default() -> None:
    parsers = dict(_parsers(build_parser()))
    assert {"kws train", "kws features", "kws compare", "kws demo", "kws firmware build"} \
        <= set(parsers)
    for name, parser in parsers.items():
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
            for option in action.option_strings:
                assert option in text, f"{name} --help does not mention {option}"
            # A flag is off unless given; any other option with a value says its default.
            if action.option_strings and action.nargs != 0 and action.default not in (
                    None, argparse.SUPPRESS):
                shown = parser.formatter_class("kws")._get_help_string(action)
                assert "default" in shown.lower(), f"{name} {action.option_strings}: {shown}"
    train_help = " ".join(parsers["kws train"].format_help().split())
    assert "training epochs (default: 30)" in train_help
    assert "--snr-db LO,HI augmentation: signal-to-noise range of the mixed noise " \
           "(default 10,40)" in train_help


def test_help_of_every_command_runs() -> None:
    for name in ("train", "features", "compare", "demo", "deploy", "run", "evaluate",
                 "export", "flash"):
        proc = kws(name, "--help")
        assert proc.returncode == 0 and "--verbose" in proc.stdout, proc.stderr
        assert_no_tf_noise(proc.stdout + proc.stderr)


def test_console_to_a_file_does_not_wrap() -> None:
    out = StringIO()
    line = "word " * 60
    make_console(file=out).print(line)
    assert out.getvalue() == line + "\n"


def test_piped_table_is_not_wrapped() -> None:
    proc = kws("compare", "--model", str(MICRO_SPEECH), "--random", "2")
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "mismatched" in line)
    assert "mismatched tensors" in header and "argmax differs" in header
    assert len(header) > 80
    assert_no_tf_noise(proc.stderr)


def test_compare_agreeing_engines_exit_0_and_strict_is_accepted(capsys) -> None:
    for extra in ([], ["--strict"]):
        code = main(["compare", "--model", str(MICRO_SPEECH), "--engines", "tflm,native",
                     "--random", "4", "--json", *extra])
        assert code == 0
        report = json.loads(capsys.readouterr().out)
        assert report["pairs"][0]["mismatched_tensors"] == 0


def test_features_wav_to_npy(tmp_path: Path) -> None:
    out = tmp_path / "feats.npy"
    proc = kws("features", str(FIXTURES / "yes_1000ms.wav"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    features = np.load(out)
    assert features.dtype == np.uint16 and features.shape == (49, 40)
    assert features.any()
    assert str(out) in proc.stdout and "49 frames x 40" in proc.stdout
    assert_no_tf_noise(proc.stderr)

    mfcc = tmp_path / "mfcc.npy"
    assert main(["features", "--frontend", "mfcc", str(FIXTURES / "yes_1000ms.wav"),
                 "-o", str(mfcc)]) == 0
    assert np.load(mfcc).dtype == np.float32 and np.load(mfcc).shape == (49, 10)


@pytest.mark.parametrize("case", ["garbage", "missing", "empty", "bad_output"])
def test_features_bad_input_is_one_line_and_no_output(tmp_path: Path, capsys,
                                                      case: str) -> None:
    wav = tmp_path / "clip.wav"
    out = tmp_path / "feats.npy"
    if case == "garbage":
        wav.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    elif case == "empty":
        wav.write_bytes(b"")
    elif case == "bad_output":
        wav = FIXTURES / "yes_1000ms.wav"
        out = tmp_path / "feats.txt"
    code = main(["features", str(wav), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("kws: error: "), err
    assert (str(out) if case == "bad_output" else str(wav)) in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == ([wav] if case in ("garbage", "empty") else [])


@pytest.mark.slow
def test_compare_disagreeing_engines_exit_1(tmp_path: Path, capsys) -> None:
    """A wide FULLY_CONNECTED layer: LiteRT rounds its requantization once where TFLM (and
    the native C) round twice, so some of its 2000 outputs per input differ by 1."""
    import keras

    from kws.export import convert_int8

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(2000)])
    rep = np.random.default_rng(0).normal(size=(32, 64)).astype(np.float32)
    path = tmp_path / "wide_fc.tflite"
    path.write_bytes(convert_int8(model, rep))
    code = main(["compare", "--model", str(path), "--engines", "tflm,native,litert",
                 "--random", "20", "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    assert pairs[("tflm", "native")]["mismatched_tensors"] == 0
    assert pairs[("tflm", "litert")]["mismatched_elements"] > 0
    assert code == 1
    differ = captured.err.splitlines()
    assert len(differ) == 2 and differ[0].startswith("kws compare: tflm/litert: ")
    assert differ[1].startswith("kws compare: native/litert: ")
    # --strict is still accepted and changes nothing.
    assert main(["compare", "--model", str(path), "--engines", "tflm,litert", "--random", "20",
                 "--strict", "--json"]) == 1


def _quiet_installed(*argv: str) -> str:
    """Run ``kws ARGV`` in a fresh interpreter; say whether the quiet start-up is installed."""
    code = ("import sys\nfrom kws import quiet\nfrom kws.cli import main\n"
            f"main({list(argv)!r})\n"
            "print(any(isinstance(f, quiet._SilentFirstImport) for f in sys.meta_path))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    return proc.stdout.strip()


def test_verbose_keeps_tensorflow_logging() -> None:
    args = ("train", "--data", "/nonexistent", "--out", "/nonexistent")
    assert _quiet_installed(*args) == "True"
    assert _quiet_installed("--verbose", *args) == "False"
    assert _quiet_installed(*args, "--verbose") == "False"


@pytest.mark.slow
def test_quiet_startup_hides_tensorflow_import_lines() -> None:
    def import_tensorflow(quiet: bool) -> str:
        code = ("from kws.quiet import quiet_startup\nquiet_startup()\n" if quiet else "") + \
            "import keras\nkeras.ops.convert_to_tensor([1.0])\n"
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    loud = import_tensorflow(quiet=False)
    assert "oneDNN" in loud or "absl::InitializeLog" in loud, loud  # what there is to hide
    assert_no_tf_noise(import_tensorflow(quiet=True))
