"""A damaged ``.tflite`` is refused with one line naming the file, never a traceback or a crash.

Every entry point (``kws run`` on each engine, ``kws compare``, ``kws evaluate``, the
compiler) passes the file through :func:`kws.modelinfo.open_model` before an interpreter
reads it. Damage: truncation at many cut points, random bytes behind a ``TFL3`` header, bit
flips at many positions (each either refused or a model that runs, equal on tflite-micro and
the compiled C), an empty file, a directory, and a ``model.json`` that does not describe its
model. Flipped models run in a subprocess, so a C++ abort would show as a failure.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.int8_models import stable_seed

from kws.errors import KwsError

MICRO_SPEECH = Path(__file__).parent / "fixtures" / "models" / "micro_speech_quantized.tflite"
KWS = [sys.executable, "-m", "kws.cli"]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused_or_valid(path: Path) -> bool:
    """True when ``open_model`` accepts ``path``; a refusal must be one KwsError naming it,
    and the compiler must refuse it too."""
    from kws.deploy import load_graph
    from kws.modelinfo import open_model

    try:
        open_model(path)
        return True
    except KwsError as exc:
        message = str(exc)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    with pytest.raises(KwsError, match=path.name):
        load_graph(path)
    return False


def test_truncated_files_are_refused(tmp_path) -> None:
    data = MICRO_SPEECH.read_bytes()
    cuts = sorted({*range(0, len(data), 41), *range(len(data) - 64, len(data))})
    accepted = [n for n in cuts
                if _refused_or_valid(_write(tmp_path, f"cut{n}.tflite", data[:n]))]
    # Only trailing bytes no table refers to may go (the flatbuffer's alignment padding).
    assert all(n >= len(data) - 16 for n in accepted), accepted
    for n in accepted:
        from kws.engines import run_model

        x = [np.arange(1960, dtype=np.int64).astype(np.int8)]
        assert np.array_equal(run_model("tflm", tmp_path / f"cut{n}.tflite", x)[0],
                              run_model("tflm", MICRO_SPEECH, x)[0])


def test_random_bytes_behind_a_tfl3_header_are_refused(tmp_path) -> None:
    header = MICRO_SPEECH.read_bytes()[:8]
    assert header[4:8] == b"TFL3"
    seed = stable_seed("tfl3-garbage")
    rng = random.Random(seed)
    for i in range(80):
        size = rng.choice([0, 1, 7, 50, 400, 5000, 20000])
        body = rng.randbytes(size)
        path = _write(tmp_path, f"garbage{i}.tflite", header + body)
        assert not _refused_or_valid(path), f"garbage {i} accepted (seed {seed})"


def _flipped_models(tmp_path: Path, count: int, seed: int) -> tuple[list[Path], int]:
    """``count`` copies of micro_speech with 1-3 random bit flips, most in its structure
    (the first and last few kilobytes: tables, vtables, offsets); returns the accepted ones
    and how many were refused."""
    data = MICRO_SPEECH.read_bytes()
    rng = random.Random(seed)
    accepted, refused = [], 0
    for i in range(count):
        b = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 3])):
            pos = rng.choice([rng.randrange(0, 2048), rng.randrange(len(b) - 3072, len(b)),
                              rng.randrange(len(b))])
            b[pos] ^= 1 << rng.randrange(8)
        path = _write(tmp_path, f"flip{i}.tflite", bytes(b))
        if _refused_or_valid(path):
            accepted.append(path)
        else:
            refused += 1
    return accepted, refused


_RUN_FLIPPED = """
import sys
import numpy as np
from kws.engines import run_model
from kws.errors import KwsError
x = [np.random.default_rng(3).integers(-128, 128, 1960).astype(np.int8) for _ in range(3)]
native = set(sys.argv[2:])
for path in sys.argv[1].split(","):
    print("model", path, flush=True)
    try:
        expected = run_model("tflm", path, x)
    except KwsError as exc:
        print("refused", exc, flush=True)
        continue
    assert all(e.shape == (1, 4) for e in expected)
    if path in native:
        got = run_model("native", path, x)
        assert all(np.array_equal(e, g) for e, g in zip(expected, got)), path
print("done", flush=True)
"""


def test_bit_flips_are_refused_or_run(tmp_path) -> None:
    seed = stable_seed("bit-flips")
    accepted, refused = _flipped_models(tmp_path, 300, seed)
    assert refused > 50 and len(accepted) > 60, (seed, refused, len(accepted))
    # A sample of the accepted ones runs on tflite-micro (two also as compiled C, which must
    # agree) in a child process: an abort in the C++ loader fails the test instead of pytest.
    sample = random.Random(seed).sample(accepted, 60)
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_FLIPPED, ",".join(map(str, sample)),
         *map(str, sample[:2])], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("done"), (
        f"seed {seed}: child exited {proc.returncode} after {proc.stdout[-400:]}"
        f"{proc.stderr[-1500:]}")


def _cli_one_line(args: list[str], path: Path, capsys) -> str:
    from kws.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0], err
    return err[0]


def _damaged(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    data = MICRO_SPEECH.read_bytes()
    folder = tmp_path / "folder.tflite"
    folder.mkdir()
    return {
        "empty": (_write(tmp_path, "empty.tflite", b""), "empty file"),
        "directory": (folder, "is a directory"),
        "truncated": (_write(tmp_path, "cut.tflite", data[: len(data) // 2]),
                      "truncated or corrupt"),
        "garbage": (_write(tmp_path, "garbage.tflite", data[:8] + bytes(range(256)) * 4),
                    "truncated or corrupt"),
        "not_flatbuffer": (_write(tmp_path, "text.tflite", b"hello, model" * 9),
                           "not a .tflite model"),
        "missing": (tmp_path / "missing.tflite", "model file not found"),
    }


@pytest.mark.parametrize("engine", ["tflm", "litert", "native", "qemu"])
def test_kws_run_refuses_damaged_models_on_every_engine(tmp_path, capsys, engine) -> None:
    x = tmp_path / "x.npy"
    np.save(x, np.zeros(1960, np.int8))
    for path, needle in _damaged(tmp_path).values():
        line = _cli_one_line(["run", "--engine", engine, "--model", str(path), "--input",
                              str(x), "--output", str(tmp_path / "y.npy")], path, capsys)
        assert needle in line, line
    assert not (tmp_path / "y.npy").exists()


def test_compare_and_evaluate_refuse_damaged_models(tmp_path, capsys) -> None:
    data_dir = tmp_path / "data" / "yes"
    data_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures" / "yes_1000ms.wav", data_dir / "a.wav")
    for path, needle in _damaged(tmp_path).values():
        line = _cli_one_line(["compare", "--model", str(path), "--random", "3"], path, capsys)
        assert needle in line, line
        line = _cli_one_line(["evaluate", "--model", str(path), "--data",
                              str(tmp_path / "data")], path, capsys)
        assert needle in line, line


def test_cli_subprocess_one_line_for_damaged_models(tmp_path) -> None:
    """The real process: exit status 2 and exactly one stderr line naming the file."""
    damaged = _damaged(tmp_path)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros(1960, np.int8))
    for key, args in (("truncated", ["run", "--engine", "tflm", "--input", str(x),
                                     "--output", str(tmp_path / "y.npy")]),
                      ("garbage", ["compare", "--random", "2"]),
                      ("empty", ["evaluate", "--data", str(tmp_path)])):
        path, needle = damaged[key]
        proc = subprocess.run([*KWS, *args, "--model", str(path)], capture_output=True,
                              text=True, timeout=300)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (key, proc.returncode, proc.stderr)
        assert str(path) in lines[0] and needle in lines[0], lines


def _model_with_json(tmp_path: Path, **changes: object) -> Path:
    from kws.features import MicroFrontendConfig

    model = tmp_path / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    meta = {"model_file": model.name, "labels": ["_silence_", "_unknown_", "yes", "no"],
            "frontend": MicroFrontendConfig().to_dict(), "input_shape": [1, 1960],
            "input_scale": 0.10171568393707275, "input_zero_point": -128}
    meta.update(changes)
    (tmp_path / "model.json").write_text(json.dumps(meta))
    return model


@pytest.mark.parametrize("changes,needle", [
    ({"labels": ["yes", "no", "up"]}, "3 labels, the model has 4 outputs"),
    ({"input_shape": [1, 49, 10, 1]}, "input shape [1, 49, 10, 1]"),
    ({"input_scale": 0.5}, "input_scale 0.5"),
    ({"frontend": {"type": "mfcc", "num_mfcc": 13}}, "13-value frames"),
])
def test_model_json_that_does_not_match_the_model(tmp_path, capsys, changes, needle) -> None:
    from kws.modelinfo import check_model_json, open_model

    model = _model_with_json(tmp_path, **changes)
    meta_path = tmp_path / "model.json"
    with pytest.raises(KwsError, match="does not match model_int8.tflite") as info:
        check_model_json(open_model(model), json.loads(meta_path.read_text()), meta_path)
    assert needle in str(info.value)
    data_dir = tmp_path / "data" / "yes"
    data_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "fixtures" / "yes_1000ms.wav", data_dir / "a.wav")
    line = _cli_one_line(["evaluate", "--model", str(model), "--data", str(tmp_path / "data")],
                         meta_path, capsys)
    assert needle in line
    wavs = tmp_path / "data"
    line = _cli_one_line(["compare", "--model", str(model), "--wav", str(wavs), "--random",
                          "0"], meta_path, capsys)
    assert needle in line


def test_matching_model_json_passes(tmp_path) -> None:
    from kws.modelinfo import check_model_json, open_model

    model = _model_with_json(tmp_path)
    meta_path = tmp_path / "model.json"
    facts = open_model(model)
    assert facts.ops == ("RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX")
    check_model_json(facts, json.loads(meta_path.read_text()), meta_path)


def _retyped_op(data: bytes, old: str, new: str) -> bytes:
    """``data`` with every ``old`` operator code rewritten to builtin ``new`` in place."""
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    out = bytearray(data)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        if code.BuiltinCode() != getattr(tflite.BuiltinOperator, old):
            continue
        tab = code._tab
        offsets = [(tab.Offset(field), fmt) for field, fmt in ((4, "<b"), (10, "<i"))]
        assert any(offset for offset, _ in offsets), "no builtin code stored"
        for offset, fmt in offsets:  # deprecated_builtin_code, builtin_code (when stored)
            if offset:
                struct.pack_into(fmt, out, tab.Pos + offset,
                                 getattr(tflite.BuiltinOperator, new))
    return bytes(out)


def test_unsupported_op_is_refused_where_the_engine_compiles(tmp_path, capsys) -> None:
    """An op outside the compiler's registry (SOFTMAX made LOGISTIC): refused with one line
    by the engines running compiled C, left to tflite-micro, which runs it."""
    from kws.engines import check_model, run_model

    path = _write(tmp_path, "logistic.tflite",
                  _retyped_op(MICRO_SPEECH.read_bytes(), "SOFTMAX", "LOGISTIC"))
    assert check_model("tflm", path).ops[-1] == "LOGISTIC"
    out = run_model("tflm", path, [np.zeros(1960, np.int8)])
    assert out[0].shape == (1, 4)
    for engine in ("native", "qemu"):
        with pytest.raises(KwsError, match=r"logistic.tflite: op LOGISTIC is not supported; "
                           "supported: CONV_2D"):
            check_model(engine, path)
    line = _cli_one_line(["compare", "--model", str(path), "--engines", "tflm,native",
                          "--random", "2"], path, capsys)
    assert "op LOGISTIC is not supported" in line
