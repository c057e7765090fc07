"""End to end on a subset of the bundled Speech Commands sample: train -> export -> evaluate
through the CLI, seed reproducibility, the mirrored strategy and the error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kws.cli import main
from kws.errors import KwsError
from kws.train import auto_batch_size

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "speech_commands_sample"
LABELS = ["_silence_", "_unknown_", "yes", "no"]
MODEL_JSON_KEYS = {
    "format", "kws_version", "model_file", "architecture", "labels", "frontend", "clip_ms",
    "input_shape", "input_scale", "input_zero_point", "output_shape", "output_scale",
    "output_zero_point", "float_accuracy", "int8_accuracy", "test_examples", "params", "macs",
    "file_size", "ops", "representative_examples",
}

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"{SAMPLE} is not checked out")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Speech Commands layout with 48 yes and 48 no clips, 1 clip per other word, 16 silence
    clips and two background noises (symlinks into the bundled sample)."""
    root = tmp_path_factory.mktemp("sc_subset")
    for folder in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.wav"))
        keep = {"yes": 48, "no": 48, "_silence_": 16, "_background_noise_": 2}.get(folder.name, 1)
        (root / folder.name).mkdir()
        for f in files[:keep]:
            (root / folder.name / f.name).symlink_to(f)
    return root


def train_args(data: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "train", "--data", str(data), "--words", "yes,no", "--model", "ds-cnn-xs",
        "--out", str(out), "--cache-dir", str(cache), "--split", "speaker",
        "--validation-percentage", "20", "--testing-percentage", "20", "--epochs", "3",
        "--batch-size", "32", "--lr", "0.005", "--quiet", *extra,
    ]


@pytest.fixture(scope="module")
def run_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("runs")
    out = base / "xs"
    assert main(train_args(dataset, out, base / "cache", "--seed", "1")) == 0
    return out


@pytest.fixture(scope="module")
def exported(run_dir: Path) -> dict:
    assert main(["export", str(run_dir), "--quiet"]) == 0
    return json.loads((run_dir / "model.json").read_text())


def test_train_writes_run_directory(run_dir: Path) -> None:
    for name in ("model.keras", "train.json", "representative.npy", "test.npz"):
        assert (run_dir / name).is_file(), name
    info = json.loads((run_dir / "train.json").read_text())
    assert info["labels"] == LABELS
    assert info["frontend"]["type"] == "micro" and info["frontend"]["num_channels"] == 40
    assert info["input_shape"] == [49, 40, 1]
    assert info["config"]["seed"] == 1 and info["config"]["words"] == ["yes", "no"]
    # two keywords: the few-word SpecAugment default, resolved into the recorded config
    assert (info["config"]["time_mask_frames"], info["config"]["channel_mask_channels"]) == (
        10, 6)
    history = info["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3]
    # the best epoch is the one of the highest validation balanced accuracy (earliest on ties)
    val = [row["val_balanced_accuracy"] for row in history]
    assert info["best_epoch"] == int(np.argmax(val)) + 1
    assert info["best_val_balanced_accuracy"] == max(val)
    assert info["best_val_accuracy"] == history[info["best_epoch"] - 1]["val_accuracy"]
    for row in history:
        assert np.isfinite(row["loss"]) and 0 <= row["accuracy"] <= 1 and row["lr"] > 0
    # cosine decay: the rate falls every epoch
    assert history[0]["lr"] > history[1]["lr"] > history[2]["lr"]
    assert info["model"]["macs"] == 720_064  # ds-cnn-xs on 49x40
    rep = np.load(run_dir / "representative.npy")
    assert rep.dtype == np.float32 and rep.shape[1:] == (49, 40)
    assert 0 < len(rep) <= info["counts"]["train"]
    with np.load(run_dir / "test.npz") as z:
        assert z["x"].shape == (info["counts"]["test"], 49, 40)
        assert set(z["y"].tolist()) <= set(range(len(LABELS)))


def test_saved_model_is_the_best_epoch(run_dir: Path, dataset: Path) -> None:
    """model.keras reproduces the recorded best validation and test accuracies."""
    import keras

    from kws.data import extract_features, load_dataset
    from kws.features import frontend_from_dict
    from kws.train import predict_classes

    info = json.loads((run_dir / "train.json").read_text())
    cfg = info["config"]
    splits = load_dataset(dataset, cfg["words"], split="speaker", seed=cfg["seed"],
                          validation_percentage=20, testing_percentage=20)
    x_val, y_val = extract_features(splits.validation, info["labels"],
                                    frontend_from_dict(info["frontend"]),
                                    cache_dir=cfg["cache_dir"], progress=False)
    model = keras.models.load_model(run_dir / "model.keras", compile=False)
    assert np.mean(predict_classes(model, x_val) == y_val) == info["best_val_accuracy"]
    with np.load(run_dir / "test.npz") as z:
        assert np.mean(predict_classes(model, z["x"]) == z["y"]) == info["test_accuracy"]


def test_export_writes_int8_model_and_contract(run_dir: Path, exported: dict) -> None:
    from kws.engines import open_session
    from kws.export import quantize_inputs, run_int8
    from kws.modelinfo import DS_CNN_OPS, io_quantization, tflite_ops

    model_path = run_dir / "model_int8.tflite"
    assert MODEL_JSON_KEYS <= set(exported)
    assert exported["labels"] == LABELS
    assert exported["frontend"] == json.loads((run_dir / "train.json").read_text())["frontend"]
    assert exported["file_size"] == model_path.stat().st_size
    assert exported["input_shape"] == [1, 49, 40, 1]
    assert exported["output_shape"] == [1, 4]
    assert exported["ops"] == tflite_ops(model_path) and set(exported["ops"]) <= DS_CNN_OPS
    inp, out = io_quantization(model_path)
    assert (inp.scale, inp.zero_point) == (exported["input_scale"], exported["input_zero_point"])
    assert (out.scale, out.zero_point) == (exported["output_scale"],
                                           exported["output_zero_point"])
    for key in ("float_accuracy", "int8_accuracy"):
        assert 0.0 <= exported[key] <= 1.0
    # The recorded int8 accuracy is what tflite-micro gives on the saved test features.
    with np.load(run_dir / "test.npz") as z:
        q = quantize_inputs(z["x"], inp.scale, inp.zero_point)
        pred = np.argmax(run_int8(open_session("tflm", model_path), q), axis=-1)
        assert np.mean(pred == z["y"]) == exported["int8_accuracy"]
        assert exported["test_examples"] == len(z["y"])


def test_trained_model_compiled_to_c_equals_tflite_micro(run_dir: Path, exported: dict) -> None:
    """A model trained and exported by kws, compiled by kws.deploy and run as host C, gives
    tflite-micro's bits on its real test features and on random inputs."""
    from kws.engines import run_model
    from kws.export import quantize_inputs

    model_path = run_dir / "model_int8.tflite"
    with np.load(run_dir / "test.npz") as z:
        inputs = list(quantize_inputs(z["x"], exported["input_scale"],
                                      exported["input_zero_point"]))
    rng = np.random.default_rng(4)
    inputs += list(rng.integers(-128, 128, (100, 49, 40), dtype=np.int8))
    expected = run_model("tflm", model_path, inputs)
    got = run_model("native", model_path, inputs)
    assert all(np.array_equal(e, g) for e, g in zip(expected, got, strict=True))


def test_export_rebuilds_test_split_from_data(run_dir: Path, exported: dict,
                                              dataset: Path) -> None:
    from kws.export import export_run

    again = export_run(run_dir, dataset, progress=False)
    # Same split options -> same test clips -> same accuracies as the saved features gave.
    assert again["test_examples"] == exported["test_examples"]
    assert again["int8_accuracy"] == exported["int8_accuracy"]
    assert again["float_accuracy"] == exported["float_accuracy"]


def test_evaluate_json(run_dir: Path, exported: dict, dataset: Path, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "cm.png"
    capsys.readouterr()
    code = main(["evaluate", "--model", str(run_dir / "model_int8.tflite"), "--data",
                 str(dataset), "--json", "--plot", str(plot), "--cache-dir",
                 str(tmp_path / "cache")])
    assert code == 0
    stdout = capsys.readouterr().out
    result = json.loads(stdout)  # exactly one JSON object, nothing else on stdout
    assert stdout.strip().count("\n") == 0
    for key in ("accuracy", "balanced_accuracy", "per_class", "n", "confusion", "labels",
                "agreement", "false_accept_rate", "false_accepts"):
        assert key in result
    n_clips = sum(1 for p in dataset.rglob("*.wav") if p.parent.name != "_background_noise_")
    assert result["n"] == n_clips
    assert result["labels"] == LABELS
    confusion = np.array(result["confusion"])
    assert confusion.shape == (4, 4) and confusion.sum() == n_clips
    assert result["accuracy"] == np.trace(confusion) / n_clips
    for key in ("accuracy", "balanced_accuracy", "agreement"):
        assert 0.0 <= result[key] <= 1.0
    assert sum(c["n"] for c in result["per_class"].values()) == n_clips
    assert result["per_class"]["yes"]["n"] == 48
    keyword_columns = confusion[:2, 2:].sum()
    assert result["false_accept_rate"] == keyword_columns / confusion[:2].sum()
    assert set(result["false_accepts"]) == {"_silence_", "_unknown_"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_litert_engine_and_rich_report(run_dir: Path, exported: dict, dataset: Path,
                                                tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from kws.evaluate import evaluate_model

    cache = tmp_path / "cache"
    tflm = evaluate_model(run_dir / "model_int8.tflite", dataset, cache_dir=cache,
                          progress=False)
    litert = evaluate_model(run_dir / "model_int8.tflite", dataset, engine="litert",
                            cache_dir=cache, progress=False)
    assert litert["engine"] == "litert" and litert["n"] == tflm["n"]
    # Rounding differences between the two interpreters flip at most a few clips.
    assert abs(litert["accuracy"] - tflm["accuracy"]) <= 0.05
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run_dir / "model_int8.tflite"), "--data",
                 str(dataset), "--cache-dir", str(cache)]) == 0
    report = capsys.readouterr().out
    assert "balanced accuracy" in report and "confusion" in report and "_silence_" in report


def test_same_seed_same_weights(dataset: Path, run_dir: Path, tmp_path: Path) -> None:
    import keras

    cache = run_dir.parent / "cache"
    # An old export in the run folder would no longer describe the new model.keras.
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.json").write_text("{}")
    (tmp_path / "a" / "model_int8.tflite").write_bytes(b"old")
    assert main(train_args(dataset, tmp_path / "a", cache, "--seed", "1")) == 0
    assert not (tmp_path / "a" / "model.json").exists()
    assert not (tmp_path / "a" / "model_int8.tflite").exists()
    assert main(train_args(dataset, tmp_path / "b", cache, "--seed", "2")) == 0
    first = keras.models.load_model(run_dir / "model.keras", compile=False).get_weights()
    again = keras.models.load_model(tmp_path / "a" / "model.keras", compile=False).get_weights()
    other = keras.models.load_model(tmp_path / "b" / "model.keras", compile=False).get_weights()
    assert len(first) == len(again)
    assert all(np.array_equal(w1, w2) for w1, w2 in zip(first, again, strict=True))
    assert not all(np.array_equal(w1, w2) for w1, w2 in zip(first, other, strict=True))
    h1 = json.loads((run_dir / "train.json").read_text())["history"]
    h2 = json.loads((tmp_path / "a" / "train.json").read_text())["history"]
    assert [r["loss"] for r in h1] == [r["loss"] for r in h2]


def test_mirrored_strategy_on_cpu_with_mfcc(dataset: Path, run_dir: Path,
                                           tmp_path: Path) -> None:
    out = tmp_path / "mirrored"
    args = train_args(dataset, out, run_dir.parent / "cache", "--strategy", "mirrored",
                      "--frontend", "mfcc", "--no-augment")
    args[args.index("--epochs") + 1] = "1"
    del args[args.index("--batch-size"):args.index("--batch-size") + 2]
    assert main(args) == 0
    info = json.loads((out / "train.json").read_text())
    assert info["config"]["strategy"] == "mirrored" and not info["config"]["augment"]
    # No --batch-size: at least ~20 steps per epoch on this small set, never below 16.
    assert info["config"]["batch_size"] == auto_batch_size(info["counts"]["train"]) == 16
    assert info["frontend"]["type"] == "mfcc" and info["input_shape"] == [49, 10, 1]
    assert len(info["history"]) == 1 and (out / "model.keras").is_file()
    assert main(["export", str(out), "--quiet"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["frontend"] == info["frontend"] and meta["input_shape"] == [1, 49, 10, 1]


def test_export_refuses_run_without_model(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from kws.export import export_run

    (tmp_path / "train.json").write_text("{}")
    with pytest.raises(KwsError, match="model.keras is missing"):
        export_run(tmp_path, progress=False)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kws: error: ") and "nowhere" in err and err.count("\n") == 1
    assert not (tmp_path / "model_int8.tflite").exists()


def test_evaluate_needs_model_json(run_dir: Path, exported: dict, dataset: Path,
                                   tmp_path: Path) -> None:
    from kws.evaluate import evaluate_model

    lone = tmp_path / "lone.tflite"
    lone.write_bytes((run_dir / "model_int8.tflite").read_bytes())
    with pytest.raises(KwsError, match="no model.json beside the model"):
        evaluate_model(lone, dataset, progress=False)
    with pytest.raises(KwsError, match="unknown engine"):
        evaluate_model(run_dir / "model_int8.tflite", dataset, engine="gpu", progress=False)


def test_train_rejects_bad_options(dataset: Path, tmp_path: Path) -> None:
    from kws.train import TrainConfig, train

    with pytest.raises(KwsError, match="--epochs must be at least 1"):
        train(TrainConfig(data=str(dataset), words=["yes"], epochs=0), tmp_path / "x")
    with pytest.raises(KwsError, match="unknown model"):
        train(TrainConfig(data=str(dataset), model="resnet"), tmp_path / "x")
    with pytest.raises(KwsError, match="no folder for word 'maybe'"):
        train(TrainConfig(data=str(dataset), words=["maybe"], epochs=1), tmp_path / "x",
              progress=False)
    assert not (tmp_path / "x").exists()


def write_tones(folder: Path, count: int, seed: int) -> None:
    """``count`` planted "other words": half-second tones of 1.5-3.5 kHz, one per speaker."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        clip = np.zeros(16000)
        start = int(rng.integers(0, 8000))
        t = np.arange(8000) / 16000
        clip[start:start + 8000] = rng.uniform(4000, 9000) * np.sin(
            2 * np.pi * rng.uniform(1500, 3500) * t)
        sf.write(folder / f"{seed:02x}{i:06x}_nohash_0.wav", clip.astype(np.int16), 16000)


def planted_dataset(root: Path, first: int, keywords: int, tones: int, seed: int) -> Path:
    """yes/no clips ``first:first + keywords`` of the bundled sample, two noises, and
    ``tones`` planted other-word clips in each of two folders."""
    for word in ("yes", "no"):
        (root / word).mkdir(parents=True)
        for f in sorted((SAMPLE / word).glob("*.wav"))[first:first + keywords]:
            (root / word / f.name).symlink_to(f)
    (root / "_background_noise_").mkdir()
    for f in sorted((SAMPLE / "_background_noise_").glob("*.wav"))[:2]:
        (root / "_background_noise_" / f.name).symlink_to(f)
    write_tones(root / "tone", tones, seed)
    write_tones(root / "whistle", tones, seed + 1)
    return root


def test_unknown_is_a_real_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With the default amounts the unknown class gets its share: a tiny run learns it, and
    train and evaluate report its recall and the false accepts."""
    data = planted_dataset(tmp_path / "train_data", 0, 60, 60, seed=1)
    out = tmp_path / "run"
    args = train_args(data, out, tmp_path / "cache", "--epochs", "8")
    args.remove("--quiet")
    args[args.index("--batch-size") + 1] = "16"  # enough steps for 145 training clips
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().err
    info = json.loads((out / "train.json").read_text())
    weights = info["class_weights"]
    assert set(weights) == set(LABELS) and all(w > 0 for w in weights.values())
    test = info["test_metrics"]
    assert test["per_class"]["_unknown_"]["n"] > 0
    assert test["per_class"]["_unknown_"]["recall"] > 0
    assert test["balanced_accuracy"] > 0.25  # better than one class for everything
    assert "test (float): accuracy" in printed and "false accepts" in printed
    assert "recall: _silence_" in printed and "val_bal" in printed

    assert main(["export", str(out), "--quiet"]) == 0
    unseen = planted_dataset(tmp_path / "eval_data", 100, 10, 20, seed=7)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out / "model_int8.tflite"), "--data", str(unseen),
                 "--json", "--cache-dir", str(tmp_path / "cache")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["per_class"]["_unknown_"]["n"] == 40
    assert result["per_class"]["_unknown_"]["recall"] > 0
    assert result["false_accepts"]["_unknown_"] == sum(result["confusion"][1][2:]) / 40
    rejects = np.array(result["confusion"])[:2]  # silence generated from the noises
    assert result["per_class"]["_silence_"]["n"] == 10  # as many as the largest keyword
    assert result["false_accept_rate"] == rejects[:, 2:].sum() / rejects.sum()


def test_classification_metrics_by_hand() -> None:
    from kws.evaluate import classification_metrics

    m = classification_metrics(np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 1, 1, 0, 1]),
                               ["a", "b", "c"])
    assert m["confusion"] == [[1, 1, 0], [1, 2, 0], [0, 1, 0]]
    assert m["accuracy"] == 3 / 6
    assert m["per_class"]["a"] == {"recall": 0.5, "precision": 0.5, "n": 2}
    assert m["per_class"]["b"] == {"recall": 2 / 3, "precision": 0.5, "n": 3}
    assert m["per_class"]["c"] == {"recall": 0.0, "precision": 0.0, "n": 1}
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3 + 0.0) / 3)


def test_cli_help_does_not_import_tensorflow() -> None:
    code = ("import argparse, sys\n"
            "from kws.commands import evaluate, export, train\n"
            "sub = argparse.ArgumentParser().add_subparsers()\n"
            "for m in (train, export, evaluate): m.register(sub)\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_auto_batch_size() -> None:
    assert auto_batch_size(85_000) == 100  # full Speech Commands: the MLPerf Tiny batch
    assert auto_batch_size(683) == 34
    assert auto_batch_size(50) == 16


def test_spec_mask_masks_one_span_per_axis() -> None:
    from kws.train import spec_mask

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 49, 10)).astype(np.float32) + 5.0
    assert spec_mask(x, rng, 0, 0) is x
    y = spec_mask(x, np.random.default_rng(1), 8, 3)
    assert y.shape == x.shape and not np.shares_memory(x, y)
    changed = y != x
    for i in range(len(x)):
        rows = np.flatnonzero(changed[i].all(axis=1))
        cols = np.flatnonzero(changed[i].all(axis=0))
        assert len(rows) <= 8 and len(cols) <= 3
        # Everything that changed lies in the masked rows or columns, set to the example mean.
        mask = np.zeros_like(changed[i])
        mask[rows, :] = True
        mask[:, cols] = True
        assert not (changed[i] & ~mask).any()
        assert np.allclose(y[i][changed[i]], x[i].mean())
    assert changed.any()
    assert np.array_equal(y, spec_mask(x, np.random.default_rng(1), 8, 3))


def test_few_word_default_masks() -> None:
    from kws.train import TrainConfig
    from kws.train_data import FEW_WORD_MASKS, FEW_WORDS_MAX, with_default_masks

    def masks(config: TrainConfig) -> tuple[int | None, int | None]:
        resolved = with_default_masks(config)
        return resolved.time_mask_frames, resolved.channel_mask_channels

    assert FEW_WORD_MASKS == (10, 6)
    assert masks(TrainConfig(data="d", words=["yes", "no"])) == (10, 6)
    assert masks(TrainConfig(data="d", words=[f"w{i}" for i in range(FEW_WORDS_MAX)])) == (10, 6)
    many = [f"w{i}" for i in range(FEW_WORDS_MAX + 1)]
    assert masks(TrainConfig(data="d", words=many)) == (0, 0)
    assert masks(TrainConfig(data="d")) == (0, 0)  # every word folder
    # an explicit size wins, 0 included
    assert masks(TrainConfig(data="d", words=["yes"], time_mask_frames=0,
                             channel_mask_channels=2)) == (0, 2)
    assert masks(TrainConfig(data="d", words=many, channel_mask_channels=3)) == (0, 3)
