"""Engine runners (``kws.engines``) and the ``kws run`` / ``kws compare`` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kws.cli import main
from kws.errors import KwsError

FIXTURES = Path(__file__).parent / "fixtures"
MICRO_SPEECH = FIXTURES / "models" / "micro_speech_quantized.tflite"


def _inputs(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=(1, 1960), dtype=np.int16).astype(np.int8)
            for _ in range(n)]


def test_run_model_engines_agree_with_tflm() -> None:
    from kws.engines import compare_outputs, run_model

    inputs = _inputs(40)
    ref = run_model("tflm", MICRO_SPEECH, inputs)
    native = run_model("native", MICRO_SPEECH, inputs)
    litert = run_model("litert", MICRO_SPEECH, inputs)
    assert all(o.shape == (1, 4) and o.dtype == np.int8 for o in ref + native + litert)
    assert compare_outputs(ref, native)["mismatched_elements"] == 0
    # LiteRT's reference kernels round FULLY_CONNECTED once; report, do not assert.
    print("litert vs tflm:", compare_outputs(ref, litert))


def test_run_model_accepts_any_shape_of_the_right_size() -> None:
    from kws.engines import run_model

    x = _inputs(1)[0]
    a = run_model("native", MICRO_SPEECH, [x])[0]
    b = run_model("native", MICRO_SPEECH, [x.reshape(49, 40)])[0]
    assert np.array_equal(a, b)


def test_run_model_refuses_bad_inputs(tmp_path) -> None:
    from kws.engines import run_model

    with pytest.raises(KwsError, match="takes 1960"):
        run_model("native", MICRO_SPEECH, [np.zeros(100, np.int8)])
    with pytest.raises(KwsError, match="dtype is float32"):
        run_model("tflm", MICRO_SPEECH, [np.zeros(1960, np.float32)])
    with pytest.raises(KwsError, match="model file not found"):
        run_model("tflm", tmp_path / "nope.tflite", _inputs(1))
    with pytest.raises(KwsError, match="unknown engine 'gpu'"):
        run_model("gpu", MICRO_SPEECH, _inputs(1))


def test_engine_registry_hook() -> None:
    from kws import engines

    calls = []

    def delegate(model_path: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
        calls.append(len(inputs))
        return engines.run_tflm(model_path, inputs)

    engines.register_engine("test-delegate", delegate)
    try:
        out = engines.run_model("test-delegate", MICRO_SPEECH, _inputs(3))
        assert calls == [3] and len(out) == 3
        engines.register_engine("test-broken", lambda p, xs: [])
        with pytest.raises(KwsError, match="returned 0 outputs for 2 inputs"):
            engines.run_model("test-broken", MICRO_SPEECH, _inputs(2))
    finally:
        engines.ENGINES.pop("test-delegate", None)
        engines.ENGINES.pop("test-broken", None)


def test_cli_run_single_and_batch(tmp_path) -> None:
    from kws.engines import run_model

    xs = _inputs(5, seed=4)
    np.save(tmp_path / "one.npy", xs[0])
    np.save(tmp_path / "batch.npy", np.stack(xs))
    assert main(["run", "--engine", "native", "--model", str(MICRO_SPEECH),
                 "--input", str(tmp_path / "one.npy"), "--output", str(tmp_path / "y1.npy")]) == 0
    assert main(["run", "--engine", "tflm", "--model", str(MICRO_SPEECH),
                 "--input", str(tmp_path / "batch.npy"), "--output", str(tmp_path / "y.npy")]) == 0
    y1 = np.load(tmp_path / "y1.npy")
    y = np.load(tmp_path / "y.npy")
    assert y1.shape == (1, 4) and y.shape == (5, 1, 4) and y.dtype == np.int8
    assert np.array_equal(y, np.stack(run_model("tflm", MICRO_SPEECH, xs)))
    assert np.array_equal(y1, y[0])


def test_cli_run_bad_input(tmp_path, capsys) -> None:
    out = tmp_path / "y.npy"
    np.save(tmp_path / "float.npy", np.zeros(1960, np.float32))
    np.save(tmp_path / "short.npy", np.zeros((3, 100), np.int8))
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    for name, needle in (("float.npy", "dtype is float32"), ("short.npy", "neither one input"),
                         ("corrupt.npy", "not a readable .npy"), ("missing.npy", "not found")):
        code = main(["run", "--engine", "native", "--model", str(MICRO_SPEECH),
                     "--input", str(tmp_path / name), "--output", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and name in err, err
        assert not out.exists()


def test_cli_compare_json(capsys) -> None:
    code = main(["compare", "--model", str(MICRO_SPEECH), "--engines", "tflm,native,litert",
                 "--random", "30", "--seed", "3", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [(p["a"], p["b"]) for p in report["pairs"]] == [
        ("tflm", "native"), ("tflm", "litert"), ("native", "litert")]
    for pair in report["pairs"]:
        assert {"a", "b", "tensors", "mismatched_tensors", "mismatched_elements",
                "max_abs_diff"} <= set(pair)
        assert pair["tensors"] == 30
    tflm_native = report["pairs"][0]
    assert tflm_native["mismatched_tensors"] == tflm_native["mismatched_elements"] == 0
    assert tflm_native["max_abs_diff"] == 0


def test_cli_compare_wav_dir(tmp_path, capsys) -> None:
    from kws.features import MicroFrontendConfig
    from kws.modelinfo import io_quantization

    model = tmp_path / "model_int8.tflite"
    shutil.copy(MICRO_SPEECH, model)
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for clip in ("yes", "no", "silence", "noise", "yes_30ms"):
        name = clip if clip.endswith("ms") else f"{clip}_1000ms"
        shutil.copy(FIXTURES / f"{name}.wav", wavs / f"{name}.wav")
    # Without model.json the frontend is unknown.
    assert main(["compare", "--model", str(model), "--wav", str(wavs), "--json"]) == 2
    assert "model.json" in capsys.readouterr().err
    in_q, _ = io_quantization(model)
    (tmp_path / "model.json").write_text(json.dumps({
        "frontend": MicroFrontendConfig().to_dict(),
        "input_scale": in_q.scale, "input_zero_point": in_q.zero_point,
    }))
    code = main(["compare", "--model", str(model), "--wav", str(wavs), "--json", "--strict"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["wav_inputs"] == 5 and report["random_inputs"] == 0
    assert report["pairs"][0]["tensors"] == 5
    assert report["pairs"][0]["mismatched_elements"] == 0


def test_cli_compare_table_and_errors(capsys) -> None:
    assert main(["compare", "--model", str(MICRO_SPEECH), "--random", "5"]) == 0
    out = capsys.readouterr().out
    assert "tflm" in out and "native" in out and "5 inputs" in out
    assert main(["compare", "--model", str(MICRO_SPEECH), "--engines", "tflm"]) == 2
    assert "at least two engines" in capsys.readouterr().err
    assert main(["compare", "--model", str(MICRO_SPEECH), "--engines", "tflm,warp"]) == 2
    assert "unknown engine 'warp'" in capsys.readouterr().err
